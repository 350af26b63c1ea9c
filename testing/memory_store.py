"""The monitor's state in memory, with the semantics of ``RedisStore`` and its Lua commit.

It provides every state port of ``services.ports`` (``StateStore``): the tick claim with a fencing
token and a lease, the compare-and-set commit (rejected agents lose their change and their events;
audit and outbox appended with it; closed incidents, status board and out-seconds updated), the
outbox as a consumer group (pending per consumer, acknowledge, take-over of entries abandoned for
``claim_idle``; an entry leaves the outbox when delivered or given up, so the backlog is what is
left), delivered keys, retries, card references, pending grouped cards and the state epoch.

Leases and idle times are measured on ``monotonic`` (real elapsed time, as Redis measures them);
key expiry (``STATE_TTL``) is not modelled. One instance stands for one Redis: share it between the
monitors and dispatchers of a test the way they would share a server.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from services.adapters.redis.codec import event_to_json
from services.domain.escalation import AgentTrack, Incident, IncidentEvent
from services.ports import CommitResult, Epoch, MessageRef, OutboxEntry, TrackChange
from testing.memory_history import MemoryAdherenceHistory


@dataclass
class _Pending:
    consumer: str
    delivered_at: float


@dataclass
class _Outbox:
    """One unit's outbox stream and its consumer group."""

    entries: list[tuple[str, IncidentEvent]] = field(default_factory=list)
    read_upto: int = 0  # entries[:read_upto] were handed to a consumer (the group's last-delivered id)
    pending: dict[str, _Pending] = field(default_factory=dict)  # read, not yet acknowledged
    removed: set[str] = field(default_factory=set)  # delivered or given up: gone from the stream (XDEL)
    next_seq: int = 1

    def append(self, event: IncidentEvent) -> str:
        entry_id = f"{self.next_seq}-0"
        self.next_seq += 1
        self.entries.append((entry_id, event))
        return entry_id


@dataclass
class _Unit:
    tracks: dict[str, AgentTrack] = field(default_factory=dict)
    claims: dict[tuple[str, int], tuple[str, float]] = field(default_factory=dict)  # (kind, n) -> (token, lease ends)
    audit: list[dict[str, str]] = field(default_factory=list)
    outbox: _Outbox = field(default_factory=_Outbox)
    delivered: dict[str, str] = field(default_factory=dict)
    retries: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    cards: dict[str, MessageRef] = field(default_factory=dict)
    closed: dict[str, Incident] = field(default_factory=dict)
    storms_pending: set[str] = field(default_factory=set)
    status: dict[str, str] = field(default_factory=dict)
    out_seconds: dict[date, dict[str, float]] = field(default_factory=dict)
    due: dict[str, datetime] = field(default_factory=dict)  # agent -> next due instant (ms, rounded up)
    tracks_version: int = 1000  # as the script's: moved on by every commit that writes a track


