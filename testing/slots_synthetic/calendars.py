"""People and shifts: teams with aligned shifts, agents' calendars, facilitators, rooms and their bookings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from numpy.typing import NDArray

from services.domain.slots.grid import TimeGrid
from services.domain.slots.model import Room, SlotState
from testing.slots_synthetic.instance import SizeClass

ROOM_SIZES = (6, 8, 10, 12, 16, 20, 30)
WORK, BREAK, BUSY, ABSENT = (int(s) for s in (SlotState.WORK, SlotState.BREAK, SlotState.BUSY,
                                                  SlotState.ABSENT))


@dataclass
class Calendars:
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


def draw_team_sizes(rng: np.random.Generator, spec: SizeClass) -> NDArray[np.int64]:
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


def team_patterns(grid: TimeGrid, shape: NDArray[np.float64], sizes: NDArray[np.int64],
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


@dataclass
class _People:
    """The agents' rows as they are filled in, team by team."""

    states: NDArray[np.int8]
    weights: NDArray[np.float64]
    agent_start: NDArray[np.int64]
    agent_teams: list[str]
    team_rows: dict[str, NDArray[np.intp]]


def build_calendars(grid: TimeGrid, spec: SizeClass, r_shift: np.random.Generator, r_fac: np.random.Generator,
               r_room: np.random.Generator, sizes: NDArray[np.int64], queue_of: NDArray[np.int64],
               patterns: list[_Pattern]) -> Calendars:
    team_ids = [f"t{i + 1:02d}" for i in range(spec.teams)]
    people = _agents(grid, spec, r_shift, sizes, queue_of, patterns, team_ids)
    fac_ids, managers, trainers, fac_avail, fac_busy = _facilitators(grid, spec, r_fac, patterns, team_ids)
    rooms, room_open, room_busy = _rooms(grid, spec, r_room, sizes)
    return Calendars(grid, people.states, people.weights, [f"a{i + 1:04d}" for i in range(int(sizes.sum()))],
                      people.agent_teams, team_ids, people.team_rows,
                      {team_ids[t]: patterns[t].start_minute for t in range(spec.teams)}, people.agent_start,
                      fac_ids, fac_avail, fac_busy, managers, trainers, rooms, room_open, room_busy)


