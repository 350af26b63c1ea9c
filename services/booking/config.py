"""The ``[booking]`` section of the organisation config: meeting types, rooms, search parameters.

```toml
[booking]
horizon = "28d"                  # how far ahead a request may be placed
default_type = "team_meeting"

[booking.search.default]         # a search profile; meeting types pick one
step = "15m"                     # starts on the quarter hour
absorb_breaks_from = "2h"        # activities this long may replace the breaks they cover
max_added_per_interval = 3.0     # most added understaffing (agents) in any interval
max_team_share = 0.5             # most of a team off the queue at once
preferred_time = "10:00"         # soft preference (optional)

[booking.types.team_meeting]
name = "Team meeting"
category = "Meeting"             # WFM activity category written back
activity_code = ""               # WFM activity code id (optional)
duration = "30m"
facilitator_role = "supervisor"  # supervisor | trainer | any | none
room = true
min_attendees = 2
max_attendees = 30
earliest = "09:00"
latest = "16:00"
days = ["Mon", "Tue", "Wed", "Thu", "Fri"]
search = "default"
no_forecast = "review"           # no WFM forecast for the period: review | availability_only

[booking.locations.hq]
name = "Head office"
rooms.blue = { name = "Blue room", capacity = 12, equipment = ["screen"], mailbox = "blue@example.com" }
```
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from services.domain.durations import format_duration, parse_duration
from services.domain.slots import Room, SearchParams
from services.domain.states import ActivityCategory, normalize_category


def _duration(value: Any) -> Any:
    if isinstance(value, bool | int | float):  # pydantic would read 5 as five seconds: say which unit instead
        raise ValueError(f"{value!r} is a bare number; write a duration with its unit, like \"{value}m\" or "
                         f"\"{value}s\"")
    return parse_duration(value) if isinstance(value, str) else value


# Durations as written in the config (90s, 5m, 1h). ``services.config`` uses this one too (it imports
# this module for its ``booking`` field).
Duration = Annotated[timedelta, BeforeValidator(_duration)]

GRID = timedelta(minutes=15)  # the booking grid: WFM schedules in 15-minute intervals
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[^@\s,;<>\"]+@{_LABEL}(?:\.{_LABEL})*$")


def check_email(value: str) -> str:
    """``name@example.com``; a display name, a list or a missing domain is refused."""
    if not _EMAIL.match(value.strip()):
        raise ValueError(f"{value!r} is not an email address; write it like name@example.com")
    return value.strip()


def check_grid_steps(value: timedelta, what: str) -> timedelta:
    """A length the 15-minute grid can place: positive and a whole number of steps."""
    if value <= timedelta(0) or value % GRID:
        raise ValueError(f"{what} must be a whole number of 15-minute grid steps (15m, 30m, 1h...), "
                         f"got {format_duration(value)}")
    return value

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_CLOCK = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


def parse_clock(text: str) -> int:
    """``"09:30"`` -> 570 minutes after midnight (``"24:00"`` allowed as the end of the day)."""
    match = _CLOCK.match(text.strip())
    if not match or (int(match.group(1)) == 24 and match.group(2) != "00"):
        raise ValueError(f"{text!r} is not a time of day; write it like 09:30")
    return int(match.group(1)) * 60 + int(match.group(2))


def parse_days(names: list[str]) -> frozenset[int]:
    out = set()
    for name in names:
        key = name.strip()[:3].title()
        if key not in DAY_NAMES:
            raise ValueError(f"{name!r} is not a weekday; use Mon, Tue, ... Sun")
        out.add(DAY_NAMES.index(key))
    return frozenset(out)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SearchProfile(_Section):
    step: Duration = timedelta(minutes=15)
    absorb_breaks_from: Duration | None = timedelta(hours=2)
    max_added_per_interval: float | None = Field(default=None, ge=0)
    max_team_share: float | None = Field(default=None, gt=0, le=1)
    preferred_time: str | None = None
    alternatives: int = Field(default=3, ge=0, le=10)

    @field_validator("preferred_time")
    @classmethod
    def _clock(cls, value: str | None) -> str | None:
        if value is not None:
            parse_clock(value)
        return value

    @model_validator(mode="after")
    def _step(self) -> SearchProfile:
        minutes = self.step.total_seconds() / 60
        if minutes < 15 or minutes % 15 or 1440 % minutes:
            raise ValueError("step must be a multiple of 15m that divides a day (15m, 30m, 1h...)")
        return self

    def params(self, *, relaxed: bool = False) -> SearchParams:
        """The engine's parameters; ``relaxed`` drops the service limits (the scheduler's "retry relaxed")."""
        absorb = None if self.absorb_breaks_from is None else int(self.absorb_breaks_from.total_seconds() // 60)
        return SearchParams(
            step_minutes=int(self.step.total_seconds() // 60),
            absorb_breaks_from_minutes=absorb,
            max_added_per_interval=None if relaxed else self.max_added_per_interval,
            max_team_share=None if relaxed else self.max_team_share,
            alternatives=self.alternatives,
        )

    @property
    def preferred_minute(self) -> int | None:
        return None if self.preferred_time is None else parse_clock(self.preferred_time)


FacilitatorRole = Literal["supervisor", "trainer", "any", "none"]
#: No forecast for the period: send the request to the manual queue, or place it on availability alone.
NoForecastPolicy = Literal["review", "availability_only"]


class MeetingType(_Section):
    name: str
    category: str = "Meeting"
    activity_code: str = ""
    duration: Duration = timedelta(minutes=30)
    facilitator_role: FacilitatorRole = "supervisor"
    room: bool = False
    equipment: list[str] = []
    min_attendees: int = Field(default=1, ge=0)
    max_attendees: int = Field(default=50, ge=1)
    earliest: str = "08:00"
    latest: str = "17:00"
    days: list[str] = list(DAY_NAMES[:5])
    search: str = "default"
    split_sessions: bool = False
    window: Duration = timedelta(days=14)  # default date range when the requester gives none
    no_forecast: NoForecastPolicy = "review"
    #: False: the slot found is held and proposed to the requester (Book / Another time / Cancel).
    auto_schedule: bool = True

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        if normalize_category(value) is None:
            raise ValueError(f"unknown activity category {value!r}; use one of "
                             + ", ".join(c.value for c in ActivityCategory))
        return value

    @model_validator(mode="after")
    def _check(self) -> MeetingType:
        if parse_clock(self.earliest) >= parse_clock(self.latest):
            raise ValueError("earliest must be before latest")
        parse_days(self.days)
        if self.min_attendees > self.max_attendees:
            raise ValueError("min_attendees is larger than max_attendees")
        minutes = self.duration.total_seconds() / 60
        if minutes <= 0 or minutes % 15:
            raise ValueError("duration must be a positive multiple of 15m")
        return self

    @property
    def activity_category(self) -> ActivityCategory:
        category = normalize_category(self.category)
        assert category is not None  # validated
        return category


class RoomConfig(_Section):
    name: str
    capacity: int = Field(ge=1)
    equipment: list[str] = []
    mailbox: str | None = None  # the room's mailbox when Microsoft Graph books rooms

    @field_validator("mailbox")
    @classmethod
    def _mailbox(cls, value: str | None) -> str | None:
        return None if value is None else check_email(value)


class LocationConfig(_Section):
    name: str
    rooms: dict[str, RoomConfig] = {}


class WorkingHours(_Section):
    """When facilitators without a WFM schedule (managers, trainers) are available."""

    start: str = "08:00"
    end: str = "17:00"
    days: list[str] = list(DAY_NAMES[:5])

    @model_validator(mode="after")
    def _check(self) -> WorkingHours:
        if parse_clock(self.start) >= parse_clock(self.end):
            raise ValueError("start must be before end")
        parse_days(self.days)
        return self


def _default_types() -> dict[str, MeetingType]:
    return {
        "team_meeting": MeetingType(name="Team meeting", room=True, min_attendees=2, earliest="09:00",
                                    latest="16:00", search="team"),
        "one_to_one": MeetingType(name="1:1 coaching", category="Meeting", min_attendees=1, max_attendees=1),
        "training": MeetingType(name="Training", category="Training", duration=timedelta(hours=2),
                                facilitator_role="trainer", room=True, split_sessions=True, search="training"),
    }


def _default_search() -> dict[str, SearchProfile]:
    # A whole-team meeting takes the whole team off the queue: no team-share limit for it.
    return {"default": SearchProfile(max_added_per_interval=3.0, max_team_share=0.5),
            "team": SearchProfile(),
            "training": SearchProfile(max_added_per_interval=6.0, max_team_share=0.75)}


class SelfPacedItem(_Section):
    """A self-paced training or e-learning item an agent may start alone when the floor has surplus."""

    name: str = Field(min_length=1)
    length: Duration = timedelta(minutes=30)
    audience: list[str] = []  # team ids; empty: every team
    category: str = "Training"

    @field_validator("length")
    @classmethod
    def _length(cls, value: timedelta) -> timedelta:
        return check_grid_steps(value, "length")


class BookingConfig(_Section):
    horizon: Duration = timedelta(days=28)
    default_type: str = "team_meeting"
    training_type: str = "training"  # what /book-training opens (falls back to default_type)
    trainers: list[str] = []  # person ids (see [people]) who may facilitate trainings
    facilitator_hours: WorkingHours = WorkingHours()
    absorbable: list[str] = ["Break", "Meal"]  # activity categories a long activity may replace
    requirement_slack: float = Field(default=1.06, gt=0.5, lt=3.0)  # seeded requirement when no forecast
    types: dict[str, MeetingType] = Field(default_factory=_default_types)
    search: dict[str, SearchProfile] = Field(default_factory=_default_search)
    locations: dict[str, LocationConfig] = {}
    coaching_within: Duration = timedelta(days=5)  # the coaching tier books within this many days
    recurring_period: Duration = timedelta(days=7)  # templates are re-run for each new schedule period
    schedulers: list[str] = []  # person ids (see [people]) who work the manual queue; none: it fails closed
    hold_timeout: Duration = timedelta(minutes=30)  # how long a tentative hold waits for Book
    self_paced: dict[str, SelfPacedItem] = {}  # offered to idle agents when the floor has surplus

    @field_validator("horizon")
    @classmethod
    def _horizon(cls, value: timedelta) -> timedelta:
        return check_grid_steps(value, "horizon")

    @model_validator(mode="after")
    def _check(self) -> BookingConfig:
        if "training_type" in self.model_fields_set and self.training_type not in self.types:
            raise ValueError(f"training_type: no meeting type {self.training_type!r} under [booking.types]")
        offered = {item for location in self.locations.values() for room in location.rooms.values()
                   for item in room.equipment}
        for type_id, meeting in self.types.items():
            if self.locations and meeting.room and (lacking := set(meeting.equipment) - offered):
                raise ValueError(f"types.{type_id}.equipment: no room under [booking.locations] has "
                                 f"{', '.join(sorted(lacking))}")
            if meeting.search not in self.search:
                raise ValueError(f"types.{type_id}.search: no search profile {meeting.search!r} under "
                                 "[booking.search]")
        if self.hold_timeout <= timedelta(0):
            raise ValueError("hold_timeout must be positive (e.g. 30m)")
        if self.default_type not in self.types:
            raise ValueError(f"default_type: no meeting type {self.default_type!r} under [booking.types]")
        for category in self.absorbable:
            if normalize_category(category) is None:
                raise ValueError(f"absorbable: unknown activity category {category!r}")
        seen: dict[str, str] = {}
        for loc_id, location in self.locations.items():
            for room_id in location.rooms:
                if room_id in seen:
                    raise ValueError(f"locations.{loc_id}.rooms.{room_id}: room id already used in "
                                     f"locations.{seen[room_id]}")
                seen[room_id] = loc_id
        return self

    def meeting_type(self, type_id: str) -> MeetingType:
        try:
            return self.types[type_id]
        except KeyError:
            raise ValueError(f"unknown meeting type {type_id!r}; choose one of {', '.join(self.types)}") from None

    def profile(self, type_id: str) -> SearchProfile:
        return self.search[self.meeting_type(type_id).search]

    def rooms(self) -> list[Room]:
        return [Room(room_id, room.name, room.capacity, frozenset(room.equipment), loc_id)
                for loc_id, location in self.locations.items() for room_id, room in location.rooms.items()]

    def room_config(self, room_id: str) -> RoomConfig | None:
        for location in self.locations.values():
            if room_id in location.rooms:
                return location.rooms[room_id]
        return None

    @property
    def absorbable_categories(self) -> frozenset[ActivityCategory]:
        return frozenset(c for c in (normalize_category(x) for x in self.absorbable) if c is not None)
