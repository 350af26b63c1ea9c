"""The rule table: (scheduled category, presence, routing) -> verdict + impact.

Rules are matched in order, first match wins; management units prepend their overrides to the
defaults. The table is compiled into a dict over the (small, finite) product of the three enums so
that evaluating an agent is one lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import product

from services.domain.states import ActivityCategory, Presence, RoutingStatus


class Verdict(StrEnum):
    IN = "in"
    OUT = "out"
    NEUTRAL = "neutral"


class Impact(StrEnum):
    NEGATIVE = "negative"  # service loses (scheduled on queue but Away)
    POSITIVE = "positive"  # service gains (stayed on queue through a break)
    NEUTRAL = "neutral"


@dataclass(frozen=True, slots=True)
class Rule:
    """``None`` in a field means "any"."""

    category: ActivityCategory | None
    presences: frozenset[Presence] | None
    routings: frozenset[RoutingStatus] | None
    verdict: Verdict
    impact: Impact = Impact.NEUTRAL

    def matches(self, category: ActivityCategory, presence: Presence, routing: RoutingStatus) -> bool:
        return (
            (self.category is None or self.category == category)
            and (self.presences is None or presence in self.presences)
            and (self.routings is None or routing in self.routings)
        )


def _rule(
    category: ActivityCategory | None,
    presences: Iterable[Presence] | None,
    routings: Iterable[RoutingStatus] | None,
    verdict: Verdict,
    impact: Impact = Impact.NEUTRAL,
) -> Rule:
    return Rule(
        category,
        frozenset(presences) if presences is not None else None,
        frozenset(routings) if routings is not None else None,
        verdict,
        impact,
    )


C, P, R = ActivityCategory, Presence, RoutingStatus
ON_QUEUE_ROUTING = (R.IDLE, R.INTERACTING, R.COMMUNICATING)

#: Defaults: the seed's combinations, plus Genesys's rule that scheduled on-queue work is adherent
#: when presence is On Queue or routing is IDLE / INTERACTING / COMMUNICATING.
DEFAULT_RULES: tuple[Rule, ...] = (
    _rule(C.UNSCHEDULED, None, None, Verdict.NEUTRAL),
    # Scheduled on queue.
    _rule(C.ON_QUEUE_WORK, [P.ON_QUEUE], None, Verdict.IN),
    _rule(C.ON_QUEUE_WORK, None, ON_QUEUE_ROUTING, Verdict.IN),
    _rule(C.ON_QUEUE_WORK, None, None, Verdict.OUT, Impact.NEGATIVE),
    # Anything scheduled off queue: taking calls instead is a deviation that helps service.
    # The seed also accepts (Break, IDLE): some orgs let an agent sit in routing idle on break.
    _rule(C.BREAK, [P.BREAK, P.AWAY], [R.OFF_QUEUE, R.NOT_RESPONDING, R.OFFLINE, R.IDLE], Verdict.IN),
    _rule(C.MEAL, [P.MEAL, P.AWAY, P.BREAK], [R.OFF_QUEUE, R.NOT_RESPONDING, R.OFFLINE], Verdict.IN),
    _rule(C.MEETING, [P.MEETING, P.BUSY], [R.OFF_QUEUE, R.NOT_RESPONDING], Verdict.IN),
    _rule(C.TRAINING, [P.TRAINING, P.BUSY, P.MEETING], [R.OFF_QUEUE, R.NOT_RESPONDING], Verdict.IN),
    _rule(C.OFF_QUEUE_WORK, [P.AVAILABLE, P.BUSY, P.IDLE, P.MEETING, P.TRAINING, P.AWAY],
          [R.OFF_QUEUE, R.NOT_RESPONDING], Verdict.IN),
    _rule(C.TIME_OFF, [P.OFFLINE], None, Verdict.IN),
    _rule(C.UNAVAILABLE, [P.OFFLINE], None, Verdict.IN),
    _rule(None, [P.ON_QUEUE], None, Verdict.OUT, Impact.POSITIVE),
    _rule(None, None, ON_QUEUE_ROUTING, Verdict.OUT, Impact.POSITIVE),
    _rule(None, None, None, Verdict.OUT, Impact.NEUTRAL),
)


class RuleTable:
    """A compiled, ordered rule list. Build one per management unit with its overrides first."""

    __slots__ = ("_table", "rules")

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        self._table: dict[tuple[ActivityCategory, Presence, RoutingStatus], tuple[Verdict, Impact]] = {}
        for key in product(ActivityCategory, Presence, RoutingStatus):
            rule = next((r for r in self.rules if r.matches(*key)), None)
            self._table[key] = (rule.verdict, rule.impact) if rule else (Verdict.NEUTRAL, Impact.NEUTRAL)

    @classmethod
    def with_overrides(cls, overrides: Sequence[Rule] = ()) -> RuleTable:
        return cls((*overrides, *DEFAULT_RULES))

    def judge(
        self, category: ActivityCategory, presence: Presence, routing: RoutingStatus
    ) -> tuple[Verdict, Impact]:
        return self._table[(category, presence, routing)]


DEFAULT_TABLE = RuleTable(DEFAULT_RULES)
