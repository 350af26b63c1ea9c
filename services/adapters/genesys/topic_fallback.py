"""A unit whose adherence topic Genesys stops permitting after start goes over to per-user topics.

The start probe (:mod:`unit_topics`) decides per unit once; a permission can still be taken away
later (a role edited, the unit moved to another division). Genesys then answers the topic
``Rejected`` on the next subscribe, or refuses the whole ``PUT`` with a 4xx, and the unit's agents
would get no more events until a restart. Instead the hub reports the refusal here and the unit moves
to per-user topics at once: the choice is updated (``check`` and the logs say why), the unit topic
is dropped from its channel, the agents' topics are added, and the agents are read over REST for
what happened in between.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime, timedelta

from services.adapters.genesys.catalog import SourceCatalog
from services.adapters.genesys.client import GenesysClient
from services.adapters.genesys.notifications import Channel, NotificationHub
from services.adapters.genesys.reconcile import Reconciler
from services.adapters.genesys.source_options import SourceOptions
from services.adapters.genesys.unit_adherence import PERMISSION, unit_of_topic, unit_topic
from services.adapters.genesys.unit_topics import choose_topics

log = logging.getLogger(__name__)

#: A whole-request refusal that the probe found is not about unit topics (the hub keeps retrying it)
#: asks about the same units again only after this: each probe opens a notification channel.
PROBE_AGAIN_AFTER = timedelta(minutes=10)


class TopicFallback:
    def __init__(self, client: GenesysClient, catalog: SourceCatalog, hub: NotificationHub,
                 reconciler: Reconciler, options: SourceOptions) -> None:
        self.client, self.catalog, self.hub, self.reconciler, self.options = client, catalog, hub, reconciler, options
        self._rejected: set[str] = set()  # units whose topic Genesys answered Rejected
        self._refused: set[str] = set()  # units on a channel whose whole subscribe was refused: asked one by one
        self._task: asyncio.Task[None] | None = None
        self._permitted_at: dict[str, datetime] = {}  # units a probe found permitted, when

    def topics_refused(self, channel: Channel, rejected: tuple[str, ...] | None) -> None:
        """The hub's hook: ``rejected`` topics were answered ``Rejected``; ``None``: the channel's whole
        subscribe was refused (4xx), so which unit topic is at fault is asked of Genesys."""
        choice = self.catalog.topic_choice
        topics = channel.topics if rejected is None else rejected
        units = {u for t in topics if (u := unit_of_topic(t)) is not None and choice.uses_unit_topic(u)}
        if not units:
            return  # not a unit topic (or already moved): the hub's own logging and retries apply
        (self._refused if rejected is None else self._rejected).update(units)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._fall_back(), name="genesys-topic-fallback")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _fall_back(self) -> None:
        while self._rejected or self._refused:  # refusals reported meanwhile are handled in the same task
            rejected, refused = self._rejected, self._refused
            self._rejected, self._refused = set(), set()
            reasons = dict.fromkeys(sorted(rejected), f"rejected after start: needs {PERMISSION}")
            ask = self._worth_asking(refused - rejected)
            if ask:
                probe = await choose_topics(self.client, ask)
                if probe.channel is not None:
                    self.hub.adopt(*probe.channel)  # emptied: the next new channel uses it
                reasons |= {u: f"after start: {probe.reasons[u]}" for u in probe.per_user}
                self._remember_permitted([u for u in ask if u not in probe.per_user])
            if reasons:
                await self._move(reasons)

    def _worth_asking(self, units: set[str]) -> list[str]:
        now = self.hub.clock.now()
        return sorted(u for u in units if u not in self._permitted_at
                      or now - self._permitted_at[u] >= PROBE_AGAIN_AFTER)

    def _remember_permitted(self, units: list[str]) -> None:
        if units:
            log.warning("a subscribe carrying the adherence topics of %d unit(s) was refused, but Genesys permits "
                        "them; not a unit-topic permission (not asked again for %s)", len(units), PROBE_AGAIN_AFTER)
        now = self.hub.clock.now()
        self._permitted_at |= dict.fromkeys(units, now)

    async def _move(self, reasons: dict[str, str]) -> None:
        choice = self.catalog.topic_choice
        units = [u for u in choice.unit if u in reasons]
        if not units:
            return
        self.catalog.topic_choice = replace(choice, unit=tuple(u for u in choice.unit if u not in reasons),
                                            per_user=(*choice.per_user, *units),
                                            reasons={**choice.reasons, **{u: reasons[u] for u in units}})
        for mu_id in units:
            log.warning("live states: the adherence topic of unit %s is no longer permitted (%s); per-user topics "
                        "for its agents from now on", mu_id, reasons[mu_id])
        await self.hub.remove_topics([unit_topic(u) for u in units])
        await self.hub.add_topics(self.catalog.topics(self.options))
        agents = [a for u in units if u in self.catalog.rosters for a in self.catalog.rosters[u][1].agents]
        await self.reconciler.reconcile(agents)  # the changes between the refusal and now came by no event
