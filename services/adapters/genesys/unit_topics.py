"""Which units can use the management-unit adherence topic: asked of Genesys itself, once at start.

Genesys enforces topic permissions when a channel is subscribed (``wfm:realtimeAdherence:view``, in
the unit's division): the ``PUT`` answers each topic ``Permitted`` or ``Rejected`` (with the missing
permissions), and some orgs refuse the whole request with a 4xx instead. So the probe subscribes
every unit topic on a channel of its own and reads the answer; on a 4xx it splits the list in halves
until the refused topics are found (a handful of requests, not one per unit). Then it empties that
channel (an idle channel is the first Genesys drops when a 21st is opened).

Units whose topic is rejected fall back to per-user topics. When Genesys cannot be asked at all (5xx,
network), every unit falls back: per-user topics are what worked before, never a guess.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.adapters.genesys.client import GenesysClient, as_object
from services.adapters.genesys.errors import GenesysBadRequest, GenesysError, GenesysForbidden
from services.adapters.genesys.notifications import CHANNELS
from services.adapters.genesys.parse import parse_time
from services.adapters.genesys.unit_adherence import PERMISSION, unit_of_topic, unit_topic

log = logging.getLogger(__name__)

TOPICS_PER_PROBE = 1000  # the per-channel topic limit


@dataclass(frozen=True)
class TopicChoice:
    """Per unit: the unit adherence topic (``unit``) or one topic per agent (``per_user``)."""

    unit: tuple[str, ...] = ()
    per_user: tuple[str, ...] = ()
    #: why the per-user units are per-user: unit id -> reason (missing permission, error, disabled)
    reasons: dict[str, str] = field(default_factory=dict)
    #: the probe's channel (id, connectUri, expires), emptied, for the hub to use (see NotificationHub.adopt)
    channel: tuple[str, str, datetime | None] | None = None

    def uses_unit_topic(self, mu_id: str) -> bool:
        return mu_id in self.unit

    def summary(self, agents: dict[str, int] | None = None, *, topics_per_agent: int = 1) -> str:
        """One line for the start log and for ``check``: what is used, with counts of topics."""
        counts = agents or {}
        user_agents = sum(counts.get(u, 0) for u in self.per_user)
        unit_agents = sum(counts.get(u, 0) for u in self.unit)
        parts = [f"management-unit adherence topic for {len(self.unit)} of {len(self.unit) + len(self.per_user)} "
                 f"unit(s) ({len(self.unit)} topic(s)" + (f", {unit_agents} agent(s))" if agents else ")")]
        if self.per_user:
            reasons = sorted(set(self.reasons.values()))
            parts.append(f"per-user topics for {len(self.per_user)} unit(s)"
                         + (f" ({user_agents * topics_per_agent} topic(s), {user_agents} agent(s))" if agents else "")
                         + (f": {'; '.join(reasons)}" if reasons else ""))
        return "; ".join(parts)


async def choose_topics(client: GenesysClient, unit_ids: Sequence[str], *, enabled: bool = True) -> TopicChoice:
    """Probe Genesys for the unit adherence topics of these units; see the module docstring."""
    units = list(dict.fromkeys(unit_ids))
    if not units:
        return TopicChoice()
    if not enabled:
        return TopicChoice(per_user=tuple(units), reasons=dict.fromkeys(units, "unit topics turned off"))
    try:
        body = as_object(await client.post(CHANNELS, idempotent=True), CHANNELS)
        channel_id, uri = body.get("id"), body.get("connectUri")
        if not isinstance(channel_id, str) or not isinstance(uri, str):
            raise GenesysError(f"channel creation returned no id/connectUri: {body!r}")
        rejected: dict[str, str] = {}
        for i in range(0, len(units), TOPICS_PER_PROBE):
            await _probe(client, channel_id, [unit_topic(u) for u in units[i:i + TOPICS_PER_PROBE]], rejected)
        try:
            await client.delete(f"{CHANNELS}/{channel_id}/subscriptions")
        except GenesysError as error:  # harmless: the idle channel expires or is dropped first
            log.debug("emptying the probe channel %s failed: %s", channel_id, error)
    except GenesysError as error:
        log.warning("could not ask Genesys whether the management-unit adherence topic is permitted (%s); "
                    "using per-user topics", error)
        return TopicChoice(per_user=tuple(units), reasons=dict.fromkeys(units, f"permission unknown ({error})"))
    return TopicChoice(unit=tuple(u for u in units if u not in rejected),
                       per_user=tuple(u for u in units if u in rejected), reasons=rejected,
                       channel=(channel_id, uri, parse_time(body.get("expires"))))


async def _probe(client: GenesysClient, channel_id: str, topics: list[str], rejected: dict[str, str]) -> None:
    path = f"{CHANNELS}/{channel_id}/subscriptions"
    try:
        body = await client.put(path, [{"id": t} for t in topics])
    except (GenesysForbidden, GenesysBadRequest) as error:  # a refused topic fails the whole request
        if len(topics) == 1:
            rejected[unit_of_topic(topics[0]) or topics[0]] = f"refused (HTTP {error.status}): needs {PERMISSION}"
            return
        half = len(topics) // 2
        await _probe(client, channel_id, topics[:half], rejected)
        await _probe(client, channel_id, topics[half:], rejected)
        return
    for entity in _entities(body):
        state = str(entity.get("state") or "Permitted").lower()
        unit = unit_of_topic(str(entity.get("id") or ""))
        if state != "permitted" and unit is not None:
            missing = ", ".join(str(p) for p in entity.get("missingPermissions") or []) or PERMISSION
            rejected[unit] = f"rejected ({entity.get('rejectionReason') or 'no reason given'}): needs {missing}"


def _entities(body: Any) -> list[dict[str, Any]]:
    items = body.get("entities") if isinstance(body, dict) else None
    return [e for e in items or [] if isinstance(e, dict)]
