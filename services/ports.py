"""Typed ports: what the use cases need from the outside world, and nothing about how.

Adapters in ``services/adapters`` implement these; ``bot/`` picks which ones to wire. This module is
the one entry point: the source side is here, the delivery ports are in ``delivery_ports`` and the
state ports in ``state_ports``, both re-exported.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from services.delivery_ports import (
    AgentChat,
    ChatDirectory,
    ChatPort,
    CoachingPort,
    CoachingRequest,
    DeliveryError,
    EmailPort,
    ExceptionWriter,
    IncidentView,
    MessageRef,
    StormEmailPort,
    StormThread,
    StormView,
    TeamsPort,
)
from services.domain.model import (
    AgentSchedule,
    AgentState,
    ExceptionWindow,
    ManagementUnit,
    Roster,
)
from services.state_ports import (
    ActionStore,
    AuditHistory,
    AuditLog,
    Backlog,
    CardRefs,
    ClosedIncidents,
    CommitResult,
    DigestLedger,
    DispatchStore,
    DueIndex,
    Epoch,
    Heartbeats,
    MonitorStore,
    NeutralWindows,
    Outbox,
    OutboxEntry,
    PendingStorms,
    QueryStore,
    StateEpochs,
    StateStore,
    StatusBoard,
    TickClaims,
    TrackChange,
    TrackStore,
)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SleepingClock(Clock, Protocol):
    """A clock one can wait on (the due-time waker): ``ManualClock`` wakes sleepers when moved."""

    async def sleep_until(self, when: datetime) -> None: ...


ScheduleChanged = Callable[[str], None]
"""Called with a management-unit id when the WFM source knows its published schedule changed."""

StateChanged = Callable[[str, AgentState], Awaitable[None]]
"""Called with (mu id, new state) when a live state change arrives (push sources only)."""


class WorkforceSource(Protocol):
    """The WFM + presence system (Genesys Cloud in production, the simulator by default)."""

    async def management_units(self) -> Sequence[ManagementUnit]: ...

    async def roster(self, mu_id: str) -> Roster: ...

    async def schedules(self, mu_id: str, start: datetime, end: datetime) -> Mapping[str, AgentSchedule]: ...

    async def live_states(self, mu_id: str) -> Mapping[str, AgentState]:
        """Latest known state of every agent of the unit; agents missing here are UNKNOWN."""
        ...

    async def approved_exceptions(self, mu_id: str, start: datetime, end: datetime) -> Sequence[ExceptionWindow]: ...

    def on_schedule_changed(self, callback: ScheduleChanged) -> None: ...


@runtime_checkable
class ChangeReporting(Protocol):
    """Optional, for a source that keeps its live states itself: which agents' states changed (presence,
    routing, since or confirmed; not a state merely observed again) since ``cursor``, so a tick need
    not compare every state. Returns the new cursor and the agent ids, or None when it cannot tell
    (``cursor`` None, or older than what it remembers): then the monitor compares every state."""

    def changed_agents(self, mu_id: str, cursor: int | None) -> tuple[int, Collection[str] | None]: ...


__all__ = [
    "ActionStore",
    "AgentChat",
    "AuditHistory",
    "AuditLog",
    "Backlog",
    "CardRefs",
    "ChangeReporting",
    "ChatDirectory",
    "ChatPort",
    "Clock",
    "ClosedIncidents",
    "CoachingPort",
    "CoachingRequest",
    "CommitResult",
    "DeliveryError",
    "DigestLedger",
    "DispatchStore",
    "DueIndex",
    "EmailPort",
    "Epoch",
    "ExceptionWriter",
    "Heartbeats",
    "IncidentView",
    "MessageRef",
    "MonitorStore",
    "NeutralWindows",
    "Outbox",
    "OutboxEntry",
    "PendingStorms",
    "QueryStore",
    "ScheduleChanged",
    "SleepingClock",
    "StateChanged",
    "StateEpochs",
    "StateStore",
    "StatusBoard",
    "StormEmailPort",
    "StormThread",
    "StormView",
    "TeamsPort",
    "TickClaims",
    "TrackChange",
    "TrackStore",
    "WorkforceSource",
]
