"""Turn drafts into the simulator's read-only world: rosters, published schedules, behaviour timelines.

Schedules and timelines are built once per distinct plan and shared between agents (a few hundred plans
serve 50,000 agents), which keeps generation fast and memory small.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from services.adapters.simulated import catalog
from services.adapters.simulated.behaviour import MODE_OF_CATEGORY, Mode, Rhythm, Timeline
from services.adapters.simulated.generator import AgentDraft, UnitDraft, draft_units, parse_start
from services.adapters.simulated.scenarios import Scenario, place
from services.adapters.simulated.segments import Plan, paint
from services.config import SimulatorConfig
from services.domain.model import (
    AgentSchedule,
    ExceptionWindow,
    ManagementUnit,
    Person,
    Roster,
    ScheduledActivity,
)


@dataclass(frozen=True, slots=True)
class _Compiled:
    schedule: AgentSchedule  # agent_id left empty: copied per agent
    timeline: Timeline
    shift: tuple[float, float]


class _PlanBook:
    """Compiles each distinct plan once (activities, schedule template, timeline) and shares the result."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self._origin = start.timestamp()
        self._times: dict[int, datetime] = {}
        self._plans: dict[Plan, _Compiled] = {}

    def time(self, minute: int) -> datetime:
        when = self._times.get(minute)
        if when is None:
            when = self._times[minute] = self.start + timedelta(minutes=minute)
        return when

    def seconds(self, minute: float) -> float:
        return self._origin + minute * 60

    def compiled(self, plan: Plan) -> _Compiled:
        found = self._plans.get(plan)
        if found is None:
            codes = catalog.ACTIVITY_CODES
            activities = [ScheduledActivity(self.time(s), self.time(e), codes[c].category, codes[c].id,
                                            codes[c].name) for s, e, c in plan]
            spans = [(s, e, MODE_OF_CATEGORY[codes[c].category]) for s, e, c in plan]
            shift = (self.seconds(plan[0][0]), self.seconds(plan[-1][1]))
            found = _Compiled(AgentSchedule.of("", activities), self.timeline(plan, spans), shift)
            self._plans[plan] = found
        return found

    def timeline(self, plan: Plan, spans: list[tuple[int, int, Mode]]) -> Timeline:
        # Before the day the agent has been offline since their previous shift ended, 24 h earlier.
        return Timeline.of(((self.seconds(s), self.seconds(e), m) for s, e, m in spans),
                           self.seconds(plan[-1][1] - 24 * 60))

    def behaviour(self, draft: AgentDraft) -> Timeline:
        """What the agent actually does: the plan they follow, with their scripted deviations painted on."""
        plan = draft.new_plan or draft.plan
        if not draft.paints:
            return self.compiled(plan).timeline
        codes = catalog.ACTIVITY_CODES
        spans = [(s, e, MODE_OF_CATEGORY[codes[c].category]) for s, e, c in plan]
        for start, end, mode in draft.paints:
            spans = paint(spans, start, end, mode)
        return self.timeline(plan, spans)

    def schedule(self, agent_id: str, plan: Plan) -> AgentSchedule:
        return dataclasses.replace(self.compiled(plan).schedule, agent_id=agent_id)


@dataclass(frozen=True, slots=True)
class Republish:
    at: datetime
    schedules: dict[str, AgentSchedule]  # every agent of the unit, as published after ``at``


@dataclass(frozen=True, slots=True)
class Unit:
    """One management unit, ready to serve. Per-agent lists are parallel to ``agent_ids``."""

    mu: ManagementUnit
    roster: Roster
    agent_ids: tuple[str, ...]
    timelines: tuple[Timeline, ...]
    rhythms: tuple[Rhythm, ...]
    legacy: tuple[bool, ...]
    shift_starts: tuple[float, ...]
    shift_ends: tuple[float, ...]
    schedules: dict[str, AgentSchedule]
    republish: Republish | None
    exceptions: tuple[ExceptionWindow, ...]
    silent: frozenset[str]


@dataclass(frozen=True, slots=True)
class World:
    start: datetime
    units: dict[str, Unit]
    scenarios: tuple[Scenario, ...]
    people: dict[str, Person]


def day_start(config: SimulatorConfig, day: date) -> datetime:
    """When the simulated day begins: ``day`` at ``config.start``, UTC."""
    hour, minute = parse_start(config)
    return datetime.combine(day, time(hour, minute), UTC)


def build_world(config: SimulatorConfig, day: date) -> World:
    start = day_start(config, day)
    drafts = draft_units(config)
    scenarios = place(drafts, start, config.seed)
    book = _PlanBook(start)
    units = {d.mu.id: _compile(d, book) for d in drafts}
    people = {pid: person for d in drafts for pid, person in d.people.items()}
    return World(start, units, tuple(scenarios), people)


def _compile(draft: UnitDraft, book: _PlanBook) -> Unit:
    agents = draft.agents
    teams = {t.id: t for t in draft.teams}
    roster = Roster(draft.mu, teams, {a.agent.id: a.agent for a in agents}, draft.people)
    shifts = [book.compiled(a.plan).shift for a in agents]
    schedules = {a.agent.id: book.schedule(a.agent.id, a.plan) for a in agents}
    republish = None
    if draft.republish_minute is not None:
        after = dict(schedules)
        after.update({a.agent.id: book.schedule(a.agent.id, a.new_plan) for a in agents if a.new_plan})
        republish = Republish(book.time(draft.republish_minute), after)
    return Unit(
        mu=draft.mu,
        roster=roster,
        agent_ids=tuple(a.agent.id for a in agents),
        timelines=tuple(book.behaviour(a) for a in agents),
        rhythms=tuple(Rhythm.of(a.key) for a in agents),
        legacy=tuple(a.legacy for a in agents),
        shift_starts=tuple(s[0] for s in shifts),
        shift_ends=tuple(s[1] for s in shifts),
        schedules=schedules,
        republish=republish,
        exceptions=tuple(draft.exceptions),
        silent=frozenset(draft.silent),
    )
