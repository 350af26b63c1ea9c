"""What a booking request is, as submitted from Slack or the terminal, and what happens to it."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.domain.slots import Placement, Reason


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RecurrenceSpec(_Frozen):
    frequency: Literal["daily", "weekly", "monthly"]
    every: int = Field(default=1, ge=1, le=52)
    min_gap_days: int = Field(default=0, ge=0, le=365)
    count: int | None = Field(default=None, ge=1, le=366)
    until: date | None = None


class BookingRequest(_Frozen):
    """One request to place an offline activity; ``id`` is its idempotency key."""

    id: str = Field(min_length=1, max_length=120)
    requester: str  # Slack user id, or "cli:<name>"
    notify_channel: str | None = None  # where progress goes (the requester's DM when None)
    mu_id: str
    type_id: str
    title: str = Field(min_length=1, max_length=150)
    teams: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    facilitator: str | None = None
    location: str | None = None
    date_from: date
    date_to: date
    earliest_minute: int | None = Field(default=None, ge=0, le=1440)
    latest_minute: int | None = Field(default=None, ge=0, le=1440)
    duration_minutes: int | None = Field(default=None, ge=15, le=600)
    recurrence: RecurrenceSpec | None = None
    relaxed: bool = False
    submitted_at: datetime
    template_id: str | None = None  # set when a recurring template created this request
    #: Times not to propose again ("Another time", a reschedule): (start, end) spans.
    exclude: tuple[tuple[datetime, datetime], ...] = ()
    #: Why these attendees: the training target that chose them (``/book-training target:...``), if any.
    target: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _check(self) -> BookingRequest:
        if self.date_to < self.date_from:
            raise ValueError("the date range ends before it starts")
        if (self.earliest_minute is not None and self.latest_minute is not None
                and self.earliest_minute >= self.latest_minute):
            raise ValueError("the earliest time must be before the latest")
        if not self.teams and not self.people:
            raise ValueError("choose at least one team or person to attend")
        return self


class Status(StrEnum):
    QUEUED = "queued"
    SEARCHING = "searching"
    BOOKED = "booked"
    NEEDS_REVIEW = "needs_review"
    CANCELLED = "cancelled"
    HELD = "held"  # found and held tentatively, waiting for the requester's Book (auto_schedule = false)
    RELEASED = "released"  # a hold that was let go (Another time, or its timeout)


class BookedSlot(_Frozen):
    """A held or booked :class:`~services.domain.slots.Placement` as stored and shown."""

    occurrence: int
    session: int
    start: datetime
    end: datetime
    attendees: tuple[str, ...]
    facilitator: str | None
    room_id: str | None
    impact: float  # added understaffing, agent-intervals
    room_name: str | None = None  # what people read (plans stored before it existed show the id)

    @classmethod
    def of(cls, placement: Placement, room_name: str | None = None) -> BookedSlot:
        """The stored form of a search's placement (grid indices dropped, impact to 3 decimals)."""
        return cls(occurrence=placement.occurrence, session=placement.session, start=placement.start,
                   end=placement.end, attendees=placement.attendees, facilitator=placement.facilitator,
                   room_id=placement.room_id, impact=round(placement.impact, 3), room_name=room_name)


class Plan(_Frozen):
    """The search's answer for a request, stored before any write-back so a retry resumes it."""

    request_id: str
    slots: tuple[BookedSlot, ...]
    why: tuple[str, ...]  # one explanation line per slot


class Progress(_Frozen):
    request_id: str
    status: Status
    text: str
    slots: tuple[BookedSlot, ...] = ()
    why: tuple[str, ...] = ()
    reason: Reason | None = None
    hold_until: datetime | None = None  # status HELD: Book before this
    time_zone: str | None = None  # the unit's: times are shown in it, named


class WorkItem(_Frozen):
    """A request the search could not place, waiting for a scheduler."""

    request: BookingRequest
    reason: Reason
    detail: str
    added_at: datetime
    attempts: int = 1


class WorkAction(StrEnum):
    CANCELLED = "cancelled"
    RETRIED = "retried"
    RETRIED_RELAXED = "retried_relaxed"


class WorkOutcome(_Frozen):
    """What a scheduler did with a work item, kept so a second click can say it instead of acting."""

    request_id: str
    action: WorkAction
    by: str | None = None  # Slack user id (None: recorded before outcomes were kept)
    at: datetime | None = None
    new_request_id: str | None = None  # the attempt queued by a retry
    #: The attempt itself, kept with the outcome so a retry cut short by a crash is finished later.
    retry: BookingRequest | None = None


class Register(_Frozen):
    """Attendance register of one booked activity (one per request)."""

    request_id: str
    title: str
    type_name: str
    facilitator: str | None
    sessions: tuple[BookedSlot, ...]
    attendees: tuple[tuple[str, str], ...]  # (agent id, name)
    attended: tuple[str, ...] = ()
    created_at: datetime
    cancelled_at: datetime | None = None  # the activity was cancelled (the register stays, marked)
    cancelled_by: str | None = None
    revision: int = 0  # raised by each reschedule (``sessions`` are the current times)


class Hold(_Frozen):
    """A slot found for a type with ``auto_schedule = false``: reserved for the requester until ``expires_at``."""

    request_id: str
    requester: str
    mu_id: str
    title: str
    slots: tuple[BookedSlot, ...]
    expires_at: datetime


class HoldAction(StrEnum):
    BOOKED = "booked"
    ANOTHER_TIME = "another_time"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class HoldOutcome(_Frozen):
    """What happened to a hold: the first of Book / Another time / Cancel / the timeout wins."""

    request_id: str
    action: HoldAction
    by: str | None = None
    at: datetime
    new_request_id: str | None = None  # the new attempt queued by Another time
    #: The attempt itself, kept so Another time cut short by a crash is finished by the next click.
    retry: BookingRequest | None = None


class ChangeAction(StrEnum):
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"


class ChangeOutcome(_Frozen):
    """A Cancel or Reschedule of a booked activity, recorded per revision (first click wins)."""

    request_id: str
    revision: int  # the revision the click was made on
    action: ChangeAction
    by: str | None = None
    at: datetime
    new_revision: int | None = None  # a reschedule's result


class Booked(_Frozen):
    """One of the caller's upcoming bookings, as ``/book-meeting list`` shows it."""

    request: BookingRequest
    revision: int
    slots: tuple[BookedSlot, ...]
    time_zone: str | None = None


class AttendanceMark(_Frozen):
    """Whether one attendee came, and who said so (the facilitator, after the session)."""

    agent_id: str
    attended: bool
    by: str  # Slack user id (or "cli:<name>")
    at: datetime