def _agents(grid: TimeGrid, spec: SizeClass, r_shift: np.random.Generator, sizes: NDArray[np.int64],
            queue_of: NDArray[np.int64], patterns: list[_Pattern], team_ids: list[str]) -> _People:
    """Every agent's shift, queue weights and days, team by team: ``r_shift`` is drawn in one fixed order."""
    n_agents = int(sizes.sum())
    people = _People(np.zeros((n_agents, grid.intervals), dtype=np.int8),
                     np.zeros((n_agents, spec.queues), dtype=np.float64), np.zeros(n_agents, dtype=np.int64),
                     [], {})
    row = 0
    for team, size in enumerate(sizes):
        lunch_shift = int(r_shift.choice([-15, 0, 15]))
        people.team_rows[team_ids[team]] = np.arange(row, row + size, dtype=np.intp)
        for _ in range(size):
            people.agent_teams.append(team_ids[team])
            start, days_off = _agent_shift(r_shift, patterns[team])
            part_time = r_shift.random() < 0.10
            length = 60 * int(r_shift.integers(4, 7)) if part_time else 510
            _agent_weights(people.weights[row], r_shift, int(queue_of[team]), spec.queues)
            jitter = r_shift.choice([0, 15], size=3)
            people.agent_start[row] = start
            for day in range(grid.days):
                if (grid.first_day + timedelta(days=day)).weekday() in days_off:
                    continue
                _agent_day(people.states[row], r_shift, day * (1440 // grid.minutes), start, length, part_time,
                           lunch_shift, jitter)
            row += 1
    return people


def _agent_shift(r_shift: np.random.Generator, pattern: _Pattern) -> tuple[int, tuple[int, int]]:
    """The team's start and days off, or (5 % of agents) an hour off and days off of one's own."""
    start, days_off = pattern.start_minute, pattern.days_off
    if r_shift.random() < 0.05:  # deviates from the team
        start = int(np.clip(start + 60 * int(r_shift.choice([-1, 1])), 7 * 60, 14 * 60))
        k = int(r_shift.integers(7))
        days_off = (k, (k + 1) % 7)
    return start, days_off


def _agent_weights(weights: NDArray[np.float64], r_shift: np.random.Generator, q: int, queues: int) -> None:
    """The team's queue only, or (30 % of agents, if there is another queue) 0.6 / 0.4 with another."""
    if queues > 1 and r_shift.random() < 0.30:
        other = int((q + 1 + r_shift.integers(queues - 1)) % queues)
        weights[q], weights[other] = 0.6, 0.4
    else:
        weights[q] = 1.0


def _agent_day(states: NDArray[np.int8], r_shift: np.random.Generator, base: int, start: int, length: int,
               part_time: bool, lunch_shift: int, jitter: NDArray[np.int64]) -> None:
    """One working day of one agent: the shift, its breaks, then absent (2 %) or an admin block (5 %)."""
    s, e = base + start // 15, base + (start + length) // 15
    states[s:e] = WORK
    if part_time:
        _mark(states, base, start + 120 + int(jitter[0]), 15, BREAK)
    else:
        _mark(states, base, start + 105 + int(jitter[0]), 15, BREAK)
        _mark(states, base, start + 240 + lunch_shift + int(jitter[2]), 30, BREAK)
        _mark(states, base, start + 405 + int(jitter[1]), 15, BREAK)
    roll = r_shift.random()
    if roll < 0.02:
        states[s:e] = ABSENT
    elif roll < 0.07:  # a fixed 30-minute admin block on 5 % of agent-days
        spots = [i for i in range(s, e - 1) if states[i] == WORK and states[i + 1] == WORK]
        if spots:
            i = spots[int(r_shift.integers(len(spots)))]
            states[i:i + 2] = BUSY


def _facilitators(grid: TimeGrid, spec: SizeClass, r_fac: np.random.Generator, patterns: list[_Pattern],
                  team_ids: list[str]) -> tuple[list[str], dict[str, str], list[str], NDArray[np.bool_],
                                                NDArray[np.bool_]]:
    """Managers then trainers: ids, team -> manager, trainers, availability and busy rows."""
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
    return fac_ids, managers, trainers, np.stack(avail_rows), np.stack(busy_rows)


def _rooms(grid: TimeGrid, spec: SizeClass, r_room: np.random.Generator,
           sizes: NDArray[np.int64]) -> tuple[list[Room], NDArray[np.bool_], NDArray[np.bool_]]:
    """Rooms (at least one holds the largest team plus its facilitator), open 07:00-21:00, some hours booked."""
    capacities = r_room.choice(ROOM_SIZES, size=spec.rooms)
    need = int(sizes.max()) + 1
    if capacities.max() < need:
        capacities[0] = min(c for c in ROOM_SIZES if c >= need)
    rooms = [Room(f"room{i + 1}", f"Room {i + 1}", int(c), location="HQ") for i, c in enumerate(capacities)]
    room_open = np.tile((grid.minute >= 7 * 60) & (grid.minute < 21 * 60), (spec.rooms, 1))
    room_busy = np.stack([_busy_blocks(grid, room_open[i], r_room, 60, 0.15) for i in range(spec.rooms)])
    return rooms, room_open, room_busy


def _mark(row: NDArray[np.int8], base: int, minute: int, length: int, state: int) -> None:
    s, e = base + minute // 15, base + (minute + length) // 15
    row[s:e] = np.where(row[s:e] == WORK, state, row[s:e])


def _busy_blocks(grid: TimeGrid, avail: NDArray[np.bool_], rng: np.random.Generator, minutes: int,
                 share: float) -> NDArray[np.bool_]:
    """Mark ``share`` of the ``minutes``-long clock-aligned blocks inside ``avail`` as busy."""
    busy = np.zeros(grid.intervals, dtype=np.bool_)
    block = (grid.day.astype(np.int64) * 1440 + grid.minute) // minutes
    for b in np.unique(block[avail]):
        if rng.random() < share:
            busy |= (block == b) & avail
    return busy
