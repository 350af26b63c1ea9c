"""Seeded synthetic contact centers with booking requests and a planted feasible solution.

This is the instance generator of the slot-search benchmark (``bench/slot_search.py``), written
after the benchmark's specification: teams with aligned shifts (8.5 h with a lunch and two
breaks, part-timers, people who deviate, admin blocks, absences), multi-skill agents,
managers and trainers with busy calendars, rooms with capacities and bookings, Erlang C
requirements calibrated to leave the peaks short, and a request mix of 1:1 coaching, team
meetings, trainings and ad hoc sessions (recurring ones in four-week horizons). Every feasible
request is *planted* at a random feasible time first, with the plants kept free of each other
(facilitator and room calendars are cleared at the planted slot when needed), so a full placement
is known to exist. A few requests are made infeasible on purpose, each for a known reason.

Only ``numpy.random.default_rng`` with one child generator per component: the same seed gives the
same instance, and :meth:`Instance.digest` proves it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from services.domain.slots.erlang import service_level
from services.domain.slots.grid import TimeGrid
from services.domain.slots.model import Reason, Recurrence, Room, SlotRequest, SlotState
from services.domain.slots.problem import SlotProblem
from services.domain.slots.recurrence import occurrence_periods
from services.domain.slots.sliding import all_over
from services.domain.slots.staffing import Demand, arrival_shape

GENERATOR_VERSION = "slots-synth-1.0"
ROOM_SIZES = (6, 8, 10, 12, 16, 20, 30)
_WORK, _BREAK, _BUSY, _ABSENT = (int(s) for s in (SlotState.WORK, SlotState.BREAK, SlotState.BUSY,
                                                  SlotState.ABSENT))


@dataclass(frozen=True, slots=True)
class SizeClass:
    agents: int
    days: int
    queues: int
    teams: int
    trainers: int
    rooms: int
    requests: int


SIZES = {
    "S": SizeClass(agents=100, days=7, queues=2, teams=7, trainers=2, rooms=4, requests=40),
    "M": SizeClass(agents=500, days=28, queues=4, teams=36, trainers=6, rooms=8, requests=200),
    "L": SizeClass(agents=1000, days=28, queues=6, teams=72, trainers=10, rooms=12, requests=400),
    "XL": SizeClass(agents=2000, days=28, queues=8, teams=144, trainers=20, rooms=24, requests=800),
}


@dataclass(eq=False)
class Instance:
    size: str
    seed: int
    problem: SlotProblem
    demand: Demand
    requests: tuple[SlotRequest, ...]  # arrival order
    injected: dict[str, Reason]
    planted: dict[str, tuple[tuple[int, str | None], ...]]  # request -> (start index, room) per occurrence
    team_members: dict[str, tuple[str, ...]]
    managers: dict[str, str]  # team -> manager
    stats: dict[str, float] = field(default_factory=dict)
    version: str = GENERATOR_VERSION

    @property
    def grid(self) -> TimeGrid:
        return self.problem.grid

    def digest(self) -> str:
        """SHA-256 of everything the instance says (arrays and requests, canonically ordered)."""
        h = hashlib.sha256(self.version.encode())
        p = self.problem
        for array in (p.required, p.scheduled, p.states, p.weights, p.facilitator_free, p.room_free,
                      self.demand.calls):
            h.update(np.ascontiguousarray(array).tobytes())
        meta = {
            "ids": [p.agent_ids, p.agent_teams, p.facilitator_ids, [(r.id, r.capacity) for r in p.rooms]],
            "requests": [_request_json(r) for r in self.requests],
            "injected": sorted((k, v.value) for k, v in self.injected.items()),
            "planted": sorted((k, [list(x) for x in v]) for k, v in self.planted.items()),
        }
        h.update(json.dumps(meta, sort_keys=True, separators=(",", ":")).encode())
        return h.hexdigest()


def _request_json(r: SlotRequest) -> dict[str, object]:
    rec = r.recurrence
    return {
        "id": r.id, "kind": r.kind, "att": list(r.attendees), "d": r.duration_minutes,
        "w": [r.window_start.isoformat(), r.window_end.isoformat()], "f": r.facilitator, "room": r.room_needed,
        "tod": [r.earliest_minute, r.latest_minute], "wd": sorted(r.weekdays), "pref": r.preferred_minute,
        "rec": None if rec is None else [rec.frequency, rec.every, rec.min_gap_days, rec.count],
        "prio": r.priority,
    }


@dataclass
class _Calendars:
    grid: TimeGrid
    states: NDArray[np.int8]
    weights: NDArray[np.float64]
    agent_ids: list[str]
    agent_teams: list[str]
    team_ids: list[str]
    team_rows: dict[str, NDArray[np.intp]]
    team_start: dict[str, int]  # minute of day
    agent_start: NDArray[np.int64]  # minute of day of each agent's shift start
    fac_ids: list[str]
    fac_avail: NDArray[np.bool_]
    fac_busy: NDArray[np.bool_]
    managers: dict[str, str]
    trainers: list[str]
    rooms: list[Room]
    room_open: NDArray[np.bool_]
    room_busy: NDArray[np.bool_]


def generate(size: str, seed: int, *, slack: float = 1.06, peakiness: float = 0.10, tz: str = "Europe/London",
             first_day: date = date(2026, 6, 1)) -> Instance:
    """Build the ``size`` ("S", "M", "L", "XL") instance for ``seed`` (``first_day`` must be a Monday)."""
    spec = SIZES[size]
    if first_day.weekday() != 0:
        raise ValueError("instances start on a Monday")
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    r_team, r_shape, r_shift, r_fac, r_room, r_req, r_plant, r_inject = streams
    grid = TimeGrid(datetime.combine(first_day, time(0), ZoneInfo(tz)), spec.days * 96, tz)

    team_sizes = _team_sizes(r_team, spec)
    team_queue = r_team.permutation(np.arange(spec.teams) % spec.queues)
    closed = r_shape.permutation(np.array([True] * (spec.queues // 2) + [False] * (spec.queues - spec.queues // 2)))
    shape = np.stack([arrival_shape(grid, r_shape, weekend_closed=bool(c)) for c in closed])
    aht = r_shape.uniform(180.0, 420.0, size=spec.queues)
    target = np.where(np.arange(spec.queues) == 0, 30.0, 20.0)
    goal = np.where(np.arange(spec.queues) == 0, 0.90, 0.80)

    patterns = _team_patterns(grid, shape, team_sizes, team_queue, slack)
    cal = _calendars(grid, spec, r_shift, r_fac, r_room, team_sizes, team_queue, patterns)

    requests, injected = _requests(cal, spec, r_req, r_inject)
    planted: dict[str, tuple[tuple[int, str | None], ...]] = {}
    final: list[SlotRequest] = []
    plant = _Planter(cal)
    for request in sorted(requests, key=_plant_order):
        if request.id in injected:
            final.append(request)
            continue
        for attempt in range(400):
            spots = plant.plant(request, r_plant)
            if spots is not None:
                planted[request.id] = spots
                final.append(request)
                break
            request = _redraw(cal, request, r_req, attempt)
        else:
            raise RuntimeError(f"could not plant {request.id}")

    arrival = {r.id: i for i, r in enumerate(requests)}
    bias = r_req.random(len(requests))
    ordered = sorted(final, key=lambda r: (bias[arrival[r.id]] * (0.5 if r.kind == "team_meeting" else 1.0),
                                           arrival[r.id]))

    weights = cal.weights
    scheduled = np.asarray(weights.T @ (cal.states == _WORK).astype(np.float64), dtype=np.float64)
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


# ---------------------------------------------------------------------------- people and shifts


def _team_sizes(rng: np.random.Generator, spec: SizeClass) -> NDArray[np.int64]:
    sizes = np.clip(np.rint(rng.normal(14, 3, spec.teams)), 8, 20).astype(np.int64)
    while sizes.sum() != spec.agents:
        i = int(rng.integers(spec.teams))
        step = 1 if sizes.sum() < spec.agents else -1
        if 8 <= sizes[i] + step <= 20:
            sizes[i] += step
    return sizes


@dataclass(frozen=True, slots=True)
class _Pattern:
    start_minute: int
    days_off: tuple[int, int]


def _team_patterns(grid: TimeGrid, shape: NDArray[np.float64], sizes: NDArray[np.int64],
                   queue_of: NDArray[np.int64], slack: float) -> list[_Pattern]:
    """Greedy: each team (largest first) takes the start time and days off covering the largest deficit."""
    queues = shape.shape[0]
    work_per_agent = grid.days * 5 / 7 * 30  # productive intervals of one full-timer over the horizon
    deficit = np.zeros_like(shape)
    for q in range(queues):
        headcount = float(sizes[queue_of == q].sum())
        total = shape[q].sum()
        if total > 0:
            deficit[q] = shape[q] / total * headcount * work_per_agent / slack
    options = [_Pattern(h * 60, (k, (k + 1) % 7)) for h in range(7, 15) for k in range(7)]
    masks = np.stack([
        (grid.minute >= o.start_minute) & (grid.minute < o.start_minute + 510)
        & (grid.weekday != o.days_off[0]) & (grid.weekday != o.days_off[1]) for o in options])
    chosen: list[_Pattern | None] = [None] * len(sizes)
    for team in sorted(range(len(sizes)), key=lambda t: (-sizes[t], t)):
        q = int(queue_of[team])
        gain = (masks * np.minimum(np.clip(deficit[q], 0, None), sizes[team])).sum(axis=1)
        best = int(np.argmax(gain))
        chosen[team] = options[best]
        deficit[q] -= masks[best] * sizes[team]
    return [c for c in chosen if c is not None]


def _calendars(grid: TimeGrid, spec: SizeClass, r_shift: np.random.Generator, r_fac: np.random.Generator,
               r_room: np.random.Generator, sizes: NDArray[np.int64], queue_of: NDArray[np.int64],
               patterns: list[_Pattern]) -> _Calendars:
    n_agents, t_count, per_day = int(sizes.sum()), grid.intervals, 1440 // grid.minutes
    states = np.zeros((n_agents, t_count), dtype=np.int8)
    weights = np.zeros((n_agents, spec.queues), dtype=np.float64)
    agent_ids = [f"a{i + 1:04d}" for i in range(n_agents)]
    team_ids = [f"t{i + 1:02d}" for i in range(spec.teams)]
    agent_teams: list[str] = []
    team_rows: dict[str, NDArray[np.intp]] = {}
    agent_start = np.zeros(n_agents, dtype=np.int64)
    row = 0
    for team, size in enumerate(sizes):
        pattern = patterns[team]
        lunch_shift = int(r_shift.choice([-15, 0, 15]))
        team_rows[team_ids[team]] = np.arange(row, row + size, dtype=np.intp)
        for _ in range(size):
            agent_teams.append(team_ids[team])
            start, days_off = pattern.start_minute, pattern.days_off
            if r_shift.random() < 0.05:  # deviates from the team
                start = int(np.clip(start + 60 * int(r_shift.choice([-1, 1])), 7 * 60, 14 * 60))
                k = int(r_shift.integers(7))
                days_off = (k, (k + 1) % 7)
            part_time = r_shift.random() < 0.10
            length = 60 * int(r_shift.integers(4, 7)) if part_time else 510
            q = int(queue_of[team])
            if spec.queues > 1 and r_shift.random() < 0.30:
                other = int((q + 1 + r_shift.integers(spec.queues - 1)) % spec.queues)
                weights[row, q], weights[row, other] = 0.6, 0.4
            else:
                weights[row, q] = 1.0
            jitter = r_shift.choice([0, 15], size=3)
            agent_start[row] = start
            for day in range(grid.days):
                weekday = (grid.first_day + timedelta(days=day)).weekday()
                if weekday in days_off:
                    continue
                base = day * per_day
                s, e = base + start // 15, base + (start + length) // 15
                states[row, s:e] = _WORK
                if part_time:
                    _mark(states[row], base, start + 120 + int(jitter[0]), 15, _BREAK)
                else:
                    _mark(states[row], base, start + 105 + int(jitter[0]), 15, _BREAK)
                    _mark(states[row], base, start + 240 + lunch_shift + int(jitter[2]), 30, _BREAK)
                    _mark(states[row], base, start + 405 + int(jitter[1]), 15, _BREAK)
                roll = r_shift.random()
                if roll < 0.02:
                    states[row, s:e] = _ABSENT
                elif roll < 0.07:  # a fixed 30-minute admin block on 5 % of agent-days
                    spots = [i for i in range(s, e - 1) if states[row, i] == _WORK and states[row, i + 1] == _WORK]
                    if spots:
                        i = spots[int(r_shift.integers(len(spots)))]
                        states[row, i:i + 2] = _BUSY
            row += 1

    # Managers: one per team, a few shared by two teams; work their teams' hours Monday to Friday.
    shared = max(1, round(0.1 * spec.teams)) if spec.teams >= 4 else 0
    order = [int(x) for x in r_fac.permutation(spec.teams)]
    groups: list[list[int]] = [order[2 * i:2 * i + 2] for i in range(shared)] + [[t] for t in order[2 * shared:]]
    groups.sort(key=min)
    fac_ids: list[str] = []
    managers: dict[str, str] = {}
    avail_rows: list[NDArray[np.bool_]] = []
    busy_rows: list[NDArray[np.bool_]] = []
    weekday_mask = grid.weekday < 5
    for i, group in enumerate(groups):
        person = f"m{i + 1:02d}"
        fac_ids.append(person)
        lo = min(patterns[t].start_minute for t in group)
        hi = max(patterns[t].start_minute for t in group) + 510
        for t in group:
            managers[team_ids[t]] = person
        avail = weekday_mask & (grid.minute >= lo) & (grid.minute < hi)
        avail_rows.append(avail)
        busy_rows.append(_busy_blocks(grid, avail, r_fac, 60, 0.20))
    trainers = [f"tr{i + 1}" for i in range(spec.trainers)]
    for person in trainers:
        fac_ids.append(person)
        avail = weekday_mask & (grid.minute >= 8 * 60) & (grid.minute < 17 * 60)
        avail_rows.append(avail)
        busy_rows.append(_busy_blocks(grid, avail, r_fac, 120, 0.25))

    capacities = r_room.choice(ROOM_SIZES, size=spec.rooms)
    need = int(sizes.max()) + 1
    if capacities.max() < need:
        capacities[0] = min(c for c in ROOM_SIZES if c >= need)
    rooms = [Room(f"room{i + 1}", f"Room {i + 1}", int(c), location="HQ") for i, c in enumerate(capacities)]
    room_open = np.tile((grid.minute >= 7 * 60) & (grid.minute < 21 * 60), (spec.rooms, 1))
    room_busy = np.stack([_busy_blocks(grid, room_open[i], r_room, 60, 0.15) for i in range(spec.rooms)])
    return _Calendars(grid, states, weights, agent_ids, agent_teams, team_ids, team_rows,
                      {team_ids[t]: patterns[t].start_minute for t in range(spec.teams)}, agent_start,
                      fac_ids, np.stack(avail_rows), np.stack(busy_rows), managers, trainers, rooms, room_open,
                      room_busy)


def _mark(row: NDArray[np.int8], base: int, minute: int, length: int, state: int) -> None:
    s, e = base + minute // 15, base + (minute + length) // 15
    row[s:e] = np.where(row[s:e] == _WORK, state, row[s:e])


def _busy_blocks(grid: TimeGrid, avail: NDArray[np.bool_], rng: np.random.Generator, minutes: int,
                 share: float) -> NDArray[np.bool_]:
    """Mark ``share`` of the ``minutes``-long clock-aligned blocks inside ``avail`` as busy."""
    busy = np.zeros(grid.intervals, dtype=np.bool_)
    block = (grid.day.astype(np.int64) * 1440 + grid.minute) // minutes
    for b in np.unique(block[avail]):
        if rng.random() < share:
            busy |= (block == b) & avail
    return busy


# ---------------------------------------------------------------------------- requests


def _request_counts(spec: SizeClass) -> dict[str, int]:
    injected = max(1, round(0.03 * spec.requests))
    feasible = spec.requests - injected
    weeks = spec.days // 7
    if weeks >= 4:  # recurring team meetings (weekly) and 1:1s (every two weeks)
        occurrences = feasible / (0.2 / weeks + 0.2 + 0.05 + 0.55 - 0.3 * 0.55 / 2)
        team = round(0.2 * occurrences / weeks)
        training = round(0.2 * occurrences)
        adhoc = round(0.05 * occurrences)
        biweekly = round(0.3 * 0.55 * occurrences / 2)
        single = feasible - team - training - adhoc - biweekly
        return {"team_weekly": team, "training": training, "adhoc": adhoc, "one_to_one_biweekly": biweekly,
                "one_to_one": single, "injected": injected}
    team = round(0.2 * feasible)
    training = round(0.2 * feasible)
    adhoc = round(0.05 * feasible)
    return {"team_meeting": team, "training": training, "adhoc": adhoc,
            "one_to_one": feasible - team - training - adhoc, "injected": injected}


_PLANT_RANK = {"training": 0, "team_meeting": 1, "adhoc": 2, "one_to_one": 3}


def _plant_order(request: SlotRequest) -> tuple[int, str]:
    return _PLANT_RANK.get(request.kind, 4), request.id


def _requests(cal: _Calendars, spec: SizeClass, rng: np.random.Generator,
              r_inject: np.random.Generator) -> tuple[list[SlotRequest], dict[str, Reason]]:
    counts = _request_counts(spec)
    out: list[SlotRequest] = []
    teams_for_weekly = [cal.team_ids[int(i)] for i in rng.permutation(len(cal.team_ids))]
    for kind, count in counts.items():
        for i in range(count):
            rid = f"r{len(out) + 1:03d}"
            if kind == "injected":
                continue
            if kind == "team_weekly":
                out.append(_team_meeting(cal, rng, rid, team=teams_for_weekly[i % len(teams_for_weekly)],
                                         weekly=True))
            elif kind == "team_meeting":
                out.append(_team_meeting(cal, rng, rid))
            elif kind == "training":
                out.append(_training(cal, rng, rid))
            elif kind == "adhoc":
                out.append(_adhoc(cal, rng, rid))
            else:
                out.append(_one_to_one(cal, rng, rid, biweekly=kind == "one_to_one_biweekly"))
    injected: dict[str, Reason] = {}
    kinds = [Reason.ATTENDEE_UNAVAILABLE, Reason.OUTSIDE_SHIFTS, Reason.NO_ROOM_BIG_ENOUGH,
             Reason.NO_FACILITATOR_TIME, Reason.RECURRENCE_IMPOSSIBLE]
    for i in range(counts["injected"]):
        rid = f"r{len(out) + 1:03d}"
        reason = kinds[i % len(kinds)]
        out.append(_inject(cal, r_inject, rid, reason, i))
        injected[rid] = reason
    return out, injected


def _prefs(rng: np.random.Generator, earliest: int, latest: int, duration: int) -> dict[str, object]:
    pref = None
    if rng.random() < 0.30:
        pref = int(earliest + 15 * rng.integers(0, (latest - duration - earliest) // 15 + 1))
    return {"preferred_minute": pref, "priority": int(rng.integers(1, 4))}


def _window(cal: _Calendars, rng: np.random.Generator, days: int) -> tuple[date, date]:
    total = cal.grid.days
    days = min(days, total)
    first = int(rng.integers(0, total - days + 1))
    return cal.grid.date_of(first), cal.grid.date_of(first + days - 1)


def _one_to_one(cal: _Calendars, rng: np.random.Generator, rid: str, *, biweekly: bool = False) -> SlotRequest:
    agent = int(rng.integers(len(cal.agent_ids)))
    team = cal.agent_teams[agent]
    duration = int(rng.choice([30, 45, 60], p=[0.7, 0.2, 0.1]))
    if biweekly:
        start, end = cal.grid.first_day, cal.grid.date_of(cal.grid.days - 1)
        rec = Recurrence("weekly", every=2, min_gap_days=10, count=cal.grid.days // 14)
    else:
        start, end = _window(cal, rng, 14)
        rec = None
    return SlotRequest(rid, "one_to_one", (cal.agent_ids[agent],), duration, start, end,
                       facilitator=cal.managers[team], room_needed=bool(rng.random() < 0.4),
                       earliest_minute=8 * 60, latest_minute=17 * 60, recurrence=rec,
                       **_prefs(rng, 8 * 60, 17 * 60, duration))  # type: ignore[arg-type]


def _team_meeting(cal: _Calendars, rng: np.random.Generator, rid: str, *, team: str | None = None,
                  weekly: bool = False) -> SlotRequest:
    team = team or cal.team_ids[int(rng.integers(len(cal.team_ids)))]
    duration = int(rng.choice([30, 45, 60]))
    members = tuple(cal.agent_ids[i] for i in cal.team_rows[team])
    if weekly:
        start, end = cal.grid.first_day, cal.grid.date_of(cal.grid.days - 1)
        rec = Recurrence("weekly", every=1, min_gap_days=4, count=cal.grid.days // 7)
    else:
        week = int(rng.integers(cal.grid.days // 7))
        start, end = cal.grid.date_of(7 * week), cal.grid.date_of(7 * week + 4)
        rec = None
    return SlotRequest(rid, "team_meeting", members, duration, start, end, facilitator=cal.managers[team],
                       room_needed=True, earliest_minute=9 * 60, latest_minute=16 * 60,
                       weekdays=frozenset(range(5)), recurrence=rec,
                       **_prefs(rng, 9 * 60, 16 * 60, duration))  # type: ignore[arg-type]


def _training(cal: _Calendars, rng: np.random.Generator, rid: str) -> SlotRequest:
    duration = 60 * int(rng.choice([2, 3, 4]))
    queue = int(rng.integers(cal.weights.shape[1]))
    skilled = np.flatnonzero(cal.weights[:, queue] > 0)
    # Agents whose shifts overlap the anchor's enough to share the training inside 08:00-17:00.
    anchor = int(rng.choice(skilled))
    lo_end = np.maximum(np.maximum(cal.agent_start[skilled], cal.agent_start[anchor]), 8 * 60)
    close = skilled[(np.abs(cal.agent_start[skilled] - cal.agent_start[anchor]) <= 60)
                    & (np.minimum(17 * 60, np.minimum(cal.agent_start[skilled], cal.agent_start[anchor]) + 510)
                       - lo_end >= duration)]
    if close.size < 6:
        close = skilled
    count = int(min(close.size, rng.integers(6, 17)))
    chosen = sorted(int(i) for i in rng.choice(close, size=count, replace=False))
    start, end = _window(cal, rng, 7 * int(rng.integers(1, 3)))
    trainer = cal.trainers[int(rng.integers(len(cal.trainers)))]
    return SlotRequest(rid, "training", tuple(cal.agent_ids[i] for i in chosen), duration, start, end,
                       facilitator=trainer, room_needed=True, earliest_minute=8 * 60, latest_minute=17 * 60,
                       **_prefs(rng, 8 * 60, 17 * 60, duration))  # type: ignore[arg-type]


def _adhoc(cal: _Calendars, rng: np.random.Generator, rid: str) -> SlotRequest:
    duration = int(rng.choice([30, 45, 60]))
    anchor = int(rng.integers(len(cal.agent_ids)))
    near = np.flatnonzero(np.abs(cal.agent_start - cal.agent_start[anchor]) <= 60)
    count = min(int(near.size), int(rng.integers(3, 9)))
    chosen = sorted(int(i) for i in rng.choice(near, size=count, replace=False))
    start, end = _window(cal, rng, 7)
    return SlotRequest(rid, "adhoc", tuple(cal.agent_ids[i] for i in chosen), duration, start, end,
                       facilitator=cal.managers[cal.agent_teams[chosen[0]]], room_needed=True,
                       earliest_minute=8 * 60, latest_minute=17 * 60,
                       **_prefs(rng, 8 * 60, 17 * 60, duration))  # type: ignore[arg-type]


def _redraw(cal: _Calendars, request: SlotRequest, rng: np.random.Generator, attempt: int) -> SlotRequest:
    """A fresh request of the same kind and id when the last one could not be planted."""
    if request.kind == "team_meeting":
        team = None
        if request.recurrence is not None:  # keep it weekly, maybe for another team after many tries
            team = cal.agent_teams[cal.agent_ids.index(request.attendees[0])] if attempt < 20 else None
        return _team_meeting(cal, rng, request.id, team=team, weekly=request.recurrence is not None)
    if request.kind == "training":
        return _training(cal, rng, request.id)
    if request.kind == "adhoc":
        return _adhoc(cal, rng, request.id)
    return _one_to_one(cal, rng, request.id, biweekly=request.recurrence is not None)


def _inject(cal: _Calendars, rng: np.random.Generator, rid: str, reason: Reason, index: int) -> SlotRequest:
    grid = cal.grid
    agent = int(rng.integers(len(cal.agent_ids)))
    team = cal.agent_teams[agent]
    start, end = _window(cal, rng, 14)
    base = SlotRequest(rid, "one_to_one", (cal.agent_ids[agent],), 30, start, end, facilitator=cal.managers[team],
                       earliest_minute=8 * 60, latest_minute=17 * 60)
    if reason is Reason.ATTENDEE_UNAVAILABLE:  # on leave for the whole window
        lo, hi = grid.day_span(start, end)
        row = cal.states[agent, lo:hi]
        row[row != 0] = _ABSENT
        return base
    if reason is Reason.OUTSIDE_SHIFTS:  # nobody works before 07:00
        return replace(base, earliest_minute=0, latest_minute=6 * 60)
    if reason is Reason.NO_ROOM_BIG_ENOUGH:  # three teams at once: more people than the biggest room
        biggest = max(r.capacity for r in cal.rooms)
        members: list[str] = []
        for t in cal.team_ids[index % len(cal.team_ids):] + cal.team_ids:
            members.extend(cal.agent_ids[i] for i in cal.team_rows[t] if cal.agent_ids[i] not in members)
            if len(members) + 1 > biggest:
                break
        return replace(base, kind="team_meeting", attendees=tuple(members), room_needed=True, duration_minutes=60)
    if reason is Reason.NO_FACILITATOR_TIME:  # a guest facilitator with no free time at all
        guest = f"guest{index + 1}"
        cal.fac_ids.append(guest)
        cal.fac_avail = np.vstack([cal.fac_avail, np.zeros(grid.intervals, dtype=np.bool_)])
        cal.fac_busy = np.vstack([cal.fac_busy, np.zeros(grid.intervals, dtype=np.bool_)])
        return replace(base, facilitator=guest)
    # Three daily occurrences two days apart cannot fit in three consecutive days.
    for candidate in [int(a) for a in rng.permutation(len(cal.agent_ids))]:
        days = [d for d in range(grid.days - 2) if all(_works_weekday(cal, candidate, d + k) for k in range(3))]
        if days:
            break
    first = days[int(rng.integers(len(days)))]
    who = cal.agent_ids[candidate]
    return replace(base, attendees=(who,), facilitator=cal.managers[cal.agent_teams[candidate]],
                   window_start=grid.date_of(first), window_end=grid.date_of(first + 2),
                   recurrence=Recurrence("daily", every=1, min_gap_days=2, count=3))


def _works_weekday(cal: _Calendars, agent: int, day: int) -> bool:
    """On shift 09:00-12:00 that day, and the day is a weekday (so the manager works too)."""
    grid = cal.grid
    if grid.date_of(day).weekday() >= 5:
        return False
    base = day * (1440 // grid.minutes)
    return bool((cal.states[agent, base + 36:base + 48] == _WORK).sum() >= 8)


# ---------------------------------------------------------------------------- planting


class _Planter:
    """Places requests at random feasible times, keeping the plants free of each other."""

    def __init__(self, cal: _Calendars) -> None:
        self.cal = cal
        self.agent_used = np.zeros_like(cal.states, dtype=np.bool_)
        self.fac_used = np.zeros_like(cal.fac_avail)
        self.room_used = np.zeros_like(cal.room_open)
        self.agent_row = {a: i for i, a in enumerate(cal.agent_ids)}

    def plant(self, request: SlotRequest, rng: np.random.Generator) -> tuple[tuple[int, str | None], ...] | None:
        cal, grid = self.cal, self.cal.grid
        rows = np.array([self.agent_row[a] for a in request.attendees], dtype=np.intp)
        fac = cal.fac_ids.index(request.facilitator) if request.facilitator else -1
        d = request.duration_minutes // grid.minutes
        absorb = request.duration_minutes >= 120
        seats = request.room_capacity_needed
        rooms = [i for i, r in enumerate(cal.rooms) if r.capacity >= seats] if request.room_needed else []
        periods = occurrence_periods(request)
        gap = request.recurrence.min_gap_days if request.recurrence else 0
        for _ in range(20):
            spots: list[tuple[int, int]] = []
            last_day = -10 ** 6
            for period in periods:
                lo, hi = grid.day_span(period.first, period.last)
                starts = self._starts(request, rows, fac, rooms, lo, hi, d, absorb)
                starts = starts[grid.day[starts] >= last_day + gap]
                if not starts.size:
                    break
                s = int(starts[int(rng.integers(starts.size))])
                free_rooms = [m for m in rooms
                              if cal.room_open[m, s:s + d].all() and not self.room_used[m, s:s + d].any()]
                room = free_rooms[int(rng.integers(len(free_rooms)))] if rooms else -1
                spots.append((s, room))
                last_day = int(grid.day[s])
            else:
                return self._commit(request, rows, fac, spots, d)
        return None

    def _starts(self, request: SlotRequest, rows: NDArray[np.intp], fac: int, rooms: list[int], lo: int, hi: int,
                d: int, absorb: bool) -> NDArray[np.intp]:
        """Starts in ``[lo, hi)`` where the request fits the calendars and no earlier plant."""
        cal, grid = self.cal, self.cal.grid
        n = hi - lo - d + 1
        if n <= 0:
            return np.zeros(0, dtype=np.intp)
        starts = np.arange(lo, lo + n, dtype=np.intp)
        minute = grid.minute[starts]
        ok = ((minute >= request.earliest_minute) & (minute + d * grid.minutes <= request.latest_minute)
              & np.isin(grid.weekday[starts], list(request.weekdays)) & (grid.day[starts + d - 1] == grid.day[starts]))
        block = cal.states[rows, lo:hi]
        good = (block == _WORK) | (block == _BREAK) if absorb else block == _WORK
        ok &= all_over((good & ~self.agent_used[rows, lo:hi]).all(axis=0), d)
        if fac >= 0:
            ok &= all_over(cal.fac_avail[fac, lo:hi] & ~self.fac_used[fac, lo:hi], d)
        if request.room_needed:
            if not rooms:
                return np.zeros(0, dtype=np.intp)
            ok &= all_over(cal.room_open[rooms, lo:hi] & ~self.room_used[rooms, lo:hi], d).any(axis=0)
        return np.asarray(starts[ok], dtype=np.intp)

    def _commit(self, request: SlotRequest, rows: NDArray[np.intp], fac: int, spots: list[tuple[int, int]],
                d: int) -> tuple[tuple[int, str | None], ...]:
        cal = self.cal
        out: list[tuple[int, str | None]] = []
        for s, room in spots:
            self.agent_used[rows, s:s + d] = True
            if fac >= 0:
                self.fac_used[fac, s:s + d] = True
                cal.fac_busy[fac, s:s + d] = False  # clear the calendar at the planted slot
            if room >= 0:
                self.room_used[room, s:s + d] = True
                cal.room_busy[room, s:s + d] = False
            out.append((s, cal.rooms[room].id if room >= 0 else None))
        return tuple(out)
