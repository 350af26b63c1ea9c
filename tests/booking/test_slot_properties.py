"""Property tests: whatever the calendars and requests, no placement ever breaks a hard constraint,
and each online placement is the cheapest feasible one (checked by brute force, independently)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.domain.slots import (
    Recurrence,
    SearchParams,
    SlotEngine,
    SlotProblem,
    SlotRequest,
)
from services.domain.slots.batch import plan_batch
from services.domain.slots.recurrence import occurrence_periods
from services.domain.slots.replan import HeldSlot, replan
from tests.booking.slot_fixtures import MONDAY, agent, at, facilitator, problem, room, shift

WORK, BREAK = 1, 2
DAYS = 7


@st.composite
def worlds(draw: st.DrawFn) -> SlotProblem:
    agents = []
    for i in range(draw(st.integers(1, 6))):
        begin = draw(st.integers(6, 12))
        days = draw(st.lists(st.integers(0, DAYS - 1), min_size=1, max_size=DAYS, unique=True))
        brk = draw(st.integers(begin + 1, begin + 3))
        agents.append(agent(f"a{i}", shift(days=days, begin=begin, end=begin + 8, breaks=[(brk, 0)],
                                           lunch=(begin + 4, 0)), team=f"t{i % 2}",
                            skills={"q1": 1.0} if i % 3 else {"q1": 0.6, "q2": 0.4}))
    facs = [facilitator(f"f{i}", busy=[(at(d, h), at(d, h + 1)) for d, h in draw(
        st.lists(st.tuples(st.integers(0, DAYS - 1), st.integers(8, 16)), max_size=12))]) for i in range(2)]
    rooms = [room(f"r{i}", draw(st.integers(1, 6)), busy=[(at(d, h), at(d, h + 1)) for d, h in draw(
        st.lists(st.tuples(st.integers(0, DAYS - 1), st.integers(8, 16)), max_size=12))]) for i in range(2)]
    # The 1,344 requirement cells, 0-4 each, as one draw of bytes: drawn one integer at a time they were
    # most of these tests' time (hypothesis' per-choice bookkeeping); the values and shrinking are alike.
    cells = draw(st.binary(min_size=DAYS * 96 * 2, max_size=DAYS * 96 * 2))
    required = np.frombuffer(cells, dtype=np.uint8) % 5
    return problem(agents, required=required.astype(float).reshape(2, DAYS * 96), facilitators=facs,
                   rooms=rooms, days=DAYS, queues=("q1", "q2"))


@st.composite
def requests(draw: st.DrawFn, world: SlotProblem, count: int) -> list[SlotRequest]:
    out = []
    for i in range(count):
        attendees = tuple(draw(st.lists(st.sampled_from(world.agent_ids), min_size=1, max_size=3, unique=True)))
        first = draw(st.integers(0, DAYS - 1))
        last = draw(st.integers(first, DAYS - 1))
        earliest = draw(st.integers(0, 20)) * 30
        rec = draw(st.one_of(st.none(), st.builds(Recurrence, st.just("daily"), st.integers(1, 2),
                                                  st.integers(0, 3))))
        out.append(SlotRequest(
            f"q{i}", "meeting", attendees, draw(st.sampled_from([15, 30, 60, 120, 180])),
            MONDAY + timedelta(days=first), MONDAY + timedelta(days=last),
            facilitator=draw(st.sampled_from([None, "f0", "f1"])), room_needed=draw(st.booleans()),
            earliest_minute=earliest, latest_minute=min(1440, earliest + draw(st.integers(2, 30)) * 30),
            recurrence=rec, split_sessions=draw(st.booleans()),
            params=SearchParams(absorb_breaks_from_minutes=draw(st.sampled_from([120, None])))))
    return out


class _Checker:
    """An independent check of every hard constraint, from the base calendars only."""

    def __init__(self, world: SlotProblem) -> None:
        self.world = world
        self.agent_row = {a: i for i, a in enumerate(world.agent_ids)}
        self.fac_row = {f: i for i, f in enumerate(world.facilitator_ids)}
        self.rooms = {r.id: (i, r) for i, r in enumerate(world.rooms)}
        self.used: dict[tuple[str, int], str] = {}
        self.found: list[str] = []

    def claim(self, what: str, s: int, e: int, owner: str) -> None:
        for t in range(s, e):
            if self.used.setdefault((what, t), owner) != owner:
                self.found.append(f"{what} double-booked at {t}")

    def outcome(self, req: SlotRequest, outcome) -> None:
        periods = occurrence_periods(req)
        by_occ = defaultdict(list)
        for p in outcome.placements:
            by_occ[p.occurrence].append(p)
        if sorted(by_occ) != list(range(len(periods))):
            self.found.append("missing occurrence")
        days = []
        for occ, period in enumerate(periods):
            group = by_occ[occ]
            if sorted(a for p in group for a in p.attendees) != sorted(set(req.attendees) - {req.facilitator}):
                self.found.append("attendees differ")
            for p in group:
                self.placement(req, period, p)
            days.append(min(p.start.date() for p in group))
        gap = req.recurrence.min_gap_days if req.recurrence else 0
        if any((b - a).days < gap for a, b in itertools.pairwise(days)):
            self.found.append("gap")

    def placement(self, req: SlotRequest, period, p) -> None:
        grid, s, e = self.world.grid, p.start_index, p.end_index
        if (e - s) * 15 < req.duration_minutes:
            self.found.append("too short")
        if not (period.first <= p.start.date() <= period.last):
            self.found.append("outside period")
        minute = p.start.hour * 60 + p.start.minute
        if minute < req.earliest_minute or minute + (e - s) * 15 > req.latest_minute:
            self.found.append("outside times of day")
        if grid.day[e - 1] != grid.day[s]:
            self.found.append("crosses midnight")
        self.people(req, p, s, e)
        self.room(req, p, s, e)

    def people(self, req: SlotRequest, p, s: int, e: int) -> None:
        world = self.world
        absorb = req.params.absorb_breaks_from_minutes is not None and \
            req.duration_minutes >= req.params.absorb_breaks_from_minutes
        for a in p.attendees:
            block = world.states[self.agent_row[a], s:e]
            if not np.isin(block, (WORK, BREAK) if absorb else (WORK,)).all():
                self.found.append(f"{a} not available")
            self.claim(a, s, e, req.id)
        if req.facilitator:
            if not world.facilitator_free[self.fac_row[req.facilitator], s:e].all():
                self.found.append("facilitator busy")
            self.claim(req.facilitator, s, e, req.id)

    def room(self, req: SlotRequest, p, s: int, e: int) -> None:
        if req.room_needed:
            index, info = self.rooms[p.room_id]
            seats = len(p.attendees) + (1 if req.facilitator else 0)
            if info.capacity < seats or not self.world.room_free[index, s:e].all():
                self.found.append("room too small or busy")
            self.claim(p.room_id, s, e, req.id)
        elif p.room_id is not None:
            self.found.append("room booked without need")


def violations(world: SlotProblem, placed: dict[str, SlotRequest], outcomes) -> list[str]:
    """An independent check of every hard constraint, from the base calendars only."""
    checker = _Checker(world)
    for outcome in outcomes:
        if not outcome.placed:
            assert not outcome.placements
            continue
        checker.outcome(placed[outcome.request_id], outcome)
    return checker.found


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_online_placements_never_break_a_hard_constraint(data):
    world = data.draw(worlds())
    batch = data.draw(requests(world, 6))
    engine = SlotEngine(world)
    outcomes = [engine.book(r) for r in batch]
    assert violations(world, {r.id: r for r in batch}, outcomes) == []
    for outcome in outcomes:  # an unplaced request always says why
        assert outcome.placed or (outcome.reason is not None and outcome.detail)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_batch_placements_never_break_a_hard_constraint(data):
    world = data.draw(worlds())
    batch = data.draw(requests(world, 6))
    engine = SlotEngine(world)
    outcomes = plan_batch(engine, batch, refine_time_limit=2.0)
    assert violations(world, {r.id: r for r in batch}, outcomes) == []
    online = SlotEngine(world)
    assert sum(o.placed for o in outcomes) >= sum(online.book(r).placed for r in batch) - 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_online_choice_is_the_cheapest_feasible_start(data):
    world = data.draw(worlds())
    (req,) = data.draw(requests(world, 1))
    req = SlotRequest(req.id, req.kind, req.attendees, req.duration_minutes, req.window_start, req.window_end,
                      earliest_minute=req.earliest_minute, latest_minute=req.latest_minute)
    outcome = SlotEngine(world).search(req, explain=False)
    # Brute force: every start, cost = added understaffing of pulling the attendees' working time.
    rows = [world.agent_ids.index(a) for a in req.attendees]
    d = req.duration_minutes // 15
    best = None
    lo, hi = world.grid.day_span(req.window_start, req.window_end)
    for s in range(lo, hi - d + 1):
        minute = int(world.grid.minute[s])
        if minute < req.earliest_minute or minute + d * 15 > req.latest_minute or world.grid.day[s + d - 1] != \
                world.grid.day[s]:
            continue
        block = world.states[rows, s:s + d]
        absorb = req.duration_minutes >= 120
        if not np.isin(block, (WORK, BREAK) if absorb else (WORK,)).all():
            continue
        pulled = world.weights[rows].T @ (block == WORK)
        gap = world.required[:, s:s + d] - world.scheduled[:, s:s + d]
        cost = float((np.maximum(gap + pulled, 0) - np.maximum(gap, 0)).sum())
        best = cost if best is None else min(best, cost)
    if best is None:
        assert not outcome.placed
    else:
        assert outcome.placed
        assert abs(outcome.impact - best) < 1e-6


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), exact=st.booleans())
def test_optimised_plans_never_break_a_hard_constraint_and_never_add_understaffing(data, exact):
    world = data.draw(worlds())
    batch = data.draw(requests(world, 6))
    engine = SlotEngine(world)
    booked = [engine.book(r, explain=False) for r in batch]  # one by one: usually room to improve
    # The snapshot an optimisation reads: the calendars with these bookings as busy time.
    snapshot = replace(world, states=engine.states.copy(), scheduled=engine.scheduled.copy(),
                       facilitator_free=engine.fac_free.copy(), room_free=engine.room_free.copy())
    held = [(r, [HeldSlot(p.occurrence, p.start_index, p.end_index, p.attendees, p.facilitator, p.room_id)
                 for p in o.placements]) for r, o in zip(batch, booked, strict=True) if o.placed]
    result = replan(snapshot, held, base=world if exact else None, refine_time_limit=2.0)
    outcomes = [result.outcomes.get(o.request_id, o) for o in booked]
    assert violations(world, {r.id: r for r in batch}, outcomes) == []
    assert sum(o.placed for o in outcomes) == sum(o.placed for o in booked)  # nothing unplaced
    assert result.after <= result.before + 1e-9
    if exact and not result.fixed:  # "before" is what the bookings add where they are
        assert abs(result.before - engine.added_understaffing()) < 1e-6
    elif exact:  # a booking left where it is keeps blocking its time and is not counted in "before"
        assert result.before <= engine.added_understaffing() + 1e-6