class MemoryStore:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._units: dict[str, _Unit] = {}
        self._heartbeats: dict[str, tuple[dict[str, Any], float]] = {}  # replica -> (beat, expires)
        self._epoch: Epoch | None = None
        self.state_losses = 0  # memory is never lost behind the bot's back
        self.history = MemoryAdherenceHistory()  # the per-day adherence record the commit adds to

    def _unit(self, mu_id: str) -> _Unit:
        return self._units.setdefault(mu_id, _Unit())

    # ---- ticks -------------------------------------------------------------------------------
    async def claim_tick(self, mu_id: str, tick_number: int, lease: timedelta, *, kind: str = "tick") -> str | None:
        now = self._monotonic()
        unit = self._unit(mu_id)
        held = unit.claims.get((kind, tick_number))
        if held is not None and held[1] > now:
            return None
        token = uuid.uuid4().hex
        unit.claims[kind, tick_number] = (token, now + lease.total_seconds())
        return token

    def _claim_holder(self, mu_id: str, tick_number: int, kind: str = "tick") -> str | None:
        held = self._unit(mu_id).claims.get((kind, tick_number))
        return held[0] if held is not None and held[1] > self._monotonic() else None

    async def load_tracks(self, mu_id: str) -> dict[str, AgentTrack]:
        return dict(self._unit(mu_id).tracks)

    async def load_track(self, mu_id: str, agent_id: str) -> AgentTrack | None:
        return self._unit(mu_id).tracks.get(agent_id)

    async def tracks_if_changed(self, mu_id: str, known: int | None) -> tuple[int | None, dict[str, AgentTrack] | None]:
        unit = self._unit(mu_id)
        return unit.tracks_version, (None if known == unit.tracks_version else dict(unit.tracks))

    async def commit(
        self,
        mu_id: str,
        *,
        changes: Sequence[TrackChange],
        events: Sequence[IncidentEvent],
        token: str = "",
        tick_number: int = 0,
        status: Mapping[str, str] | None = None,
        out_seconds: Mapping[str, float] | None = None,
        day: date | None = None,
        scheduled_seconds: Mapping[str, float] | None = None,
        due: Mapping[str, datetime | None] | None = None,
        claim_kind: str = "tick",
        accrual_seconds: float | None = None,
        accrual: Mapping[str, str] | None = None,
    ) -> CommitResult:
        unit = self._unit(mu_id)
        if token and self._claim_holder(mu_id, tick_number, claim_kind) != token:
            return CommitResult(fenced=True)
        version_before = unit.tracks_version
        rejected, wrote = _apply_changes(unit, changes)
        _record_events(unit, events, rejected)
        unit.status.update(status or {})
        totals = unit.out_seconds.setdefault(day or date.today(), {})
        for agent_id, seconds in (out_seconds or {}).items():
            totals[agent_id] = totals.get(agent_id, 0.0) + float(f"{seconds:.3f}")  # the script's precision
        for agent_id, when in (due or {}).items():
            if agent_id in rejected:
                continue  # it keeps its entry and is evaluated again, as in the script
            if when is None:
                unit.due.pop(agent_id, None)
            else:
                unit.due[agent_id] = _ms_up(when)
        if scheduled_seconds:
            self.history.add(mu_id, day or date.today(), scheduled_seconds, out_seconds)
        if accrual_seconds is not None:
            closed = self.history.accrue(mu_id, day or date.today(), accrual_seconds, accrual or {})
            for agent_id, seconds in closed.items():
                totals[agent_id] = totals.get(agent_id, 0.0) + seconds
        if wrote:
            unit.tracks_version += 1
        return CommitResult(rejected=frozenset(rejected), tracks_version=(version_before, unit.tracks_version))

    # ---- due-time index -----------------------------------------------------------------------
    async def due_agents(self, mu_id: str, until: datetime) -> dict[str, datetime]:
        return {agent: when for agent, when in self._unit(mu_id).due.items() if when <= until}

    async def earliest_due(self, mu_ids: Sequence[str]) -> datetime | None:
        instants = [min(self._unit(m).due.values()) for m in mu_ids if self._unit(m).due]
        return min(instants) if instants else None

    # ---- heartbeat ---------------------------------------------------------------------------
    async def write_heartbeat(self, replica_id: str, beat: Mapping[str, Any], ttl: timedelta) -> None:
        body = json.loads(json.dumps({**beat, "replica": replica_id}))  # what the Redis key would hold
        self._heartbeats[replica_id] = (body, self._monotonic() + ttl.total_seconds())

    async def heartbeats(self) -> list[dict[str, Any]]:
        now = self._monotonic()
        for gone in [r for r, (_, expires) in self._heartbeats.items() if expires <= now]:
            del self._heartbeats[gone]
        return [dict(beat) for _, (beat, _) in sorted(self._heartbeats.items())]

    # ---- reads for queries -------------------------------------------------------------------
    async def statuses(self, mu_id: str) -> dict[str, str]:
        return dict(self._unit(mu_id).status)

    async def out_seconds(self, mu_id: str, day: date) -> dict[str, float]:
        out = dict(self._unit(mu_id).out_seconds.get(day, {}))
        for agent_id, (agent_flags, seconds) in self.history.open_segments(mu_id, day).items():
            if "o" in agent_flags and seconds > 0:
                out[agent_id] = out.get(agent_id, 0.0) + seconds
        return out

    async def closed_incident(self, mu_id: str, incident_id: str) -> Incident | None:
        return self._unit(mu_id).closed.get(incident_id)

    async def audit(self, mu_id: str, count: int = 1000) -> list[dict[str, str]]:
        return [dict(fields) for fields in self._unit(mu_id).audit[:count]]

    # ---- outbox ------------------------------------------------------------------------------
    async def ensure_outbox_group(self, mu_id: str) -> None:
        self._unit(mu_id)

    async def read_outbox(self, mu_id: str, consumer: str, count: int = 200,
                          claim_idle: timedelta = timedelta(seconds=60)) -> list[OutboxEntry]:
        """This consumer's pending entries, then entries idle for ``claim_idle`` (taken over), then new ones."""
        box = self._unit(mu_id).outbox
        now = self._monotonic()
        ids_in_order = sorted(box.pending, key=_seq)
        own = [i for i in ids_in_order if box.pending[i].consumer == consumer][:count]
        idle = [i for i in ids_in_order if now - box.pending[i].delivered_at >= claim_idle.total_seconds()][:count]
        for entry_id in idle:
            box.pending[entry_id] = _Pending(consumer, now)
        fresh = [e for e in box.entries[box.read_upto:box.read_upto + count] if e[0] not in box.removed]
        box.read_upto = min(len(box.entries), box.read_upto + count)
        for entry_id, _ in fresh:
            box.pending[entry_id] = _Pending(consumer, now)
        events = dict(box.entries)
        wanted = sorted({*own, *idle, *(entry_id for entry_id, _ in fresh)}, key=_seq)
        return [OutboxEntry(entry_id, events[entry_id]) for entry_id in wanted]

    async def was_delivered(self, mu_id: str, delivery_key: str) -> bool:
        return delivery_key in self._unit(mu_id).delivered

    async def mark_delivered(self, mu_id: str, entry: OutboxEntry, when: datetime) -> None:
        unit = self._unit(mu_id)
        unit.delivered[entry.delivery_key] = when.isoformat()
        unit.retries.pop(entry.entry_id, None)
        unit.outbox.pending.pop(entry.entry_id, None)
        unit.outbox.removed.add(entry.entry_id)

    async def mark_step_delivered(self, mu_id: str, key: str, when: datetime) -> None:
        self._unit(mu_id).delivered[key] = when.isoformat()

    async def closed_in_storm(self, mu_id: str, storm_id: str, exclude: set[str]) -> list[Incident]:
        return [incident for incident_id, incident in self._unit(mu_id).closed.items()
                if incident_id not in exclude and incident.storm_id == storm_id]

    async def retry_state(self, mu_id: str, entry_id: str) -> tuple[int, datetime | None]:
        found = self._unit(mu_id).retries.get(entry_id)
        return found if found is not None else (0, None)

    async def schedule_retry(self, mu_id: str, entry_id: str, attempts: int, next_at: datetime) -> None:
        self._unit(mu_id).retries[entry_id] = (attempts, next_at)

    async def give_up(self, mu_id: str, entry: OutboxEntry) -> None:
        unit = self._unit(mu_id)
        incident = entry.event.incident
        unit.audit.append({"kind": "delivery_failed", "incident": incident.id, "agent": incident.agent_id,
                           "event": event_to_json(entry.event)})
        unit.retries.pop(entry.entry_id, None)
        unit.outbox.pending.pop(entry.entry_id, None)
        unit.outbox.removed.add(entry.entry_id)

    async def outbox_backlog(self, mu_id: str, now: datetime | None = None) -> tuple[int, timedelta | None]:
        box = self._unit(mu_id).outbox
        left = [event for entry_id, event in box.entries if entry_id not in box.removed]
        if not left:
            return 0, None
        return len(left), max(timedelta(0), (now or datetime.now(left[0].at.tzinfo)) - left[0].at)

    # ---- grouped cards still to post, and the state epoch ----------------------------------
    async def add_pending_storm(self, mu_id: str, storm_id: str) -> None:
        self._unit(mu_id).storms_pending.add(storm_id)

    async def pending_storms(self, mu_id: str) -> list[str]:
        return sorted(self._unit(mu_id).storms_pending)

    async def storm_done(self, mu_id: str, storm_id: str) -> None:
        self._unit(mu_id).storms_pending.discard(storm_id)

    async def check_epoch(self, now: datetime) -> Epoch:
        if self._epoch is None:
            self._epoch = Epoch(since=now)
        return self._epoch

    # ---- cards -------------------------------------------------------------------------------
    async def card_ref(self, mu_id: str, key: str) -> MessageRef | None:
        return self._unit(mu_id).cards.get(key)

    async def save_card_ref(self, mu_id: str, key: str, ref: MessageRef) -> None:
        self._unit(mu_id).cards[key] = ref

    # ---- for tests: what a test would otherwise read from Redis directly ---------------------
    def outbox_length(self, mu_id: str) -> int:
        """Entries still in the stream (XLEN: delivered and given-up entries are deleted)."""
        box = self._unit(mu_id).outbox
        return len(box.entries) - len(box.removed)

    def overwrite_claim(self, mu_id: str, tick_number: int, token: str, lease: timedelta) -> None:
        """Another replica holds the tick now (its lease expired and was claimed again)."""
        self._unit(mu_id).claims["tick", tick_number] = (token, self._monotonic() + lease.total_seconds())


