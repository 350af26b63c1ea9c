"""What a slot search is asked, and what it answers.

Requests are written in calendar terms (dates, minutes of the day, a duration); the engine turns
them into grid intervals. Every unplaceable request gets a :class:`Reason` a scheduler can act on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import IntEnum, StrEnum
from typing import Literal

from services.domain.states import ActivityCategory


class SlotState(IntEnum):
    """What an agent is doing in one interval, as far as placing a new activity is concerned.

    The values are ordered by how much they block: when two calendar entries cover the same
    interval, the larger one wins.
    """

    OFF = 0  # not on shift
    WORK = 1  # productive (on queue or overwritable work): a new activity may replace it
    BREAK = 2  # break or meal: absorbed by a long activity, blocks a short one
    BUSY = 3  # fixed activity (meeting, training, admin, something we booked)
    ABSENT = 4  # time off


DEFAULT_ABSORBABLE = frozenset({ActivityCategory.BREAK, ActivityCategory.MEAL})


def state_for_category(category: ActivityCategory, *,
                       absorbable: frozenset[ActivityCategory] = DEFAULT_ABSORBABLE,
                       overwritable: frozenset[ActivityCategory] = frozenset({ActivityCategory.ON_QUEUE_WORK}),
                       ) -> SlotState:
    """How a scheduled activity of ``category`` constrains a new placement."""
    if category in overwritable:
        return SlotState.WORK
    if category in absorbable:
        return SlotState.BREAK
    if category in (ActivityCategory.TIME_OFF, ActivityCategory.UNAVAILABLE):
        return SlotState.ABSENT
    if category is ActivityCategory.UNSCHEDULED:
        return SlotState.OFF
    return SlotState.BUSY


@dataclass(frozen=True, slots=True)
class Room:
    id: str
    name: str
    capacity: int
    equipment: frozenset[str] = frozenset()
    location: str = ""


Frequency = Literal["daily", "weekly", "monthly"]


@dataclass(frozen=True, slots=True)
class Recurrence:
    """Repeat every ``every`` days/weeks/months; each occurrence lands inside its own period.

    ``min_gap_days`` keeps two consecutive occurrences at least that many calendar days apart (so a
    monthly 1:1 is not held on the 30th and again on the 4th). The series ends at ``until`` or after
    ``count`` occurrences, whichever comes first, and never after the request's window.
    """

    frequency: Frequency
    every: int = 1
    min_gap_days: int = 0
    count: int | None = None
    until: date | None = None

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError("recurrence 'every' must be at least 1")
        if self.min_gap_days < 0:
            raise ValueError("minimum gap between occurrences cannot be negative")
        if self.count is not None and self.count < 1:
            raise ValueError("recurrence count must be at least 1")


@dataclass(frozen=True, slots=True)
class SearchParams:
    """Search parameters of one meeting type (see ``[booking.search]`` in the config)."""

    step_minutes: int = 15
    """Allowed start times are multiples of this many minutes past midnight."""
    absorb_breaks_from_minutes: int | None = 120
    """Activities at least this long may replace the breaks they cover; ``None``: never."""
    max_added_per_interval: float | None = None
    """Most added understaffing (agents) tolerated in any one interval; ``None``: no limit."""
    max_team_share: float | None = None
    """Most of a team (share, 0..1) that may be in off-queue activities at once; ``None``: no limit."""
    alternatives: int = 3
    """How many better-looking but ruled-out times an explanation lists."""


@dataclass(frozen=True, slots=True)
class SlotRequest:
    id: str
    kind: str
    attendees: tuple[str, ...]
    duration_minutes: int
    window_start: date
    window_end: date  # inclusive
    facilitator: str | None = None
    room_needed: bool = False
    equipment: frozenset[str] = frozenset()
    location: str | None = None
    earliest_minute: int = 0  # earliest start, local minute of day
    latest_minute: int = 1440  # latest end, local minute of day
    weekdays: frozenset[int] = frozenset(range(7))  # Monday = 0
    preferred_minute: int | None = None
    recurrence: Recurrence | None = None
    facilitator_in_room: bool = True
    split_sessions: bool = False  # a training too big for any room may be split into sessions
    params: SearchParams = field(default_factory=SearchParams)
    priority: int = 2

    def __post_init__(self) -> None:
        if self.duration_minutes <= 0:
            raise ValueError("duration must be positive")
        if self.window_end < self.window_start:
            raise ValueError("window ends before it starts")
        if not 0 <= self.earliest_minute < self.latest_minute <= 1440:
            raise ValueError("times of day must satisfy 0 <= earliest < latest <= 24:00")
        if not self.attendees and self.facilitator is None:
            raise ValueError("a request needs at least one attendee or a facilitator")

    @property
    def room_capacity_needed(self) -> int:
        extra = 1 if (self.facilitator is not None and self.facilitator_in_room
                      and self.facilitator not in self.attendees) else 0
        return len(self.attendees) + extra


class Reason(StrEnum):
    """Why a request went to the manual work queue."""

    OUTSIDE_WINDOW = "outside_window"
    OUTSIDE_SHIFTS = "outside_shifts"
    ATTENDEE_UNAVAILABLE = "attendee_unavailable"
    NO_COMMON_TIME = "no_common_time"
    NO_FACILITATOR_TIME = "no_facilitator_time"
    NO_ROOM_BIG_ENOUGH = "no_room_big_enough"
    NO_ROOM_FREE = "no_room_free"
    IMPACT_ABOVE_LIMIT = "impact_above_limit"
    TEAM_SHARE_LIMIT = "team_share_limit"
    RECURRENCE_IMPOSSIBLE = "recurrence_impossible"
    UNKNOWN_PERSON = "unknown_person"
    INVALID_REQUEST = "invalid_request"
    NO_FORECAST = "no_forecast"


REASON_TEXT: dict[Reason, str] = {
    Reason.OUTSIDE_WINDOW: "no start inside the date range and times of day",
    Reason.OUTSIDE_SHIFTS: "the attendees are not on shift in the date range",
    Reason.ATTENDEE_UNAVAILABLE: "an attendee is never available",
    Reason.NO_COMMON_TIME: "the attendees are never all free at the same time",
    Reason.NO_FACILITATOR_TIME: "no facilitator time",
    Reason.NO_ROOM_BIG_ENOUGH: "no room big enough",
    Reason.NO_ROOM_FREE: "no suitable room is free",
    Reason.IMPACT_ABOVE_LIMIT: "every possible time costs more service than the limit",
    Reason.TEAM_SHARE_LIMIT: "too many of the team would be off the queue at once",
    Reason.RECURRENCE_IMPOSSIBLE: "the occurrences cannot keep the minimum gap",
    Reason.UNKNOWN_PERSON: "an attendee or facilitator is not in the WFM data",
    Reason.INVALID_REQUEST: "the request cannot be searched as written",
    Reason.NO_FORECAST: "no WFM forecast covers the period, so the service impact cannot be judged",
}


@dataclass(frozen=True, slots=True)
class Placement:
    request_id: str
    occurrence: int
    session: int
    start_index: int
    length: int  # intervals
    start: datetime
    end: datetime
    attendees: tuple[str, ...]
    facilitator: str | None
    room_id: str | None
    impact: float  # added understaffing, agent-intervals

    @property
    def end_index(self) -> int:
        return self.start_index + self.length


@dataclass(frozen=True, slots=True)
class IntervalImpact:
    start: datetime
    required: float
    scheduled: float  # before the placement
    pulled: float
    added: float  # added understaffing in this interval


@dataclass(frozen=True, slots=True)
class Alternative:
    start: datetime
    impact: float
    why_not: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Explanation:
    impact: float
    intervals: tuple[IntervalImpact, ...]
    runner_up: Alternative | None
    ruled_out: tuple[Alternative, ...]
    candidates: int

    def summary(self) -> str:
        hours = self.impact / 4
        text = [f"adds {hours:.2f} agent-hours of understaffing" if self.impact > 1e-9
                else "adds no understaffing"]
        text.append(f"best of {self.candidates} possible start times")
        if self.runner_up is not None:
            text.append(f"runner-up {self.runner_up.start:%a %d %b %H:%M} "
                        f"({self.runner_up.impact / 4:.2f} agent-hours)")
        for alt in self.ruled_out:
            text.append(f"{alt.start:%a %H:%M} would cost {alt.impact / 4:.2f} but {'; '.join(alt.why_not)}")
        return "; ".join(text)


@dataclass(frozen=True, slots=True)
class Outcome:
    request_id: str
    placements: tuple[Placement, ...] = ()
    explanations: tuple[Explanation, ...] = ()
    reason: Reason | None = None
    detail: str = ""

    @property
    def placed(self) -> bool:
        return self.reason is None and bool(self.placements)

    @property
    def impact(self) -> float:
        return sum(p.impact for p in self.placements)
