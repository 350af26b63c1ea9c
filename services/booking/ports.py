"""What the booking use cases need from the outside world (adapters in ``services/adapters/booking``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from services.booking.model import BookingRequest, Progress, Register, WorkItem, WorkOutcome
from services.domain.model import Roster
from services.domain.slots import SlotProblem
from services.domain.states import ActivityCategory

Span = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the search reads for one management unit and period."""

    roster: Roster
    problem: SlotProblem
    facilitators: Mapping[str, str] = field(default_factory=dict)  # person id -> display name


class BookingData(Protocol):
    """Staffing requirement and scheduled staff per interval, agent schedules, facilitator availability."""

    async def snapshot(self, mu_id: str, start: datetime, end: datetime) -> Snapshot: ...

    async def roster(self, mu_id: str) -> Roster: ...


@dataclass(frozen=True, slots=True)
class OfflineActivity:
    """One activity to write into the WFM schedule (one per occurrence and session)."""

    key: str  # idempotency key: request id, occurrence, session
    mu_id: str
    name: str
    category: ActivityCategory
    code_id: str
    start: datetime
    end: datetime
    attendees: tuple[str, ...]
    facilitator: str | None


class ActivityWriter(Protocol):
    """Writes offline activities into the WFM schedule; idempotent on ``OfflineActivity.key``."""

    async def write_activity(self, activity: OfflineActivity) -> str: ...

    async def cancel_activity(self, key: str) -> None: ...

    async def activities(self, mu_id: str, start: datetime, end: datetime) -> Sequence[OfflineActivity]:
        """Activities written by us (so the next search sees them even before WFM republishes)."""
        ...


@dataclass(frozen=True, slots=True)
class RoomBooking:
    key: str
    room_id: str
    start: datetime
    end: datetime
    subject: str
    organizer: str = ""


class RoomCalendar(Protocol):
    async def busy(self, room_ids: Sequence[str], start: datetime, end: datetime) -> Mapping[str, Sequence[Span]]: ...

    async def book(self, booking: RoomBooking) -> str:
        """Book the room; idempotent on ``booking.key``; raise :class:`RoomTaken` if it is not free."""
        ...

    async def cancel(self, key: str) -> None: ...


class RoomTaken(Exception):
    """The room was booked by someone else between the search and the write-back."""


@dataclass(frozen=True, slots=True)
class Invite:
    uid: str  # stable per slot, so a re-sent invite updates the same calendar entry
    subject: str
    description: str
    start: datetime
    end: datetime
    location: str
    organizer: tuple[str, str]  # (name, email)
    attendees: tuple[tuple[str, str], ...]  # (name, email)
    method: str = "REQUEST"  # iTIP method: REQUEST (new or updated) or CANCEL
    sequence: int = 0  # raised with every change of the same uid, so calendars apply the newest
    time_zone: str | None = None  # the unit's: the email shows the time in it, named


class InviteSender(Protocol):
    async def send_invite(self, invite: Invite) -> None: ...


class AttendanceRegisters(Protocol):
    async def save(self, register: Register) -> None: ...

    async def get(self, request_id: str) -> Register | None: ...

    async def mark_attended(self, request_id: str, agent_ids: Sequence[str]) -> Register | None: ...


class ProgressNotifier(Protocol):
    """Tells the requester what happened: queued, searching, booked (where and why) or needs review."""

    async def notify(self, request: BookingRequest, progress: Progress) -> None: ...


@dataclass(frozen=True, slots=True)
class Queued:
    entry_id: str
    request: BookingRequest


class RequestQueue(Protocol):
    """First come, first served; survives restarts; a request id is accepted once."""

    async def submit(self, request: BookingRequest) -> bool: ...

    async def take(self, consumer: str, block_ms: int = 0) -> Queued | None: ...

    async def done(self, item: Queued) -> None: ...


class BookingLedger(Protocol):
    """Per-request state that makes processing idempotent: status, the stored plan, finished steps."""

    async def status(self, request_id: str) -> str | None: ...

    async def set_status(self, request_id: str, status: str) -> None: ...

    async def plan(self, request_id: str) -> str | None: ...

    async def save_plan(self, request_id: str, plan_json: str) -> str:
        """Store the plan unless one exists; return the stored one (first writer wins)."""
        ...

    async def step_done(self, request_id: str, step: str) -> bool: ...

    async def mark_step(self, request_id: str, step: str) -> None: ...

    async def request(self, request_id: str) -> BookingRequest | None: ...

    async def save_request(self, request: BookingRequest) -> None: ...


class WorkQueue(Protocol):
    async def add(self, item: WorkItem) -> None: ...

    async def items(self) -> Sequence[WorkItem]: ...

    async def get(self, request_id: str) -> WorkItem | None: ...

    async def remove(self, request_id: str) -> None: ...

    async def resolve(self, request_id: str, outcome: WorkOutcome) -> WorkItem | None:
        """Atomically take the item out and record ``outcome``; None if it was already gone.

        Exactly one of two simultaneous clicks gets the item; the other reads :meth:`outcome`.
        """
        ...

    async def outcome(self, request_id: str) -> WorkOutcome | None: ...
