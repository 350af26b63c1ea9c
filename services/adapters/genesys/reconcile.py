"""REST reconciliation of the live states: after every (re)connect of a channel, for the agents no
channel carries, and for everyone every ``reconcile_every`` (so a missed event cannot leave a wrong
state). A channel that drops holds its agents (no new incident, no tier) until it is back and they
were reconciled."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from services.adapters.genesys.catalog import SourceCatalog
from services.adapters.genesys.client import GenesysClient
from services.adapters.genesys.errors import GenesysError
from services.adapters.genesys.live import LiveStateTable
from services.adapters.genesys.notifications import Channel
from services.adapters.genesys.source_options import SourceOptions
from services.adapters.genesys.state_reads import read_states
from services.ports import Clock

log = logging.getLogger(__name__)


class Reconciler:
    def __init__(self, client: GenesysClient, catalog: SourceCatalog, table: LiveStateTable, clock: Clock,
                 options: SourceOptions, notify: Callable[[str], None]) -> None:
        self.client, self.catalog, self.table, self.clock, self.options = client, catalog, table, clock, options
        self._notify = notify  # an agent's state changed
        self.last_reconcile: datetime | None = None
        self._last_attempt: datetime | None = None
        self._unreconciled: set[Channel] = set()  # back up, but their agents' REST reconciliation failed
        self._last_held_attempt: datetime | None = None

    async def reconcile(self, agent_ids: Iterable[str]) -> bool:
        """Read presence + routing of these agents over REST and fix the table. False if Genesys failed."""
        ids = [a for a in dict.fromkeys(agent_ids) if self.table.unit_of(a) is not None]
        if not ids:
            return True
        requested_at = self.clock.now()
        try:
            presences, routings = await read_states(self.client, ids, self.catalog.definitions)
        except GenesysError as error:
            log.warning("REST reconciliation of %d agent(s) failed (%s); their states will go stale", len(ids), error)
            return False
        now = self.clock.now()
        changed = 0
        for agent_id in ids:
            presence, routing = presences.get(agent_id), routings.get(agent_id)
            if presence is None and routing is None:
                continue
            state = self.table.apply(agent_id, now, presence=presence, routing=routing, not_before=requested_at)
            if state is not None:
                changed += 1
                self._notify(agent_id)
        log.info("reconciled %d agent(s) over REST; %d state(s) corrected", len(ids), changed)
        return True

    async def upkeep(self, rest_only_topics: tuple[str, ...]) -> None:
        """Retry held agents; reconcile everyone when due. ``rest_only_topics``: beyond the channel limit,
        so REST is their agents' only feed."""
        now = self.clock.now()
        await self._retry_held(now)
        due = self.last_reconcile is None or now - self.last_reconcile >= self.options.reconcile_every
        retry_ok = self._last_attempt is None or now - self._last_attempt >= self.options.reconcile_retry
        if due and retry_ok:
            self._last_attempt = now
            rest_only = self.catalog.agents_in(rest_only_topics)
            if await self.reconcile(self.catalog.all_agents()):
                self.last_reconcile = now
                self.table.release(rest_only)  # REST is their only feed: a good reading vouches for them
            else:
                self.table.hold(rest_only, now)

    async def _retry_held(self, now: datetime) -> None:
        """Channels back up whose post-connect reconciliation failed: try again every ``reconcile_retry``."""
        waiting = [c for c in self._unreconciled if c.connected]
        if not waiting:
            return
        if self._last_held_attempt is not None and now - self._last_held_attempt < self.options.reconcile_retry:
            return
        self._last_held_attempt = now
        for channel in waiting:
            agents = self.catalog.agents_in(channel.topics)
            if await self.reconcile(agents):
                self._unreconciled.discard(channel)
                released = self.table.release(agents)
                log.info("channel %s reconciled after a failed attempt; %d agent(s) no longer held",
                         channel.id, len(released))

    # ---- the notification hub's channel hooks ---------------------------------------------------------
    async def channel_connected(self, channel: Channel) -> None:
        if channel.connects > 1:
            log.info("channel %s reconnected; reconciling its agents over REST", channel.id)
        agents = self.catalog.agents_in(channel.topics)
        if await self.reconcile(agents):
            self._unreconciled.discard(channel)
            released = self.table.release(agents)
            if released:
                log.info("channel %s reconciled; %d held agent(s) evaluated on their true state again",
                         channel.id, len(released))
        else:
            self._unreconciled.add(channel)
            log.warning("channel %s is up but its agents could not be reconciled; they stay held (no alerts) "
                        "until a reconciliation succeeds", channel.id)

    def channel_down(self, channel: Channel) -> None:
        agents = self.catalog.agents_in(channel.topics)
        self.table.hold(agents, self.clock.now())
        if agents:
            log.warning("channel %s is down; %d agent(s) held (no new incident, no tier) until it is back and "
                        "reconciled", channel.id, len(agents))

    def channel_alive(self, channel: Channel) -> None:
        self.table.confirm(self.catalog.agents_in(channel.permitted), self.clock.now())
