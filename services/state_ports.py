"""State ports: the monitor's, the dispatcher's and the actions' state in small roles, each implemented
by RedisStore (production) and testing.memory_store.MemoryStore (tests), and the data they carry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from services.delivery_ports import MessageRef
from services.domain.escalation import REPEATABLE_KINDS, AgentTrack, Incident, IncidentEvent
from services.domain.neutral import NeutralWindow


@dataclass(frozen=True, slots=True)
class TrackChange:
    """A compare-and-set write of one agent's track: applied only if the stored version still matches."""

    agent_id: str
    expected_version: int
    track: AgentTrack | None  # None deletes it


@dataclass(frozen=True, slots=True)
class CommitResult:
    """What a commit did: ``fenced`` (the tick claim was lost, nothing applied) or the agents whose
    change was rejected because their track moved on since it was read (their events dropped too)."""

    fenced: bool = False
    rejected: frozenset[str] = frozenset()
    #: The unit's tracks version just before and just after this commit (None: the store keeps none).
    #: Before equal to the version a reader last saw: nobody else wrote tracks in between.
    tracks_version: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    entry_id: str
    event: IncidentEvent

    @property
    def delivery_key(self) -> str:
        """Stable across retries and restarts: the same transition is delivered at most once."""
        tier = self.event.tier.index if self.event.tier else ""
        key = f"{self.event.incident.id}:{self.event.kind.value}:{tier}"
        if self.event.kind in REPEATABLE_KINDS:  # acknowledged again after an Unacknowledge, snoozed twice...
            key += f":{self.event.at.timestamp():.6f}"
        return key


@dataclass(frozen=True, slots=True)
class Epoch:
    """When this state began, and when (if ever) a running bot found it emptied (Redis lost it)."""

    since: datetime
    lost_at: datetime | None = None


# ---- state ports: small roles, each implemented by RedisStore (production) and MemoryStore (tests) ----


class TickClaims(Protocol):
    """One replica per tick of a unit: the claim returns a fencing token that the commit checks."""

    async def claim_tick(self, mu_id: str, tick_number: int, lease: timedelta, *, kind: str = "tick") -> str | None:
        """``kind="due"``: the evaluation of the agents due at the instant ``tick_number`` (epoch ms)."""
        ...


class TrackStore(Protocol):
    """Agents' tracks (open incident, positive deviation, approved exception), written compare-and-set.

    ``commit`` applies every change whose ``expected_version`` still matches and, atomically with it,
    appends the events to the audit trail and the deliveries to the outbox, records closed incidents,
    updates the status board and adds the out-of-adherence seconds of ``day`` (and, with
    ``scheduled_seconds``, the day's adherence history: scheduled seconds and out seconds while
    scheduled, per agent). A non-empty ``token``
    must still be the claim of ``tick_number``, else nothing is applied (``fenced``)."""

    async def load_tracks(self, mu_id: str) -> dict[str, AgentTrack]: ...

    async def load_track(self, mu_id: str, agent_id: str) -> AgentTrack | None: ...

    async def tracks_if_changed(self, mu_id: str, known: int | None) -> tuple[int | None, dict[str, AgentTrack] | None]:
        """The tracks version, and the tracks only if that version is not ``known`` (one round trip)."""
        ...

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
        """``due``: evaluated agents' next due instants (None: nothing due), in the due-time index with
        the commit; ``claim_kind`` names the claim ``token`` must still hold (``tick`` or ``due``).

        ``accrual_seconds`` (a tick's): the seconds since the previous tick, accrued by segments to
        every agent by the flags of its open segment (``history.flags``); ``accrual`` gives the agents
        whose flags may have changed (their segment is closed into out-seconds and history, and one with
        the new flags opened). ``out_seconds`` / ``scheduled_seconds`` add seconds directly."""
        ...


class DueIndex(Protocol):
    """Per unit, each agent's next due instant (written by ``TrackStore.commit``), millisecond resolution
    rounded up: the monitor wakes at the earliest one, not only at the tick."""

    async def due_agents(self, mu_id: str, until: datetime) -> dict[str, datetime]: ...

    async def earliest_due(self, mu_ids: Sequence[str]) -> datetime | None: ...


class ClosedIncidents(Protocol):
    """Incidents as they closed (written by ``TrackStore.commit``): late card updates, "already done by"."""

    async def closed_incident(self, mu_id: str, incident_id: str) -> Incident | None: ...

    async def closed_in_storm(self, mu_id: str, storm_id: str, exclude: set[str]) -> list[Incident]: ...


class StatusBoard(Protocol):
    """Latest evaluation per agent and seconds out of adherence per day (written by the commit)."""

    async def statuses(self, mu_id: str) -> dict[str, str]: ...

    async def out_seconds(self, mu_id: str, day: date) -> dict[str, float]: ...


class AuditLog(Protocol):
    async def audit(self, mu_id: str, count: int = 1000) -> list[dict[str, str]]: ...


