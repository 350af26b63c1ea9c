"""Seeded staffing requirements: call volumes shaped like a contact center's day, turned into agents.

Used by the benchmark's instance generator and by the booking adapter when the WFM source has
schedules but no forecast (the simulator). Volumes follow a double hump (peaks around 10:30 and
14:30, a lunch dip around 12:30) times a day-of-week factor times lognormal noise; each interval's
requirement is the Erlang C staffing for its queue's service goal. The overall level is calibrated
so that scheduled staff is ``slack`` times the requirement on average, which leaves the peaks
short, as in a real schedule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.domain.slots.erlang import required_agents
from services.domain.slots.grid import TimeGrid

DAY_FACTORS = (1.08, 1.02, 1.00, 0.98, 0.97, 0.90, 0.85)  # Monday first


@dataclass(frozen=True, eq=False)
class Demand:
    queues: tuple[str, ...]
    calls: NDArray[np.float64]  # (queues, T) offered calls per interval
    aht_s: NDArray[np.float64]  # (queues,)
    target_s: NDArray[np.float64]  # (queues,) answer-time target
    goal: NDArray[np.float64]  # (queues,) share answered within target
    required: NDArray[np.float64]  # (queues, T) agents


def day_shape(minutes: NDArray[np.int32], open_from: int = 7 * 60, open_to: int = 21 * 60) -> NDArray[np.float64]:
    """Relative call arrivals by minute of day: zero outside opening hours."""
    m = minutes.astype(np.float64) + 7.5
    curve = (0.30 + np.exp(-0.5 * ((m - 630) / 80) ** 2) + 0.85 * np.exp(-0.5 * ((m - 870) / 90) ** 2)
             - 0.30 * np.exp(-0.5 * ((m - 750) / 35) ** 2))
    curve = np.clip(curve, 0.05, None)
    return np.asarray(np.where((minutes >= open_from) & (minutes < open_to), curve, 0.0), dtype=np.float64)


def arrival_shape(grid: TimeGrid, rng: np.random.Generator, *, weekend_closed: bool,
                  open_from: int = 7 * 60, open_to: int = 21 * 60, noise: float = 0.05) -> NDArray[np.float64]:
    """One queue's relative arrivals per interval over the grid (unit mean over open intervals)."""
    shape = day_shape(grid.minute, open_from, open_to) * np.asarray(DAY_FACTORS)[grid.weekday]
    if weekend_closed:
        shape = np.where(grid.weekday >= 5, 0.0, shape)
    shape = shape * rng.lognormal(0.0, noise, size=grid.intervals)
    open_mean = shape[shape > 0].mean() if (shape > 0).any() else 1.0
    return np.asarray(shape / open_mean, dtype=np.float64)


def requirement(calls: NDArray[np.float64], aht_s: NDArray[np.float64], target_s: NDArray[np.float64],
                goal: NDArray[np.float64], interval_minutes: int) -> NDArray[np.float64]:
    load = calls * aht_s[:, None] / (interval_minutes * 60.0)
    return required_agents(load, aht_s[:, None], target_s[:, None], goal[:, None]).astype(np.float64)


def calibrate(shape: NDArray[np.float64], aht_s: NDArray[np.float64], target_s: NDArray[np.float64],
              goal: NDArray[np.float64], scheduled: NDArray[np.float64], slack: float,
              interval_minutes: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Scale ``shape`` to calls so that scheduled / required over open intervals is ``slack``."""
    open_ = shape > 0
    staffed = float(scheduled[open_].sum())
    if staffed <= 0 or not open_.any():
        zeros = np.zeros_like(shape)
        return zeros, zeros
    per_agent = interval_minutes * 60.0 / aht_s[:, None]  # calls one agent can take per interval

    def ratio(scale: float) -> tuple[float, NDArray[np.float64], NDArray[np.float64]]:
        calls = shape * scale * per_agent
        req = requirement(calls, aht_s, target_s, goal, interval_minutes)
        return staffed / max(float(req[open_].sum()), 1e-9), calls, req

    lo, hi = 1e-3, float(staffed / open_.sum()) * 4 + 1
    for _ in range(40):  # bisection in log space; the ratio falls as the scale grows
        mid = (lo * hi) ** 0.5
        if ratio(mid)[0] > slack:
            lo = mid
        else:
            hi = mid
    _, calls, req = ratio(lo)
    return calls, req


def daily_requirement(grid: TimeGrid, scheduled: NDArray[np.float64], seed: int, *, slack: float = 1.06,
                      aht_s: float = 300.0, target_s: float = 20.0, goal: float = 0.80) -> NDArray[np.float64]:
    """A requirement for each queue that is stable per local day, whatever window is asked for.

    Each day's arrivals come from a generator seeded by (``seed``, queue, date), and are calibrated
    against that day's scheduled staff, so two searches over overlapping windows see the same
    numbers on the days they share.
    """
    required = np.zeros_like(scheduled)
    aht = np.array([aht_s])
    target = np.array([target_s])
    wanted = np.array([goal])
    for day in range(grid.days):
        columns = np.flatnonzero(grid.day == day)
        ordinal = grid.date_of(day).toordinal()
        for q in range(scheduled.shape[0]):
            rng = np.random.default_rng([seed, q, ordinal])
            minutes = grid.minute[columns]
            shape = day_shape(minutes) * DAY_FACTORS[int(grid.weekday[columns[0]])]
            shape = shape * rng.lognormal(0.0, 0.05, size=columns.size)
            if shape.sum() <= 0:
                continue
            shape = shape / shape[shape > 0].mean()
            _, req = calibrate(shape[None, :], aht, target, wanted, scheduled[q:q + 1, columns], slack,
                               grid.minutes)
            required[q, columns] = req[0]
    return required