def _apply_changes(unit: _Unit, changes: Sequence[TrackChange]) -> tuple[set[str], bool]:
    """Apply the track changes in order, as the script does: (agents whose version did not match, wrote any)."""
    rejected: set[str] = set()
    wrote = False
    for change in changes:
        current = unit.tracks.get(change.agent_id)
        if (current.version if current else 0) != change.expected_version:
            rejected.add(change.agent_id)
        elif change.track is None:
            unit.tracks.pop(change.agent_id, None)
            wrote = True
        else:
            unit.tracks[change.agent_id] = change.track.model_copy(update={"version": change.expected_version + 1})
            wrote = True
    return rejected, wrote


def _record_events(unit: _Unit, events: Sequence[IncidentEvent], rejected: set[str]) -> None:
    """Audit every event of an agent not rejected, queue what needs delivering, keep closed incidents."""
    for event in events:
        incident = event.incident
        if incident.agent_id in rejected:
            continue
        unit.audit.append({"kind": event.kind.value, "incident": incident.id, "agent": incident.agent_id,
                           "event": event_to_json(event)})
        if _needs_delivery(event):
            unit.outbox.append(event)
        if incident.is_closed:
            unit.closed[incident.id] = incident


def _ms_up(when: datetime) -> datetime:
    """The index's resolution, as the Redis store scores it: epoch milliseconds, rounded up."""
    extra = when.microsecond % 1000
    return when + timedelta(microseconds=1000 - extra) if extra else when


def _needs_delivery(event: IncidentEvent) -> bool:
    """As ``RedisStore``: only incidents someone has been told about produce deliveries, and an
    approved exception always does (its WFM write-back)."""
    return bool(event.incident.fired) or event.tier is not None or event.write_back is not None


def _seq(entry_id: str) -> int:
    return int(entry_id.partition("-")[0])
