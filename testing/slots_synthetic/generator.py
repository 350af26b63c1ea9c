"""``generate``: a seeded instance, from its size class and seed (the same seed, the same instance)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from services.domain.slots.erlang import service_level
from services.domain.slots.grid import TimeGrid
from services.domain.slots.model import SlotRequest
from services.domain.slots.problem import SlotProblem
from services.domain.slots.recurrence import occurrence_periods
from services.domain.slots.staffing import Demand, arrival_shape
from testing.slots_synthetic.calendars import WORK, build_calendars, draw_team_sizes, team_patterns
from testing.slots_synthetic.instance import SIZES, Instance
from testing.slots_synthetic.planting import Planter
from testing.slots_synthetic.requests import draw_requests, plant_order, redraw


def generate(size: str, seed: int, *, slack: float = 1.06, peakiness: float = 0.10, tz: str = "Europe/London",
             first_day: date = date(2026, 6, 1)) -> Instance:
    """Build the ``size`` ("S", "M", "L", "XL") instance for ``seed`` (``first_day`` must be a Monday)."""
    spec = SIZES[size]
    if first_day.weekday() != 0:
        raise ValueError("instances start on a Monday")
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    r_team, r_shape, r_shift, r_fac, r_room, r_req, r_plant, r_inject = streams
    grid = TimeGrid(datetime.combine(first_day, time(0), ZoneInfo(tz)), spec.days * 96, tz)

    team_sizes = draw_team_sizes(r_team, spec)
    team_queue = r_team.permutation(np.arange(spec.teams) % spec.queues)
    closed = r_shape.permutation(np.array([True] * (spec.queues // 2) + [False] * (spec.queues - spec.queues // 2)))
    shape = np.stack([arrival_shape(grid, r_shape, weekend_closed=bool(c)) for c in closed])
    aht = r_shape.uniform(180.0, 420.0, size=spec.queues)
    target = np.where(np.arange(spec.queues) == 0, 30.0, 20.0)
    goal = np.where(np.arange(spec.queues) == 0, 0.90, 0.80)

    patterns = team_patterns(grid, shape, team_sizes, team_queue, slack)
    cal = build_calendars(grid, spec, r_shift, r_fac, r_room, team_sizes, team_queue, patterns)

    requests, injected = draw_requests(cal, spec, r_req, r_inject)
    planted: dict[str, tuple[tuple[int, str | None], ...]] = {}
    final: list[SlotRequest] = []
    plant = Planter(cal)
    for request in sorted(requests, key=plant_order):
        if request.id in injected:
            final.append(request)
            continue
        for attempt in range(400):
            spots = plant.plant(request, r_plant)
            if spots is not None:
                planted[request.id] = spots
                final.append(request)
                break
            request = redraw(cal, request, r_req, attempt)
        else:
            raise RuntimeError(f"could not plant {request.id}")

    arrival = {r.id: i for i, r in enumerate(requests)}
    bias = r_req.random(len(requests))
    ordered = sorted(final, key=lambda r: (bias[arrival[r.id]] * (0.5 if r.kind == "team_meeting" else 1.0),
                                           arrival[r.id]))

    weights = cal.weights
    scheduled = np.asarray(weights.T @ (cal.states == WORK).astype(np.float64), dtype=np.float64)
    required = _follow_schedule(shape, scheduled, slack, r_shape, peakiness)
    calls = _calls_for(required, aht, target, goal, grid.minutes)
    queues = tuple(f"q{q + 1}" for q in range(spec.queues))
    demand = Demand(queues, calls, aht, target, goal, required)
    problem = SlotProblem(
        grid=grid, queues=queues, required=required, scheduled=scheduled,
        agent_ids=tuple(cal.agent_ids), agent_teams=tuple(cal.agent_teams), states=cal.states, weights=weights,
        facilitator_ids=tuple(cal.fac_ids), facilitator_free=cal.fac_avail & ~cal.fac_busy,
        rooms=tuple(cal.rooms), room_free=cal.room_open & ~cal.room_busy)
    open_ = required > 0
    stats = {
        "sched_over_req": float(scheduled[open_].sum() / max(required[open_].sum(), 1)),
        "understaffed_share": float((required[open_] > scheduled[open_]).mean()) if open_.any() else 0.0,
        "occurrences": float(sum(len(occurrence_periods(r)) for r in ordered)),
    }
    return Instance(size, seed, problem, demand, tuple(ordered), injected, planted,
                    {t: tuple(cal.agent_ids[i] for i in rows) for t, rows in cal.team_rows.items()},
                    dict(cal.managers), stats)


def _follow_schedule(hump: NDArray[np.float64], scheduled: NDArray[np.float64], slack: float,
                     rng: np.random.Generator, peakiness: float) -> NDArray[np.float64]:
    """Required agents that follow the built schedule's coverage, sharpened by the double hump.

    Team-level shifts cannot follow a raw double hump closely (a handful of teams per queue and
    day), so the requirement is shaped like the schedule's hourly coverage (as a WFM schedule
    follows its forecast) times ``(hump / mean) ** peakiness`` and lognormal noise: the peaks come
    out short and the troughs over-covered. The level is set so that scheduled / required over
    the open intervals is ``slack``.
    """
    required = np.zeros_like(hump)
    for q in range(hump.shape[0]):
        smooth = scheduled[q]
        open_ = (hump[q] > 0) & (smooth >= 1.0)
        if not open_.any():
            continue
        factor = hump[q][open_] / hump[q][open_].mean()
        base = smooth[open_] * factor ** peakiness * rng.lognormal(0.0, 0.05, size=int(open_.sum()))
        staffed = float(scheduled[q][open_].sum())
        lo, hi = 0.01, 10.0
        for _ in range(50):  # the ratio falls as the level rises
            mid = (lo + hi) / 2
            if staffed / np.maximum(1.0, np.rint(mid * base)).sum() > slack:
                lo = mid
            else:
                hi = mid
        required[q][open_] = np.maximum(1.0, np.rint(lo * base))
    return required


def _calls_for(required: NDArray[np.float64], aht: NDArray[np.float64], target: NDArray[np.float64],
               goal: NDArray[np.float64], interval_minutes: int) -> NDArray[np.float64]:
    """Offered calls per interval whose Erlang C staffing is exactly ``required`` (the midpoint load)."""
    def highest_load(agents: NDArray[np.float64]) -> NDArray[np.float64]:
        lo, hi = np.zeros_like(agents), agents.copy()
        for _ in range(40):  # largest load that ``agents`` still serve at the goal
            mid = (lo + hi) / 2
            ok = service_level(agents, mid, aht[:, None], target[:, None]) >= goal[:, None]
            lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
        return lo
    top = highest_load(required)
    below = np.where(required > 1, highest_load(np.maximum(required - 1, 0)), 0.0)
    load = np.where(required > 0, (top + below) / 2, 0.0)
    return np.asarray(load * interval_minutes * 60.0 / aht[:, None], dtype=np.float64)
