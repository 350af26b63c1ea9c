"""Seeded organisation drafts: units, teams, supervisors, ops managers, agents and their day plans.

Everything comes from ``random.Random`` streams named after the seed and the unit, so the same
configuration always yields the same people and plans, and adding a unit does not reshuffle the others.
Plans are minutes from the simulated day start (the configured ``start``), shifts begin 15-75 min after it.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from services.adapters.simulated import catalog
from services.adapters.simulated.behaviour import Mode
from services.adapters.simulated.segments import Plan, fill, paint
from services.config import SimulatorConfig
from services.domain.model import Agent, ExceptionWindow, ManagementUnit, Person, Team

ON_QUEUE, BREAK, MEAL, MEETING, TRAINING = range(len(catalog.ACTIVITY_CODES))
"""Activity-code indexes used in plans (positions in :data:`catalog.ACTIVITY_CODES`)."""

BREAK_MINUTES = 15
HUDDLE = (75, 105)  # the optional morning team huddle; every shift has started by then, none has had a break
_SHIFT_STARTS = (15, 30, 45, 60, 75)
_MEAL_LENGTHS = (30, 45, 60)
_FIRST_BREAK = (120, 135, 150, 165)  # minutes after the shift starts
_MEAL_AT = (240, 255, 270, 285)
_SECOND_BREAK = (375, 390, 405)
PAID_MINUTES = 480  # the meal is unpaid: a shift lasts 8 h plus the meal

LEGACY_SHARE = 0.25  # agents on the older AVAILABLE/BUSY presence style
HUDDLE_SHARE = 0.4  # teams that hold the morning huddle
TWO_SUPERVISORS_SHARE = 0.35


@dataclass(slots=True)
class AgentDraft:
    agent: Agent
    plan: Plan
    key: int  # seeds the agent's handling rhythm
    legacy: bool
    paints: list[tuple[int, int, Mode]] = field(default_factory=list)  # scripted deviations from the plan
    new_plan: Plan | None = None  # the plan after a mid-day republish


@dataclass(slots=True)
class UnitDraft:
    mu: ManagementUnit
    teams: list[Team]
    members: dict[str, list[AgentDraft]]
    people: dict[str, Person]
    silent: set[str] = field(default_factory=set)  # agents whose state is never reported
    exceptions: list[ExceptionWindow] = field(default_factory=list)
    republish_minute: int | None = None

    @property
    def agents(self) -> list[AgentDraft]:
        return [a for team in self.teams for a in self.members[team.id]]


def parse_start(config: SimulatorConfig) -> tuple[int, int]:
    """``config.start`` ("HH:MM") as (hour, minute), with an error that names the key."""
    try:
        hour, minute = (int(part) for part in config.start.split(":"))
    except ValueError:
        raise ValueError(f"simulator.start must be HH:MM, got {config.start!r}") from None
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ValueError(f"simulator.start must be HH:MM, got {config.start!r}")
    return hour, minute


class _Emails:
    """first.last@example.com, numbered from the second person of the same name on."""

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()

    def __call__(self, name: str) -> str:
        base = name.lower().replace(" ", ".")
        self._seen[base] += 1
        count = self._seen[base]
        return f"{base}{count if count > 1 else ''}@example.com"


class _PlanMaker:
    """Draws shift plans; identical draws return the same tuple so 50k agents share a few hundred."""

    def __init__(self) -> None:
        self._made: dict[tuple[int, ...], Plan] = {}

    def __call__(self, rng: random.Random, huddle: bool) -> Plan:
        draw = rng.random
        start = _SHIFT_STARTS[int(draw() * len(_SHIFT_STARTS))]
        meal = _MEAL_LENGTHS[int(draw() * len(_MEAL_LENGTHS))]
        first = start + _FIRST_BREAK[int(draw() * len(_FIRST_BREAK))]
        lunch = start + _MEAL_AT[int(draw() * len(_MEAL_AT))]
        second = start + _SECOND_BREAK[int(draw() * len(_SECOND_BREAK))]
        params = (start, meal, first, lunch, second, huddle)
        plan = self._made.get(params)
        if plan is None:
            blocks = [(first, first + BREAK_MINUTES, BREAK), (lunch, lunch + meal, MEAL),
                      (second, second + BREAK_MINUTES, BREAK)]
            if huddle:
                blocks.append((*HUDDLE, MEETING))
            plan = self._made[params] = fill(start, start + PAID_MINUTES + meal, blocks, ON_QUEUE)
        return plan


def without(plan: Plan, code: int) -> Plan:
    """``plan`` with every ``code`` span turned into on-queue work."""
    spans = list(plan)
    for start, end, found in plan:
        if found == code:
            spans = paint(spans, start, end, ON_QUEUE)
    return tuple(spans)


def _name(rng: random.Random) -> str:
    return f"{rng.choice(catalog.FIRST_NAMES)} {rng.choice(catalog.LAST_NAMES)}"


def draft_units(config: SimulatorConfig) -> list[UnitDraft]:
    emails, plans = _Emails(), _PlanMaker()
    return [_draft_unit(config, index, emails, plans) for index in range(config.management_units)]


def _draft_unit(config: SimulatorConfig, index: int, emails: _Emails, plans: _PlanMaker) -> UnitDraft:
    rng = random.Random(f"sim:{config.seed}:unit:{index}")
    mu_id = f"mu-{index + 1}"
    people: dict[str, Person] = {}

    def person(person_id: str) -> str:
        name = _name(rng)
        people[person_id] = Person(person_id, name, emails(name))
        return person_id

    mu = ManagementUnit(mu_id, catalog.numbered(catalog.UNIT_NAMES, index), "UTC", (person(f"{mu_id}-ops1"),))
    teams: list[Team] = []
    members: dict[str, list[AgentDraft]] = {}
    for t in range(config.teams_per_unit):
        team_id = f"{mu_id}-t{t + 1}"
        supervisors = 2 if rng.random() < TWO_SUPERVISORS_SHARE else 1
        team = Team(team_id, catalog.numbered(catalog.TEAM_NAMES, t), mu_id,
                    tuple(person(f"{team_id}-sup{s + 1}") for s in range(supervisors)))
        huddle = rng.random() < HUDDLE_SHARE
        drafts = []
        for a in range(config.agents_per_team):
            name = _name(rng)
            agent = Agent(f"{team_id}-a{a + 1:03d}", name, team_id, mu_id, emails(name))
            plan, key, legacy = plans(rng, huddle), rng.getrandbits(63), rng.random() < LEGACY_SHARE
            drafts.append(AgentDraft(agent, plan, key, legacy))
        teams.append(team)
        members[team_id] = drafts
    return UnitDraft(mu, teams, members, people)
