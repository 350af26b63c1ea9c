"""Recurring requests: periods, minimum gaps, all-or-nothing, and the cheapest chain of occurrences."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import numpy as np
import pytest

from services.domain.slots import Reason, Recurrence, SlotEngine
from services.domain.slots.recurrence import occurrence_periods
from tests.booking.slot_fixtures import MONDAY, agent, index, problem, request, shift


@pytest.mark.parametrize(("rule", "start", "end", "expected"), [
    (Recurrence("daily", every=2), date(2026, 6, 1), date(2026, 6, 6),
     [("06-01", "06-02"), ("06-03", "06-04"), ("06-05", "06-06")]),
    (Recurrence("weekly"), date(2026, 6, 3), date(2026, 6, 16),  # Wednesday start: first week is partial
     [("06-03", "06-07"), ("06-08", "06-14"), ("06-15", "06-16")]),
    (Recurrence("weekly", every=2, count=2), date(2026, 6, 1), date(2026, 7, 31),
     [("06-01", "06-14"), ("06-15", "06-28")]),
    (Recurrence("monthly", until=date(2026, 8, 10)), date(2026, 6, 20), date(2026, 12, 31),
     [("06-20", "06-30"), ("07-01", "07-31"), ("08-01", "08-10")]),
    (Recurrence("monthly", every=2), date(2026, 11, 5), date(2027, 3, 1),
     [("11-05", "12-31"), ("01-01", "02-28"), ("03-01", "03-01")]),
    (Recurrence("monthly", count=3), date(2028, 1, 31), date(2028, 12, 31),  # months of 31, 29 (leap), 31 days
     [("01-31", "01-31"), ("02-01", "02-29"), ("03-01", "03-31")]),
    (Recurrence("weekly", every=3), date(2026, 12, 27), date(2027, 1, 31),  # a Sunday: its week began Monday 21
     [("12-27", "01-10"), ("01-11", "01-31")]),
    (Recurrence("daily", until=date(2026, 5, 30)), date(2026, 6, 1), date(2026, 6, 5), []),  # ends before it opens
])
def test_periods(rule, start, end, expected):
    periods = occurrence_periods(request(window_start=start, window_end=end, recurrence=rule))
    assert [(f"{p.first:%m-%d}", f"{p.last:%m-%d}") for p in periods] == expected
    assert [p.index for p in periods] == list(range(len(expected)))


def test_invalid_rules_are_refused():
    with pytest.raises(ValueError, match="every"):
        Recurrence("weekly", every=0)
    with pytest.raises(ValueError, match="gap"):
        Recurrence("weekly", min_gap_days=-1)


def test_every_occurrence_in_its_period_with_the_minimum_gap():
    engine = SlotEngine(problem([agent("a1", shift(days=range(14)))], days=14))
    rule = Recurrence("weekly", min_gap_days=6)
    outcome = engine.book(request(window_end=MONDAY + timedelta(days=13), recurrence=rule,
                                  weekdays=frozenset(range(5))))
    assert outcome.placed
    first, second = sorted(outcome.placements, key=lambda p: p.occurrence)
    assert first.start_index < 7 * 96 <= second.start_index  # one per week
    assert (second.start.date() - first.start.date()).days >= 6
    assert len(outcome.explanations) == 2


def test_gap_impossible_means_nothing_is_booked():
    engine = SlotEngine(problem([agent("a1")]))
    rule = Recurrence("daily", min_gap_days=2, count=3)
    outcome = engine.book(request(recurrence=rule))
    assert outcome.reason is Reason.RECURRENCE_IMPOSSIBLE
    assert not engine.bookings
    np.testing.assert_array_equal(engine.states, engine.problem.states)


def test_an_impossible_occurrence_names_itself():
    engine = SlotEngine(problem([agent("a1", shift(days=[0, 1, 3, 4]))]))  # Wednesday off
    outcome = engine.book(request(recurrence=Recurrence("daily")))
    assert outcome.reason is Reason.OUTSIDE_SHIFTS
    assert outcome.detail.startswith("occurrence 3 (from 03 Jun)")


def test_chain_is_the_cheapest_combination_that_keeps_the_gap():
    # Two occurrences (week 1, week 2) at least 9 days apart. Cost is lowest on Friday of week 1
    # and Monday of week 2 (too close), so the best chain trades one of them off.
    rng = np.random.default_rng(3)
    required = rng.integers(0, 3, size=(1, 14 * 96)).astype(float)
    engine = SlotEngine(problem([agent("a1", shift(days=range(14))), agent("a2", shift(days=range(14)))],
                                required=required, days=14))
    rule = Recurrence("weekly", min_gap_days=9)
    req = request(attendees=("a1", "a2"), window_end=MONDAY + timedelta(days=13), recurrence=rule, minutes=60)
    outcome = engine.search(req, explain=False)
    assert outcome.placed
    chosen = sum(p.impact for p in outcome.placements)

    # Brute force over every pair of feasible single-week placements.
    singles = []
    for week in range(2):
        lo = MONDAY + timedelta(days=7 * week)
        options = []
        for day, minute in itertools.product(range(7), range(8 * 60, 16 * 60 + 1, 15)):
            one = request("probe", attendees=("a1", "a2"), minutes=60, window_start=lo + timedelta(days=day),
                          window_end=lo + timedelta(days=day), earliest_minute=minute, latest_minute=minute + 60)
            probe = engine.search(one, explain=False)
            if probe.placed:
                options.append((probe.placements[0].start.date(), probe.impact))
        singles.append(options)
    best = min(a[1] + b[1] for a in singles[0] for b in singles[1] if (b[0] - a[0]).days >= 9)
    assert chosen == pytest.approx(best)


def test_monday_index_helper_matches_the_grid():
    engine = SlotEngine(problem([agent("a1")]))
    assert engine.grid.time_of(index(2, 9, 30)).isoformat() == "2026-06-03T09:30:00+00:00"
