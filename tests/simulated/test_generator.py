"""The generated organisation: deterministic from the seed, realistic in shape, and fast at scale."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise

import pytest

from services.adapters.simulated import ACTIVITY_CODES, Scenario, ScenarioKind, SimulatedContactCenter, day_start
from services.clock import ManualClock
from services.config import SimulatorConfig
from services.domain.model import AgentSchedule, AgentState, ManagementUnit, Person, Roster
from services.domain.states import ActivityCategory
from tests.simulated.conftest import DAY, Sim

C = ActivityCategory


@dataclass
class Snapshot:
    units: list[ManagementUnit]
    rosters: list[Roster]
    schedules: list[dict[str, AgentSchedule]]
    states: list[list[dict[str, AgentState]]]
    scenarios: tuple[Scenario, ...]
    people: dict[str, Person]


async def _snapshot(sim: Sim) -> Snapshot:
    cc = sim.cc
    units = list(await cc.management_units())
    rosters = [await cc.roster(mu.id) for mu in units]
    day = (cc.start - timedelta(hours=1), cc.start + timedelta(hours=14))
    schedules = [dict(await cc.schedules(mu.id, *day)) for mu in units]
    states = []
    for hours in (0.5, 2.25, 4.9, 9.0):
        sim.at(cc.start + timedelta(hours=hours))
        states.append([dict(await cc.live_states(mu.id)) for mu in units])
    return Snapshot(units, rosters, schedules, states, cc.scenarios, dict(cc.people))


async def test_same_seed_gives_the_same_world() -> None:
    config = SimulatorConfig(seed=3, management_units=2, teams_per_unit=3, agents_per_team=8)
    first, second = await _snapshot(Sim(config)), await _snapshot(Sim(config))
    assert first == second
    assert sum(len(r.agents) for r in first.rosters) == 48 and len(first.scenarios) == 10


async def test_a_different_seed_gives_different_people_plans_and_behaviour() -> None:
    first, second = await _snapshot(Sim(SimulatorConfig(seed=1))), await _snapshot(Sim(SimulatorConfig(seed=2)))
    assert first.units == second.units  # unit ids and names come from the configuration, not the seed
    assert first.people != second.people
    assert [{a.name for a in r.agents.values()} for r in first.rosters] != [
        {a.name for a in r.agents.values()} for r in second.rosters]
    assert first.schedules != second.schedules
    assert first.states != second.states
    assert [s.agent_id for s in first.scenarios] != [s.agent_id for s in second.scenarios]


async def test_units_teams_and_people_are_readable_and_routable(roomy: Sim) -> None:
    cc = roomy.cc
    units = await cc.management_units()
    assert [mu.id for mu in units] == ["mu-1", "mu-2", "mu-3"]
    assert [mu.name for mu in units] == ["EMEA North", "Americas East", "APAC"]
    emails: list[str] = []
    for mu in units:
        roster = await cc.roster(mu.id)
        assert roster.mu == mu
        assert len(mu.ops_manager_ids) == 1 and [p.id for p in roster.ops_managers()] == list(mu.ops_manager_ids)
        assert list(roster.teams) == [f"{mu.id}-t{n}" for n in range(1, 5)]
        assert len({t.name for t in roster.teams.values()}) == 4
        for team in roster.teams.values():
            assert 1 <= len(team.supervisor_ids) <= 2
            assert all(s in roster.people and s in cc.people for s in team.supervisor_ids)
        assert len(roster.agents) == 4 * 12
        for agent in roster.agents.values():
            assert agent.mu_id == mu.id and agent.team_id in roster.teams
            assert re.fullmatch(r"mu-\d+-t\d+-a\d{3}", agent.id)
            assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", agent.name)
            supervisors = roster.supervisors_of(agent.id)
            assert supervisors and all(s.email for s in supervisors)
            emails.append(agent.email)
        emails += [p.email for p in roster.people.values()]
    for email in emails:
        assert re.fullmatch(r"[a-z]+\.[a-z]+\d*@example\.com", email), email
    assert len(emails) == len(set(emails)), "emails must be unique: supervisors are found in Slack by email"


def _check_shape(schedule: AgentSchedule, earliest: object, latest: object) -> None:
    acts = schedule.activities
    assert acts, schedule.agent_id
    for a, b in pairwise(acts):
        assert a.end == b.start, f"gap or overlap in {schedule.agent_id}: {a} / {b}"
        assert a.category != b.category, f"two neighbouring {a.category} activities in {schedule.agent_id}"
    for act in acts:
        assert act.start < act.end
        code = next(c for c in ACTIVITY_CODES if c.id == act.code_id)
        assert (code.category, code.name) == (act.category, act.name)
        minutes = (act.end - act.start).total_seconds() / 60
        if act.category is C.BREAK:
            assert minutes == 15
        elif act.category is C.MEAL:
            assert minutes in (30, 45, 60)
    # Breaks and meals sit inside the shift (a huddle may open it for the latest starters).
    assert acts[0].category in (C.ON_QUEUE_WORK, C.MEETING) and acts[-1].category is C.ON_QUEUE_WORK
    assert earliest <= acts[0].start <= latest  # type: ignore[operator]
    shift = (acts[-1].end - acts[0].start).total_seconds() / 3600
    meal = sum((a.end - a.start).total_seconds() / 3600 for a in acts if a.category is C.MEAL)
    breaks = [a for a in acts if a.category is C.BREAK]
    if meal:
        assert shift - meal == 8 and len(breaks) == 2 and 1 <= sum(a.category is C.MEAL for a in acts) <= 1
    else:  # the early-logout scenario's part-time shift
        assert shift == 4 and len(breaks) == 1


async def test_every_published_schedule_is_a_realistic_shift(roomy: Sim) -> None:
    cc = roomy.cc
    earliest, latest = cc.start + timedelta(minutes=15), cc.start + timedelta(minutes=75)
    seen: set[ActivityCategory] = set()
    for mu in await cc.management_units():
        roster = await cc.roster(mu.id)
        schedules = await cc.schedules(mu.id, cc.start - timedelta(hours=2), cc.start + timedelta(hours=14))
        assert set(schedules) == set(roster.agents)
        for agent_id, schedule in schedules.items():
            assert schedule.agent_id == agent_id
            _check_shape(schedule, earliest, latest)
            seen |= {a.category for a in schedule.activities}
    assert seen == {C.ON_QUEUE_WORK, C.BREAK, C.MEAL, C.MEETING}  # training only arrives with the republish


async def test_a_team_huddle_is_shared_by_the_whole_team(roomy: Sim) -> None:
    cc = roomy.cc
    huddles = 0
    for mu in await cc.management_units():
        roster = await cc.roster(mu.id)
        schedules = await cc.schedules(mu.id, cc.start, cc.start + timedelta(hours=12))
        scripted = {a for s in cc.scenarios for a in s.agent_ids}
        for team in roster.teams.values():
            meetings = {(a.start, a.end) for agent in roster.agents.values() if agent.team_id == team.id
                        and agent.id not in scripted for a in schedules[agent.id].activities
                        if a.category is C.MEETING}
            assert len(meetings) <= 1
            huddles += len(meetings)
    assert huddles >= 1


def test_a_bad_start_time_names_the_key() -> None:
    config = SimulatorConfig(start="quarter to eight")
    with pytest.raises(ValueError, match=r"simulator\.start must be HH:MM"):
        SimulatedContactCenter.build(config, ManualClock(day_start(SimulatorConfig(), DAY)), DAY)
    with pytest.raises(ValueError, match=r"simulator\.start"):
        day_start(SimulatorConfig(start="25:00"), DAY)


def test_the_day_defaults_to_the_clocks_date_and_the_configured_start() -> None:
    config = SimulatorConfig(start="22:30")
    clock = ManualClock(day_start(SimulatorConfig(), DAY) + timedelta(hours=3))
    cc = SimulatedContactCenter.build(config, clock)
    assert cc.start.isoformat() == "2026-05-18T22:30:00+00:00"
    assert all(s.start >= cc.start for s in cc.scenarios)  # everything is relative to the start, midnight or not


async def test_ten_thousand_agents_are_generated_and_served() -> None:
    config = SimulatorConfig(seed=5, management_units=4, teams_per_unit=50, agents_per_team=50)
    clock = ManualClock(day_start(config, DAY))
    began = time.perf_counter()
    cc = SimulatedContactCenter.build(config, clock, DAY)
    built = time.perf_counter() - began
    assert cc.agent_count == 10_000
    clock.set(cc.start + timedelta(hours=2))
    units = await cc.management_units()
    began = time.perf_counter()
    states = [await cc.live_states(mu.id) for mu in units]
    first = time.perf_counter() - began
    clock.advance(timedelta(seconds=15))
    began = time.perf_counter()
    again = [await cc.live_states(mu.id) for mu in units]
    tick = time.perf_counter() - began
    print(f"\n10k agents: build {built * 1000:.0f} ms, first live_states {first * 1000:.1f} ms, "
          f"next 15 s tick {tick * 1000:.1f} ms")
    silent = len(cc.scenarios_of(ScenarioKind.MISSING_STATE))
    assert sum(len(s) for s in states) == sum(len(s) for s in again) == 10_000 - silent
    changed = sum(1 for before, after in zip(states, again, strict=True) for k in after if after[k] != before[k])
    assert 0 < changed < 10_000 / 2  # only the agents whose state moved on were recomputed into new values
    assert len(cc.scenarios) == 4 * 5  # a handful per unit, not a share of the population
