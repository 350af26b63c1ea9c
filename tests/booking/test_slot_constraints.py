"""Every hard constraint of the slot search, one at a time, on tiny hand-made calendars."""

from __future__ import annotations

import itertools
from datetime import timedelta

import numpy as np
import pytest

from services.domain.slots import Reason, SearchParams, SlotEngine, SlotState, StateSpan
from tests.booking.slot_fixtures import (
    MONDAY,
    agent,
    at,
    facilitator,
    index,
    problem,
    request,
    room,
    shift,
)


def only_start(outcome) -> int:
    assert outcome.placed, (outcome.reason, outcome.detail)
    (placement,) = outcome.placements
    return int(placement.start_index)


def test_attendee_must_be_on_shift_and_free():
    busy = [StateSpan(at(0, 8), at(0, 9, 30), SlotState.BUSY)]
    engine = SlotEngine(problem([agent("a1", shift(days=[0], extra=busy))]))
    start = only_start(engine.book(request(minutes=30)))
    assert start >= index(0, 9, 30)  # not before the shift, not in the busy block


def test_short_activity_never_covers_a_break():
    # Work 08:00-10:00 with a break at 09:00: a 60-minute meeting fits 08:00-09:00 or 09:15-10:00 only.
    spans = shift(days=[0], begin=8, end=10, breaks=[(9, 0)], lunch=None)
    outcome = SlotEngine(problem([agent("a1", spans)])).book(request(minutes=60))
    assert only_start(outcome) == index(0, 8)
    outcome = SlotEngine(problem([agent("a1", spans)])).book(request(minutes=90))
    assert outcome.reason is Reason.ATTENDEE_UNAVAILABLE


@pytest.mark.parametrize(("absorb_from", "placed"), [(120, True), (180, False), (None, False)])
def test_long_activity_absorbs_breaks_when_configured(absorb_from, placed):
    spans = shift(days=[0], begin=8, end=10, breaks=[(9, 0)], lunch=None)
    params = SearchParams(absorb_breaks_from_minutes=absorb_from)
    outcome = SlotEngine(problem([agent("a1", spans)])).book(request(minutes=120, params=params))
    assert outcome.placed is placed
    if placed:
        assert only_start(outcome) == index(0, 8)


def test_absorbed_break_pulls_nobody_from_the_queue():
    spans = shift(days=[0], begin=8, end=10, breaks=[(9, 0)], lunch=None)
    engine = SlotEngine(problem([agent("a1", spans)], required=5.0))
    outcome = engine.book(request(minutes=120))
    # 8 intervals, one of them the break: the agent was only productive in 7, already short everywhere.
    assert outcome.placements[0].impact == pytest.approx(7.0)


def test_attendee_on_leave_for_the_whole_window():
    leave = [StateSpan(at(d, 0), at(d, 23, 45), SlotState.ABSENT) for d in range(5)]
    engine = SlotEngine(problem([agent("a1", shift(extra=leave)), agent("a2")]))
    outcome = engine.book(request(attendees=("a1", "a2")))
    assert outcome.reason is Reason.ATTENDEE_UNAVAILABLE
    assert "a1" in outcome.detail and "leave" in outcome.detail and "a2" not in outcome.detail


def test_window_outside_every_shift():
    engine = SlotEngine(problem([agent("a1"), agent("a2")]))
    outcome = engine.book(request(attendees=("a1", "a2"), earliest_minute=0, latest_minute=6 * 60))
    assert outcome.reason is Reason.OUTSIDE_SHIFTS


def test_attendees_never_free_together():
    early = shift(begin=6, end=10, breaks=(), lunch=None)
    late = shift(begin=12, end=16, breaks=(), lunch=None)
    outcome = SlotEngine(problem([agent("a1", early), agent("a2", late)])).book(
        request(attendees=("a1", "a2"), earliest_minute=0, latest_minute=24 * 60))
    assert outcome.reason is Reason.NO_COMMON_TIME


def test_facilitator_must_be_free():
    engine = SlotEngine(problem([agent("a1")], facilitators=[facilitator(busy=[(at(0, 8), at(0, 11))])]))
    start = only_start(engine.book(request(facilitator="sup")))
    assert start == index(0, 11)


def test_facilitator_fully_booked():
    booked = [(at(d, 0), at(d, 23, 45)) for d in range(7)]
    engine = SlotEngine(problem([agent("a1")], facilitators=[facilitator(busy=booked)]))
    outcome = engine.book(request(facilitator="sup"))
    assert outcome.reason is Reason.NO_FACILITATOR_TIME
    assert "sup" in outcome.detail


