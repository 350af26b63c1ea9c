"""Every scripted scenario produces, at exact instants, the states it promises and the verdict that follows."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from services.adapters.simulated import Scenario, ScenarioKind
from services.config import SimulatorConfig
from services.domain.adherence import Reason, Status
from services.domain.model import AgentState
from services.domain.rules import Impact
from services.domain.states import ActivityCategory, Presence, RoutingStatus
from tests.simulated.conftest import Sim

K, P, R = ScenarioKind, Presence, RoutingStatus
SECOND = timedelta(seconds=1)
ON_QUEUE = {(P.ON_QUEUE, R.IDLE), (P.ON_QUEUE, R.INTERACTING)}


def _state(sim: Sim, agent_id: str, when: datetime) -> AgentState:
    state = sim.cc.state_at(agent_id, when)
    assert state is not None
    return state


async def _live(sim: Sim, agent_id: str, when: datetime) -> AgentState:
    """The state as the source reports it (through the live cache)."""
    sim.at(when)
    return (await sim.cc.live_states(sim.mu_of(agent_id)))[agent_id]


def _one(sim: Sim, kind: ScenarioKind, index: int = 0) -> tuple[Scenario, str]:
    scenario = sim.cc.scenario(kind, index)
    assert scenario.agent_id is not None
    return scenario, scenario.agent_id


def test_the_default_day_carries_the_whole_catalogue_early_and_spread_out(sim: Sim) -> None:
    cc = sim.cc
    kinds = Counter(s.kind for s in cc.scenarios)
    expected: Counter[ScenarioKind] = Counter(ScenarioKind)
    expected[K.LATE_RETURN] += 1
    assert kinds == expected
    timed = [s for s in cc.scenarios if s.kind is not K.MISSING_STATE]
    assert all(cc.start < s.start < s.end <= cc.start + timedelta(hours=5) for s in timed)
    assert [s.start for s in cc.scenarios] == sorted(s.start for s in cc.scenarios)
    assert {s.mu_id for s in cc.scenarios} == {"mu-1", "mu-2"}
    assert max(Counter(s.mu_id for s in cc.scenarios).values()) == 5
    # No two scripted agents share an agent, so each scenario is observed on its own.
    agents = [a for s in cc.scenarios for a in s.agent_ids]
    assert len(agents) == len(set(agents))
    # Tier 1 of the different escalating scenarios never lands in the same minute.
    firsts = [s.start + timedelta(minutes=5) for s in timed if s.expected_tiers]
    assert len({f.replace(second=0) for f in firsts}) == len(firsts)
    assert all(s.description for s in cc.scenarios)


def test_a_small_unit_gets_fewer_scenarios_and_a_large_one_no_more() -> None:
    tiny = Sim(SimulatorConfig(management_units=1, teams_per_unit=1, agents_per_team=3))
    assert len(tiny.cc.scenarios) == 3 and all(s.agent_id for s in tiny.cc.scenarios)
    with_room = Sim(SimulatorConfig(management_units=1, teams_per_unit=3, agents_per_team=8))
    assert len(with_room.cc.scenarios) == 10
    big = Sim(SimulatorConfig(management_units=6, teams_per_unit=4, agents_per_team=40))
    assert Counter(s.mu_id for s in big.cc.scenarios) == Counter({f"mu-{n}": 5 for n in range(1, 7)})


async def test_late_returns_are_out_from_the_scheduled_return_until_back(sim: Sim) -> None:
    for index, (minutes, tiers) in enumerate(((7, 1), (18, 2))):
        scenario, agent = _one(sim, K.LATE_RETURN, index)
        back, returned = scenario.marks["scheduled_return"], scenario.marks["returned"]
        assert (scenario.start, scenario.end, scenario.expected_tiers) == (back, returned, tiers)
        assert returned - back == timedelta(minutes=minutes)
        on_break = await _live(sim, agent, back)
        assert (on_break.presence, on_break.routing, on_break.since) == (P.BREAK, R.OFF_QUEUE,
                                                                           scenario.marks["break_start"])
        result = await sim.evaluate(agent, back + timedelta(minutes=3))
        assert result.escalates and result.category is ActivityCategory.ON_QUEUE_WORK
        assert result.since == back  # the violation is measured from the scheduled return
        assert (await _live(sim, agent, returned - SECOND)).presence is P.BREAK
        again = await _live(sim, agent, returned)
        assert (again.presence, again.routing) in ON_QUEUE and again.since == returned
        assert (await sim.evaluate(agent, returned)).status is Status.ADHERENT


async def test_a_long_absence_is_away_during_on_queue_work_for_35_minutes(sim: Sim) -> None:
    scenario, agent = _one(sim, K.LONG_ABSENCE)
    assert scenario.end - scenario.start == timedelta(minutes=35) and scenario.expected_tiers == 3
    before = await _live(sim, agent, scenario.start - SECOND)
    assert (before.presence, before.routing) in ON_QUEUE
    for offset in (0, 10, 34):
        when = scenario.start + timedelta(minutes=offset)
        state = await _live(sim, agent, when)
        assert (state.presence, state.routing, state.since) == (P.AWAY, R.OFF_QUEUE, scenario.start)
        result = await sim.evaluate(agent, when)
        assert result.escalates and result.impact is Impact.NEGATIVE
    after = await _live(sim, agent, scenario.end)
    assert (after.presence, after.routing) in ON_QUEUE and after.since == scenario.end


async def test_an_early_logout_is_offline_25_minutes_before_the_shift_ends(sim: Sim) -> None:
    scenario, agent = _one(sim, K.EARLY_LOGOUT)
    shift_end = scenario.marks["shift_end"]
    assert scenario.end == shift_end and shift_end - scenario.start == timedelta(minutes=25)
    assert scenario.expected_tiers == 2
    assert (await _live(sim, agent, scenario.start - SECOND)).presence is P.ON_QUEUE
    for when in (scenario.start, shift_end - SECOND, shift_end + timedelta(hours=3)):
        state = await _live(sim, agent, when)
        assert (state.presence, state.routing, state.since) == (P.OFFLINE, R.OFF_QUEUE, scenario.start)
    assert (await sim.evaluate(agent, shift_end - SECOND)).escalates
    assert (await sim.evaluate(agent, shift_end)).status is Status.OFF_SHIFT


async def test_a_call_over_the_break_is_forgiven_and_the_break_still_ends_on_time(sim: Sim) -> None:
    scenario, agent = _one(sim, K.CALL_OVER_BREAK)
    marks = scenario.marks
    assert (scenario.start, scenario.end) == (marks["break_start"], marks["call_end"])
    for when in (marks["break_start"], marks["call_end"] - SECOND):
        state = await _live(sim, agent, when)
        assert (state.presence, state.routing, state.since) == (P.ON_QUEUE, R.INTERACTING, marks["call_start"])
        result = await sim.evaluate(agent, when)
        assert result.category is ActivityCategory.BREAK
        assert (result.status, result.reason, result.escalates) == (Status.NON_ADHERENT, Reason.INTERACTING, False)
    on_break = await _live(sim, agent, marks["call_end"])
    assert (on_break.presence, on_break.routing, on_break.since) == (P.BREAK, R.OFF_QUEUE, marks["call_end"])
    assert (await sim.evaluate(agent, marks["call_end"])).status is Status.ADHERENT
    assert (await _live(sim, agent, marks["break_end"] - SECOND)).presence is P.BREAK
    back = await _live(sim, agent, marks["break_end"])
    assert (back.presence, back.routing) in ON_QUEUE and back.since == marks["break_end"]


async def test_staying_on_queue_through_a_break_is_a_positive_deviation_throughout(sim: Sim) -> None:
    scenario, agent = _one(sim, K.STAYS_ON_QUEUE)
    assert scenario.end - scenario.start == timedelta(minutes=15)
    seen = set()
    when = scenario.start
    while when < scenario.end:
        state = await _live(sim, agent, when)
        seen.add((state.presence, state.routing))
        result = await sim.evaluate(agent, when)
        assert result.category is ActivityCategory.BREAK and not result.escalates
        if state.routing is R.IDLE:
            assert result.positive_deviation and result.reason is Reason.RULE
        when += timedelta(seconds=10)
    assert seen == ON_QUEUE


async def test_an_outage_takes_the_whole_team_offline_at_once(sim: Sim) -> None:
    scenario = sim.cc.scenario(K.OUTAGE)
    roster = await sim.cc.roster(scenario.mu_id)
    team = sorted(a.id for a in roster.agents.values() if a.team_id == scenario.team_id)
    assert scenario.agent_id is None and sorted(scenario.agent_ids) == team
    assert scenario.end - scenario.start == timedelta(minutes=8) and scenario.expected_tiers == 1
    for agent in team:
        before = await _live(sim, agent, scenario.start - SECOND)
        assert before.routing in (R.IDLE, R.INTERACTING)  # on queue (either presence style) until it drops
        state = await _live(sim, agent, scenario.start + timedelta(minutes=6))
        assert (state.presence, state.routing, state.since) == (P.OFFLINE, R.OFF_QUEUE, scenario.start)
        assert (await sim.evaluate(agent, scenario.start + timedelta(minutes=6))).escalates
        assert (await _live(sim, agent, scenario.end)).routing in (R.IDLE, R.INTERACTING)


async def test_a_late_return_covered_by_an_approved_explanation_is_excused(sim: Sim) -> None:
    scenario, agent = _one(sim, K.EXCUSED_LATE)
    assert scenario.end - scenario.start == timedelta(minutes=12) and scenario.expected_tiers == 0
    windows = await sim.cc.approved_exceptions(scenario.mu_id, scenario.start - timedelta(minutes=15),
                                               scenario.end)
    assert [w.agent_id for w in windows] == [agent]
    window = windows[0]
    assert window.start <= scenario.start and scenario.end <= window.end and window.approved_by
    assert window.approved_by in (await sim.cc.roster(scenario.mu_id)).teams[scenario.team_id].supervisor_ids
    when = scenario.start + timedelta(minutes=8)
    state = await _live(sim, agent, when)
    assert (state.presence, state.since) == (P.MEAL, scenario.marks["meal_start"])
    excused = await sim.evaluate(agent, when)
    assert (excused.status, excused.reason, excused.escalates) == (Status.NON_ADHERENT, Reason.EXCEPTION, False)
    assert (await sim.evaluate(agent, when, with_exceptions=False)).escalates  # the explanation is what excuses it
    assert await sim.cc.approved_exceptions(scenario.mu_id, scenario.end + timedelta(minutes=5),
                                            scenario.end + timedelta(hours=1)) == []


async def test_the_agent_with_missing_state_is_never_reported(sim: Sim) -> None:
    scenario, agent = _one(sim, K.MISSING_STATE)
    assert agent in (await sim.cc.roster(scenario.mu_id)).agents
    schedules = await sim.cc.schedules(scenario.mu_id, sim.cc.start, sim.cc.start + timedelta(hours=12))
    assert agent in schedules
    for hours in (-1, 1, 3, 6, 12):
        when = sim.cc.start + timedelta(hours=hours)
        sim.at(when)
        states = await sim.cc.live_states(scenario.mu_id)
        assert agent not in states and len(states) == 11
        assert sim.cc.state_at(agent, when) is None
        result = await sim.evaluate(agent, when)
        assert (result.status, result.reason) == (Status.UNKNOWN, Reason.NO_STATE)
