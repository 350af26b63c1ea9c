"""The time grid: local days and minutes, including a daylight-saving change."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from services.domain.slots import TimeGrid


def test_utc_grid():
    grid = TimeGrid(datetime(2026, 6, 1, tzinfo=UTC), 96 * 2)
    assert grid.days == 2
    assert grid.minute[37] == 9 * 60 + 15
    assert grid.weekday[100] == 1  # Tuesday
    assert grid.day_span(date(2026, 6, 2), date(2026, 6, 2)) == (96, 192)
    assert grid.index_of(datetime(2026, 6, 1, 9, 20, tzinfo=UTC)) == 37
    assert grid.index_of(datetime(2026, 6, 1, 9, 20, tzinfo=UTC), ceil=True) == 38
    assert grid.index_of(datetime(2030, 1, 1, tzinfo=UTC)) == grid.intervals  # clipped


def test_daylight_saving_day_has_92_intervals():
    zone = ZoneInfo("Europe/London")
    grid = TimeGrid(datetime(2026, 3, 28, tzinfo=zone), 96 * 3, tz="Europe/London")
    lo, hi = grid.day_span(date(2026, 3, 29), date(2026, 3, 29))
    assert hi - lo == 92
    assert grid.minute[lo + 4] == 2 * 60  # 01:00 does not exist that night
    assert grid.time_of(lo + 4).hour == 2
    assert np.all(np.diff(grid.day) >= 0)


@pytest.mark.parametrize("bad", [
    {"start": datetime(2026, 6, 1), "intervals": 10},
    {"start": datetime(2026, 6, 1, 0, 5, tzinfo=UTC), "intervals": 10},
    {"start": datetime(2026, 6, 1, tzinfo=UTC), "intervals": 0},
])
def test_bad_grids_are_refused(bad):
    with pytest.raises(ValueError):
        TimeGrid(**bad)
