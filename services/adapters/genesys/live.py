"""The in-memory table of live agent states, fed by WebSocket events and REST reconciliation.

Presence and routing status are tracked separately, each with the time Genesys says it changed, so
that an older reading (a REST snapshot that raced with a newer event) never overwrites a newer one.
``observed_at`` is only moved forward by evidence that the state is current: an event or a REST
reading for the agent, or a heartbeat on the healthy socket that carries the agent's topics. When
Genesys is unreachable nothing moves it, so the monitor sees the states go stale (UNKNOWN) instead
of trusting old ones.

Staleness takes ``stale_after``; a dropped channel must hold its agents at once. :meth:`hold` marks
the states of those agents unconfirmed (``AgentState.confirmed`` False: the monitor neither opens nor
escalates on them) until :meth:`release`, which the source calls only after the channel is back and
its agents were reconciled over REST. Events and heartbeats never release a hold.

``changes`` records, per unit, the agents whose state changed (presence, routing, since, confirmed;
not a state merely observed again) for ``ports.ChangeReporting``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType

from services.adapters.genesys.parse import PresenceReading, RoutingReading
from services.adapters.genesys.state_changes import ChangeLog
from services.domain.model import AgentState
from services.domain.states import Presence, RoutingStatus


@dataclass(slots=True)
class _Entry:
    presence: Presence | None = None
    presence_at: datetime | None = None
    routing: RoutingStatus | None = None
    routing_at: datetime | None = None
    since: datetime | None = None
    known: bool = False


class LiveStateTable:
    def __init__(self) -> None:
        self._units: dict[str, dict[str, AgentState]] = {}
        self._views: dict[str, Mapping[str, AgentState]] = {}
        self._entries: dict[str, _Entry] = {}
        self._unit_of: dict[str, str] = {}
        self._held: dict[str, datetime] = {}  # agent -> since when its state cannot be vouched for
        self.changes = ChangeLog()

    def set_members(self, mu_id: str, agent_ids: Iterable[str]) -> None:
        table = self._units.setdefault(mu_id, {})
        self._views.setdefault(mu_id, MappingProxyType(table))
        members = set(agent_ids)
        for gone in [a for a, unit in self._unit_of.items() if unit == mu_id and a not in members]:
            del self._unit_of[gone]
            self._held.pop(gone, None)
            table.pop(gone, None)
        for moved in [a for a in table if a not in members]:  # now in another unit
            del table[moved]
        for agent_id in members:
            self._unit_of[agent_id] = mu_id
            self._entries.setdefault(agent_id, _Entry())

    def unit_of(self, agent_id: str) -> str | None:
        return self._unit_of.get(agent_id)

    def view(self, mu_id: str) -> Mapping[str, AgentState]:
        """The live table of one unit (read-only, no copy). Agents never seen are absent (UNKNOWN)."""
        return self._views.get(mu_id) or MappingProxyType({})

    def get(self, agent_id: str) -> AgentState | None:
        mu_id = self._unit_of.get(agent_id)
        return self._units[mu_id].get(agent_id) if mu_id is not None else None

    def apply(self, agent_id: str, now: datetime, *, presence: PresenceReading | None = None,
              routing: RoutingReading | None = None, not_before: datetime | None = None) -> AgentState | None:
        """Record a reading; return the new state if presence or routing changed, else ``None``.

        A reading without its own timestamp is dated ``not_before`` (REST: when the request was
        sent) or ``now`` (events: on arrival).
        """
        mu_id = self._unit_of.get(agent_id)
        if mu_id is None:
            return None
        entry = self._entries[agent_id]
        changed = False
        fallback = not_before or now
        if presence is not None:
            at = presence.at or fallback
            if entry.presence_at is None or at >= entry.presence_at:
                if presence.presence != entry.presence or not entry.known:
                    changed = True
                    entry.since = max(entry.since, at) if entry.since else at
                entry.presence, entry.presence_at = presence.presence, at
        if routing is not None:
            at = routing.at or fallback
            if entry.routing_at is None or at >= entry.routing_at:
                if routing.routing != entry.routing or not entry.known:
                    changed = True
                    entry.since = max(entry.since, at) if entry.since else at
                entry.routing, entry.routing_at = routing.routing, at
        if presence is None and routing is None:
            return None
        entry.known = True
        state = AgentState(agent_id, entry.presence, entry.routing, entry.since or now, now,
                           confirmed=agent_id not in self._held)
        table = self._units[mu_id]
        before = table.get(agent_id)
        table[agent_id] = state
        if changed or before is None or before.confirmed is not state.confirmed:
            self.changes.record(mu_id, (agent_id,))  # new to this unit's table counts as a change
        return state if changed else None

    def confirm(self, agent_ids: Iterable[str], now: datetime) -> None:
        """The states of these agents are known to be current (heartbeat on their healthy socket)."""
        for agent_id in agent_ids:
            mu_id = self._unit_of.get(agent_id)
            if mu_id is None:
                continue
            table = self._units[mu_id]
            state = table.get(agent_id)
            if state is not None and state.confirmed and state.observed_at < now:
                table[agent_id] = AgentState(agent_id, state.presence, state.routing, state.since, now)

    def hold(self, agent_ids: Iterable[str], now: datetime) -> None:
        """The feed carrying these agents is down: their states are unconfirmed until :meth:`release`."""
        for agent_id in agent_ids:
            mu_id = self._unit_of.get(agent_id)
            if mu_id is None:
                continue
            self._held.setdefault(agent_id, now)
            table = self._units[mu_id]
            state = table.get(agent_id)
            if state is not None and state.confirmed:
                table[agent_id] = replace(state, confirmed=False)
                self.changes.record(mu_id, (agent_id,))

    def release(self, agent_ids: Iterable[str]) -> list[str]:
        """These agents were reconciled on a live feed: their states count again. Returns who was held."""
        released = []
        for agent_id in agent_ids:
            if self._held.pop(agent_id, None) is None:
                continue
            released.append(agent_id)
            mu_id = self._unit_of.get(agent_id)
            state = self._units[mu_id].get(agent_id) if mu_id is not None else None
            if mu_id is not None and state is not None and not state.confirmed:
                self._units[mu_id][agent_id] = replace(state, confirmed=True)
                self.changes.record(mu_id, (agent_id,))
        return released

    def held(self) -> set[str]:
        return set(self._held)

    def down_since(self) -> datetime | None:
        """Since when the longest-held agent has been unconfirmed (None: the feed vouches for everyone)."""
        return min(self._held.values(), default=None)