def test_facilitator_free_only_when_attendees_are_not():
    engine = SlotEngine(problem([agent("a1", shift(begin=8, end=12, breaks=(), lunch=None))],
                                facilitators=[facilitator(busy=[(at(d, 8), at(d, 12)) for d in range(5)])]))
    outcome = engine.book(request(facilitator="sup"))
    assert outcome.reason is Reason.NO_FACILITATOR_TIME
    assert "never free when the attendees are" in outcome.detail


def test_room_big_enough_and_free_smallest_first():
    rooms = [room("big", 10), room("small", 3, busy=[(at(0, 8), at(0, 8, 30))]), room("tiny", 2)]
    engine = SlotEngine(problem([agent("a1"), agent("a2")], facilitators=[facilitator()], rooms=rooms))
    outcome = engine.book(request(attendees=("a1", "a2"), facilitator="sup", room_needed=True))
    # Three seats are needed (facilitator counted): "tiny" never fits, "small" is busy at 08:00.
    assert outcome.placements[0].start_index == index(0, 8)
    assert outcome.placements[0].room_id == "big"
    second = engine.book(request("r2", attendees=("a1", "a2"), facilitator="sup", room_needed=True))
    assert second.placements[0].start_index == index(0, 8, 30)
    assert second.placements[0].room_id == "small"


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"room_needed": True}, Reason.NO_ROOM_BIG_ENOUGH),
    ({"room_needed": True, "equipment": frozenset({"projector"})}, Reason.NO_ROOM_BIG_ENOUGH),
    ({"room_needed": True, "location": "Branch"}, Reason.NO_ROOM_BIG_ENOUGH),
])
def test_no_suitable_room(kwargs, reason):
    engine = SlotEngine(problem([agent(f"a{i}") for i in range(4)], rooms=[room("r", 3)]))
    attendees = ("a0", "a1", "a2", "a3") if "equipment" not in kwargs and "location" not in kwargs else ("a0",)
    outcome = engine.book(request(attendees=attendees, **kwargs))
    assert outcome.reason is reason


def test_room_always_busy():
    engine = SlotEngine(problem([agent("a1")], rooms=[room("r", 4, busy=[(at(0, 0), at(7, 0))])]))
    assert engine.book(request(room_needed=True)).reason is Reason.NO_ROOM_FREE


def test_window_times_of_day_weekdays_and_step():
    engine = SlotEngine(problem([agent("a1")]))
    outcome = engine.book(request(window_start=MONDAY + timedelta(days=2), earliest_minute=13 * 60 + 15,
                                  weekdays=frozenset({2, 3}), params=SearchParams(step_minutes=30)))
    assert only_start(outcome) == index(2, 13, 30)
    assert engine.book(request("r2", earliest_minute=16 * 60 + 45)).reason is Reason.OUTSIDE_WINDOW


def test_never_double_books_an_attendee():
    engine = SlotEngine(problem([agent("a1", shift(days=[0], begin=8, end=9, breaks=(), lunch=None))]))
    first = engine.book(request("r1", minutes=60))
    second = engine.book(request("r2", minutes=15))
    assert first.placed
    assert second.reason is Reason.ATTENDEE_UNAVAILABLE


def test_impact_limit_per_interval():
    team = [agent(f"a{i}") for i in range(4)]
    params = SearchParams(max_added_per_interval=1.0)
    engine = SlotEngine(problem(team, required=4.0))  # every agent needed: each one pulled costs 1
    assert engine.book(request(attendees=("a0",), params=params)).placed
    outcome = engine.book(request("r2", attendees=("a1", "a2"), params=params))
    assert outcome.reason is Reason.IMPACT_ABOVE_LIMIT


def test_team_share_limit():
    team = [agent(f"a{i}") for i in range(4)]
    params = SearchParams(max_team_share=0.5)
    engine = SlotEngine(problem(team))
    assert engine.book(request(attendees=("a0", "a1"), params=params)).placed
    outcome = engine.book(request("r2", attendees=("a0", "a1", "a2"), params=params))
    assert outcome.reason is Reason.TEAM_SHARE_LIMIT


def test_unknown_person():
    outcome = SlotEngine(problem([agent("a1")])).book(request(attendees=("a1", "ghost")))
    assert outcome.reason is Reason.UNKNOWN_PERSON and "ghost" in outcome.detail


