"""The simulator's call curve with a quiet period and a peak: calls drop below the requirement the
schedule was built for (the floor has surplus), then rise above it (trainees are needed back)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from services.booking.demand import Demand, DemandSource
from services.domain.slots import AgentCalendar, TimeGrid


@dataclass(frozen=True, slots=True)
class DemandWindow:
    """Between ``start`` and ``end`` the requirement is ``factor`` times the curve's (0.6: a quiet period)."""

    start: datetime
    end: datetime
    factor: float


class ShapedDemand:
    def __init__(self, inner: DemandSource, windows: Sequence[DemandWindow]) -> None:
        self.inner, self.windows = inner, tuple(windows)

    async def demand(self, mu_id: str, grid: TimeGrid, published: Sequence[AgentCalendar]) -> Demand:
        found = await self.inner.demand(mu_id, grid, published)
        required = found.required.copy()
        step = timedelta(minutes=grid.minutes)
        starts = [grid.start + i * step for i in range(grid.intervals)]
        for window in self.windows:
            columns = [i for i, s in enumerate(starts) if window.start <= s < window.end]
            if columns:
                required[:, columns] = np.round(required[:, columns] * window.factor, 2)
        names = ", ".join(f"x{w.factor:g} {w.start:%H:%M}-{w.end:%H:%M}" for w in self.windows)
        return replace(found, required=required, provenance=f"{found.provenance}; shaped {names}")


def quiet_then_peak(day_start: datetime) -> list[DemandWindow]:
    """The demo's shape: quiet from 2 h into the day for 45 min (x0.6), then a peak for 45 min (x1.4)."""
    return [DemandWindow(day_start + timedelta(hours=2), day_start + timedelta(hours=2, minutes=45), 0.6),
            DemandWindow(day_start + timedelta(hours=2, minutes=45), day_start + timedelta(hours=3, minutes=30), 1.4)]