class Heartbeats(Protocol):
    """One heartbeat per replica, written after a tick it committed, expiring by itself after ``ttl``."""

    async def write_heartbeat(self, replica_id: str, beat: Mapping[str, Any], ttl: timedelta) -> None: ...

    async def heartbeats(self) -> list[dict[str, Any]]:
        """The latest heartbeat of every replica whose heartbeat has not expired."""
        ...


class Backlog(Protocol):
    async def outbox_backlog(self, mu_id: str, now: datetime | None = None) -> tuple[int, timedelta | None]:
        """Undelivered entries and the age of the oldest (None when empty)."""
        ...


class Outbox(Backlog, Protocol):
    """Deliveries still to make, read by a consumer group: an entry stays pending for its consumer
    until acknowledged (``mark_delivered``/``give_up``); one abandoned by a dead consumer for
    ``claim_idle`` is taken over. Delivery keys and steps make a repeated entry a no-op."""

    async def ensure_outbox_group(self, mu_id: str) -> None: ...

    async def read_outbox(self, mu_id: str, consumer: str, count: int = 200,
                          claim_idle: timedelta = timedelta(seconds=60)) -> list[OutboxEntry]: ...

    async def was_delivered(self, mu_id: str, delivery_key: str) -> bool: ...

    async def mark_delivered(self, mu_id: str, entry: OutboxEntry, when: datetime) -> None: ...

    async def mark_step_delivered(self, mu_id: str, key: str, when: datetime) -> None: ...

    async def retry_state(self, mu_id: str, entry_id: str) -> tuple[int, datetime | None]: ...

    async def schedule_retry(self, mu_id: str, entry_id: str, attempts: int, next_at: datetime) -> None: ...

    async def give_up(self, mu_id: str, entry: OutboxEntry) -> None: ...


class PendingStorms(Protocol):
    """Grouped (storm) cards still to post or refresh: recorded before the entry asking for one is
    acknowledged, removed once the card is posted, so a crash in between loses nothing."""

    async def add_pending_storm(self, mu_id: str, storm_id: str) -> None: ...

    async def pending_storms(self, mu_id: str) -> list[str]: ...

    async def storm_done(self, mu_id: str, storm_id: str) -> None: ...


class StateEpochs(Protocol):
    """Tells a running state from one that was lost (Redis emptied): see ``Epoch``."""

    state_losses: int  # times this process found the state lost

    async def check_epoch(self, now: datetime) -> Epoch: ...


class CardRefs(Protocol):
    """Where each incident's (or ``storm:<id>``'s) card was posted."""

    async def card_ref(self, mu_id: str, key: str) -> MessageRef | None: ...

    async def save_card_ref(self, mu_id: str, key: str, ref: MessageRef) -> None: ...


class NeutralWindows(Protocol):
    """Neutral windows planned ahead, per unit (``services.neutral``), each write audited with it."""

    async def save_neutral(self, window: NeutralWindow) -> None: ...

    async def neutral_windows(self, mu_id: str) -> list[NeutralWindow]: ...

    async def cancel_neutral(self, mu_id: str, window_id: str, by: str,
                             at: datetime) -> tuple[NeutralWindow, bool] | None:
        """Cancel once: the window as it now stands and whether this call cancelled it (a second call
        changes nothing; the window carries the first cancellation's who and when); None: no such window."""
        ...


class AuditHistory(Protocol):
    """The unit's audit entries written since ``since`` (wall clock), oldest first, for the weekly digest."""

    async def audit_since(self, mu_id: str, since: datetime) -> list[dict[str, str]]: ...


class DigestLedger(Protocol):
    """One weekly digest per ops manager, unit, week and channel: ``claim`` is true for the first caller
    only (every replica runs the job); ``release`` after a failed send lets the next run retry."""

    async def claim_digest(self, mu_id: str, week: str, person_id: str, channel: str) -> bool: ...

    async def release_digest(self, mu_id: str, week: str, person_id: str, channel: str) -> None: ...


# What each use case needs, composed from the roles above.


class MonitorStore(TickClaims, Heartbeats, Backlog, TrackStore, DueIndex, Protocol):
    """services.monitor.Monitor (the heartbeat after a committed tick carries the outbox backlog)."""


class DispatchStore(Outbox, CardRefs, TrackStore, ClosedIncidents, PendingStorms, StateEpochs, Protocol):
    """services.dispatch.OutboxDispatcher (reads the tracks of a storm's open members)."""


class ActionStore(TrackStore, ClosedIncidents, Protocol):
    """services.incident_actions.IncidentActions."""


class QueryStore(TrackStore, StatusBoard, Protocol):
    """services.queries.AdherenceQueries."""


class StateStore(MonitorStore, DispatchStore, ActionStore, QueryStore, AuditLog, Heartbeats, Protocol):
    """Every state port at once (what RedisStore and testing.memory_store.MemoryStore provide)."""
