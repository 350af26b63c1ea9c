"""Normalisation of every Genesys spelling, and the default rule table on the seed's examples."""

from __future__ import annotations

import pytest

from services.domain.rules import DEFAULT_TABLE, Impact, Rule, RuleTable, Verdict
from services.domain.states import (
    ActivityCategory,
    Presence,
    RoutingStatus,
    normalize_category,
    normalize_presence,
    normalize_routing,
)

C, P, R = ActivityCategory, Presence, RoutingStatus


@pytest.mark.parametrize("raw", ["On Queue", "ON_QUEUE", "OnQueue", "onqueue", "on-queue"])
def test_every_spelling_of_on_queue_folds_to_one_value(raw: str) -> None:
    assert normalize_presence(raw) is P.ON_QUEUE


@pytest.mark.parametrize(("raw", "expected"), [
    ("Available", P.AVAILABLE), ("AVAILABLE", P.AVAILABLE), ("Away", P.AWAY), ("BUSY", P.BUSY),
    ("Offline", P.OFFLINE), ("Meal", P.MEAL), ("Break", P.BREAK), ("Training", P.TRAINING),
    ("Meeting", P.MEETING), ("IDLE", P.IDLE), ("Lunch", P.MEAL),
])
def test_presence_spellings(raw: str, expected: Presence) -> None:
    assert normalize_presence(raw) is expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("OFF_QUEUE", R.OFF_QUEUE), ("IDLE", R.IDLE), ("INTERACTING", R.INTERACTING),
    ("NOT_RESPONDING", R.NOT_RESPONDING), ("COMMUNICATING", R.COMMUNICATING), ("OFFLINE", R.OFFLINE),
    ("Interacting", R.INTERACTING),
])
def test_routing_spellings(raw: str, expected: RoutingStatus) -> None:
    assert normalize_routing(raw) is expected


@pytest.mark.parametrize("raw", [None, "", "__EMPTY__", "Sleeping", "UNKNOWN"])
def test_unknown_or_missing_spellings_are_none_not_a_guess(raw: str | None) -> None:
    assert normalize_routing(raw) is None
    assert normalize_presence(raw) is None


@pytest.mark.parametrize(("raw", "expected"), [
    ("OnQueueWork", C.ON_QUEUE_WORK), ("ON_QUEUE_WORK", C.ON_QUEUE_WORK), ("Break", C.BREAK), ("Meal", C.MEAL),
    ("Meeting", C.MEETING), ("Training", C.TRAINING), ("OffQueueWork", C.OFF_QUEUE_WORK),
    ("TimeOff", C.TIME_OFF), ("Unavailable", C.UNAVAILABLE), ("Unscheduled", C.UNSCHEDULED),
])
def test_category_spellings(raw: str, expected: ActivityCategory) -> None:
    assert normalize_category(raw) is expected


SEED_AND_GENESYS_CASES = [
    # The seed's adherent combinations.
    (C.ON_QUEUE_WORK, P.AVAILABLE, R.IDLE, Verdict.IN, Impact.NEUTRAL),
    (C.ON_QUEUE_WORK, P.AVAILABLE, R.INTERACTING, Verdict.IN, Impact.NEUTRAL),
    (C.ON_QUEUE_WORK, P.BUSY, R.INTERACTING, Verdict.IN, Impact.NEUTRAL),
    (C.ON_QUEUE_WORK, P.BUSY, R.COMMUNICATING, Verdict.IN, Impact.NEUTRAL),
    (C.ON_QUEUE_WORK, P.AVAILABLE, R.COMMUNICATING, Verdict.IN, Impact.NEUTRAL),
    (C.BREAK, P.BREAK, R.NOT_RESPONDING, Verdict.IN, Impact.NEUTRAL),
    (C.BREAK, P.AWAY, R.NOT_RESPONDING, Verdict.IN, Impact.NEUTRAL),
    (C.BREAK, P.BREAK, R.IDLE, Verdict.IN, Impact.NEUTRAL),
    (C.MEAL, P.MEAL, R.NOT_RESPONDING, Verdict.IN, Impact.NEUTRAL),
    (C.MEAL, P.AWAY, R.NOT_RESPONDING, Verdict.IN, Impact.NEUTRAL),
    (C.TIME_OFF, P.OFFLINE, R.OFFLINE, Verdict.IN, Impact.NEUTRAL),
    # Genesys: scheduled on queue is adherent when presence is On Queue, whatever the routing.
    (C.ON_QUEUE_WORK, P.ON_QUEUE, R.NOT_RESPONDING, Verdict.IN, Impact.NEUTRAL),
    (C.ON_QUEUE_WORK, P.ON_QUEUE, R.OFF_QUEUE, Verdict.IN, Impact.NEUTRAL),
    # The seed's non-adherent examples.
    (C.ON_QUEUE_WORK, P.AWAY, R.OFF_QUEUE, Verdict.OUT, Impact.NEGATIVE),
    (C.ON_QUEUE_WORK, P.OFFLINE, R.OFFLINE, Verdict.OUT, Impact.NEGATIVE),
    (C.MEAL, P.AVAILABLE, R.IDLE, Verdict.OUT, Impact.POSITIVE),  # "Lunch -> Available: unusual but happens"
    # Stayed on queue through a break: service gains.
    (C.BREAK, P.ON_QUEUE, R.IDLE, Verdict.OUT, Impact.POSITIVE),
    (C.TRAINING, P.ON_QUEUE, R.INTERACTING, Verdict.OUT, Impact.POSITIVE),
    # Off queue when not scheduled on queue, but not doing what was scheduled: neutral.
    (C.MEETING, P.AWAY, R.OFF_QUEUE, Verdict.OUT, Impact.NEUTRAL),
    (C.UNSCHEDULED, P.AWAY, R.OFF_QUEUE, Verdict.NEUTRAL, Impact.NEUTRAL),
]


@pytest.mark.parametrize(("category", "presence", "routing", "verdict", "impact"), SEED_AND_GENESYS_CASES)
def test_default_rule_table(category: ActivityCategory, presence: Presence, routing: RoutingStatus,
                            verdict: Verdict, impact: Impact) -> None:
    assert DEFAULT_TABLE.judge(category, presence, routing) == (verdict, impact)


def test_an_override_wins_over_the_defaults_only_where_it_matches() -> None:
    lenient = RuleTable.with_overrides([
        Rule(C.BREAK, frozenset({P.OFFLINE}), None, Verdict.IN, Impact.NEUTRAL),
    ])
    assert lenient.judge(C.BREAK, P.OFFLINE, R.OFFLINE) == (Verdict.IN, Impact.NEUTRAL)
    assert DEFAULT_TABLE.judge(C.BREAK, P.OFFLINE, R.OFFLINE) == (Verdict.OUT, Impact.NEUTRAL)
    assert lenient.judge(C.ON_QUEUE_WORK, P.OFFLINE, R.OFFLINE) == (Verdict.OUT, Impact.NEGATIVE)


def test_every_combination_has_a_verdict() -> None:
    for category in C:
        for presence in P:
            for routing in R:
                verdict, impact = DEFAULT_TABLE.judge(category, presence, routing)
                assert verdict in Verdict and impact in Impact