def test_cheapest_time_then_preference_then_earliest():
    required = np.zeros((1, 7 * 96))
    required[0, :] = 2.0  # two agents needed everywhere: pulling one of two costs 1 ...
    required[0, index(1, 14):index(1, 16)] = 0.0  # ... except Tuesday 14:00-16:00
    team = [agent("a1"), agent("a2")]
    engine = SlotEngine(problem(team, required=required))
    assert only_start(engine.search(request())) == index(1, 14)
    assert only_start(engine.search(request(preferred_minute=14 * 60 + 30))) == index(1, 14, 30)
    # 15:00 is a break, so the nearest start to a 15:00 preference is 15:15 (15:30 would end after 16:00... and cost)
    assert only_start(engine.search(request(preferred_minute=15 * 60))) == index(1, 15, 15)


def test_explanation_names_runner_up_and_what_ruled_out_cheaper_times():
    required = np.full((1, 7 * 96), 2.0)  # both agents needed: pulling one costs 1 per interval ...
    required[0, index(0, 8):index(0, 9)] = 0.0  # ... except Monday 08:00-09:00 (facilitator busy)
    required[0, index(2, 9):index(2, 9, 30)] = 1.0  # ... and Wednesday 09:00-09:30
    engine = SlotEngine(problem([agent("a1"), agent("a2")], required=required,
                                facilitators=[facilitator(busy=[(at(0, 8), at(0, 9))])]))
    outcome = engine.book(request(facilitator="sup"))
    (explanation,) = outcome.explanations
    assert outcome.placements[0].start_index == index(2, 9)
    assert explanation.impact == pytest.approx(0.0)
    assert [i.added for i in explanation.intervals] == [0.0, 0.0]
    assert [i.required for i in explanation.intervals] == [1.0, 1.0]
    assert explanation.runner_up is not None and explanation.runner_up.impact == pytest.approx(2.0)
    assert explanation.ruled_out == ()  # nothing is cheaper than free
    engine.release("r1")
    # Now a1 is busy on Wednesday at 09:00 too: the explanation says why both free times were not taken.
    wednesday = MONDAY + timedelta(days=2)
    assert engine.book(request("blocker", window_start=wednesday, window_end=wednesday, earliest_minute=9 * 60,
                               latest_minute=10 * 60, minutes=60)).placed
    again = engine.book(request(facilitator="sup"))
    assert again.placements[0].impact == pytest.approx(2.0)
    why = {alt.start: alt.why_not for alt in again.explanations[0].ruled_out}
    assert why[at(0, 8)] == ("facilitator sup is not free",)
    assert why[at(2, 9)] == ("a1 is busy",)
    assert "agent-hours" in again.explanations[0].summary()


def test_training_bigger_than_any_room_is_split_into_sessions():
    people = [agent(f"a{i}") for i in range(7)]
    engine = SlotEngine(problem(people, facilitators=[facilitator()], rooms=[room("r", 4)]))
    attendees = tuple(f"a{i}" for i in range(7))
    outcome = engine.book(request(attendees=attendees, facilitator="sup", room_needed=True, split_sessions=True,
                                  minutes=120))
    assert outcome.placed
    sessions = sorted(outcome.placements, key=lambda p: p.start_index)
    assert len(sessions) == 3  # 3 seats per session plus the facilitator
    assert sorted(a for p in sessions for a in p.attendees) == sorted(attendees)
    for first, second in itertools.pairwise(sessions):
        assert first.end_index <= second.start_index  # one facilitator, one room: sessions never overlap
    without_split = engine.book(request("r2", attendees=attendees, facilitator="sup", room_needed=True))
    assert without_split.reason is Reason.NO_ROOM_BIG_ENOUGH


def test_release_restores_the_state_exactly():
    engine = SlotEngine(problem([agent("a1"), agent("a2")], required=1.0, facilitators=[facilitator()],
                                rooms=[room("r", 4)]))
    before = (engine.states.copy(), engine.scheduled.copy(), engine.fac_free.copy(), engine.room_free.copy())
    engine.book(request(attendees=("a1", "a2"), facilitator="sup", room_needed=True, minutes=150))
    engine.book(request("r2", attendees=("a1",), minutes=30))
    assert engine.added_understaffing() > 0
    engine.release("r2")
    engine.release("r1")
    after = (engine.states, engine.scheduled, engine.fac_free, engine.room_free)
    for old, new in zip(before, after, strict=True):
        np.testing.assert_array_equal(old, new)
    assert engine.added_understaffing() == pytest.approx(0.0)
