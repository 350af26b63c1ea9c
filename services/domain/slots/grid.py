"""The 15-minute time grid every slot-search array is indexed by.

Interval ``t`` covers ``[start + t*minutes, start + (t+1)*minutes)``. Times of day, weekdays and
calendar days are those of the management unit's time zone, computed once per grid so a daylight
saving change (a 92- or 100-interval day) is handled without special cases in the search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, eq=False)
class TimeGrid:
    start: datetime
    intervals: int
    tz: str = "UTC"
    minutes: int = 15
    day: NDArray[np.int32] = field(init=False, repr=False)
    """Local calendar day of each interval, counted from the grid's first local day."""
    minute: NDArray[np.int32] = field(init=False, repr=False)
    """Local minute of day (0..1439) at which each interval starts."""
    weekday: NDArray[np.int8] = field(init=False, repr=False)
    """Local weekday of each interval, Monday = 0."""
    first_day: date = field(init=False)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("TimeGrid needs a timezone-aware start")
        if self.intervals <= 0 or self.minutes <= 0 or 1440 % self.minutes:
            raise ValueError("TimeGrid needs a positive number of intervals that divide a day evenly")
        zone = ZoneInfo(self.tz)
        local_start = self.start.astimezone(zone)
        if (local_start.minute % self.minutes) or local_start.second or local_start.microsecond:
            raise ValueError(f"TimeGrid start must be aligned to {self.minutes} minutes")
        step = timedelta(minutes=self.minutes)
        utc_start = self.start.astimezone(UTC)
        days = np.empty(self.intervals, dtype=np.int32)
        minutes = np.empty(self.intervals, dtype=np.int32)
        weekdays = np.empty(self.intervals, dtype=np.int8)
        first = local_start.date()
        if self.tz == "UTC":  # fast path: no offsets to look up
            offsets = np.arange(self.intervals, dtype=np.int64) * self.minutes + (
                local_start.hour * 60 + local_start.minute)
            days[:] = offsets // 1440
            minutes[:] = offsets % 1440
            weekdays[:] = (first.weekday() + days) % 7
        else:
            for t in range(self.intervals):
                local = (utc_start + t * step).astimezone(zone)
                days[t] = (local.date() - first).days
                minutes[t] = local.hour * 60 + local.minute
                weekdays[t] = local.weekday()
        object.__setattr__(self, "day", days)
        object.__setattr__(self, "minute", minutes)
        object.__setattr__(self, "weekday", weekdays)
        object.__setattr__(self, "first_day", first)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def end(self) -> datetime:
        return self.time_of(self.intervals)

    def time_of(self, index: int) -> datetime:
        """Start of interval ``index`` as a local, timezone-aware datetime."""
        return (self.start.astimezone(UTC) + timedelta(minutes=self.minutes * index)).astimezone(self.zone)

    def index_of(self, when: datetime, *, ceil: bool = False) -> int:
        """The interval containing ``when`` (or the first starting at/after it with ``ceil``), clipped."""
        if when.tzinfo is None:
            raise ValueError("naive datetime given to the time grid")
        seconds = (when - self.start).total_seconds()
        size = self.minutes * 60
        index = int(-(-seconds // size)) if ceil else int(seconds // size)
        return max(0, min(self.intervals, index))

    def day_number(self, day: date) -> int:
        return (day - self.first_day).days

    def date_of(self, day_number: int) -> date:
        return self.first_day + timedelta(days=day_number)

    def day_span(self, first: date, last: date) -> tuple[int, int]:
        """Interval range ``[lo, hi)`` of the local days ``first..last`` (inclusive), clipped to the grid."""
        lo = int(np.searchsorted(self.day, self.day_number(first), side="left"))
        hi = int(np.searchsorted(self.day, self.day_number(last), side="right"))
        return lo, max(lo, hi)

    @property
    def days(self) -> int:
        return int(self.day[-1]) + 1
