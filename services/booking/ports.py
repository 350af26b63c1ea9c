"""What the booking use cases need from the outside world (adapters in ``services/adapters/booking``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from services.booking.model import (
    AttendanceMark,
    BookingRequest,
    ChangeOutcome,
    Hold,
    HoldOutcome,
    Progress,
    Register,
    WorkItem,
    WorkOutcome,
)
from services.domain.model import AgentSchedule, Roster
from services.domain.slots import SlotProblem
from services.domain.states import ActivityCategory

Span = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the search reads for one management unit and period."""

    roster: Roster
    problem: SlotProblem
    facilitators: Mapping[str, str] = field(default_factory=dict)  # person id -> display name
    demand: str = "synthetic curve (simulator)"  # where the requirement came from (named in explanations)
    no_forecast: str = ""  # why no forecast covers (part of) the period; the type's no_forecast policy decides
    # The agents' calendars without the bot's own bookings (only its agents' states are read): what
    # a freed interval was, so that Optimise upcoming can move bookings that replaced a break.
    base: SlotProblem | None = None


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


class PersonCalendars(Protocol):
    """Free/busy of people's mailboxes (Microsoft Graph ``getSchedule``): person id -> busy spans."""

    async def busy_people(self, emails: Mapping[str, str], start: datetime, end: datetime
                          ) -> Mapping[str, Sequence[Span]]: ...


class PersonSchedules(Protocol):
    """Published WFM schedules of people outside the unit's agents (facilitators scheduled elsewhere)."""

    async def person_schedules(self, mu_id: str, person_ids: Sequence[str], start: datetime,
                               end: datetime) -> Mapping[str, AgentSchedule]: ...


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


class HoldStore(Protocol):
    """Tentative holds (``auto_schedule = false``); the first Book / Another time / Cancel / timeout wins."""

    async def add(self, hold: Hold) -> bool:
        """Keep ``hold`` unless this request's hold was already decided (then False)."""
        ...

    async def get(self, request_id: str) -> Hold | None: ...

    async def active(self, mu_id: str | None, now: datetime) -> Sequence[Hold]:
        """Holds of the unit (every unit: None) not yet expired at ``now`` (the search treats them as taken)."""
        ...

    async def due(self, now: datetime) -> Sequence[Hold]: ...

    async def claim(self, outcome: HoldOutcome) -> bool:
        """Record what happened to the hold unless something already did (SET NX); True if this won."""
        ...

    async def outcome(self, request_id: str) -> HoldOutcome | None: ...

    async def release(self, request_id: str) -> None:
        """Stop reserving the hold's time (after its outcome is recorded and acted on)."""
        ...


class ChangeStore(Protocol):
    """Who booked what (for ``list``), each booking's current revision, and Cancel/Reschedule outcomes."""

    async def add_booking(self, requester: str, request_id: str, first_start: datetime) -> None: ...

    async def bookings_of(self, requester: str) -> Sequence[str]: ...

    async def remove_booking(self, requester: str, request_id: str) -> None: ...

    async def revision(self, request_id: str) -> int: ...

    async def set_revision(self, request_id: str, revision: int) -> None: ...

    async def claim(self, outcome: ChangeOutcome) -> bool:
        """Record the change done on ``outcome.revision`` unless one was (SET NX); True if this won."""
        ...

    async def update(self, outcome: ChangeOutcome) -> None:
        """Overwrite the recorded outcome (a reschedule adds its new revision when done)."""
        ...

    async def outcome(self, request_id: str, revision: int) -> ChangeOutcome | None: ...

    async def forget(self, request_id: str, revision: int) -> None:
        """Drop a claim whose change could not be made (e.g. no other time found), so it may be tried again."""
        ...


class AttendanceMarks(Protocol):
    """Attended / No-show per attendee of a register, one atomic write per attendee."""

    async def mark(self, request_id: str, mark: AttendanceMark) -> AttendanceMark | None:
        """Record ``mark`` unless the attendee has the same one; return the mark found before (None: unmarked)."""
        ...

    async def marks(self, request_id: str) -> Mapping[str, AttendanceMark]: ...

    async def expect(self, request_id: str, after: datetime) -> None:
        """Ask the facilitator for attendance once ``after`` (the last session's end) has passed."""
        ...

    async def take_due(self, now: datetime) -> Sequence[str]:
        """Registers whose time to ask has come, each given out once (across replicas)."""
        ...


class ExternalIds(Protocol):
    """Ids an external system gave to what we wrote (a Graph event, a Genesys appointment), by our key,
    kept outside the process so a cancel after a restart still finds them."""

    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str) -> None: ...

    async def pop(self, key: str) -> str | None: ...


#: One agent's day in the adherence history: (scheduled seconds, seconds out of adherence while scheduled).
AgentDay = tuple[float, float]


class AdherenceHistory(Protocol):
    """The monitor's per-day adherence record (written by its tick commit), read by training targets."""

    async def days(self, mu_id: str, days: Sequence[date]) -> dict[date, dict[str, AgentDay]]:
        """agent id -> (scheduled, out) per day of ``days`` that has a record (days without one are left out)."""
        ...
