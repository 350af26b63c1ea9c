"""The mid-day republish: schedules switch at the publish time, subscribers hear of it exactly once,
and the team follows the new schedule (Training, off queue) without a single violation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.adapters.simulated import ScenarioKind
from services.domain.adherence import Status
from services.domain.states import ActivityCategory, Presence, RoutingStatus
from tests.simulated.conftest import Sim


async def test_subscribers_are_told_once_when_the_clock_passes_the_publish_time(sim: Sim) -> None:
    cc = sim.cc
    scenario = cc.scenario(ScenarioKind.REPUBLISH)
    heard: list[str] = []
    cc.on_schedule_changed(heard.append)
    published = scenario.marks["published"]
    sim.at(published - timedelta(seconds=1))
    for mu in await cc.management_units():
        await cc.live_states(mu.id)
        await cc.schedules(mu.id, cc.start, cc.start + timedelta(hours=12))
    assert heard == []
    sim.at(published + timedelta(seconds=10))
    await cc.live_states("mu-1")  # any unit's call notices it
    assert heard == [scenario.mu_id]
    for minutes in (1, 30, 300):
        sim.at(published + timedelta(minutes=minutes))
        for mu in await cc.management_units():
            await cc.live_states(mu.id)
            await cc.schedules(mu.id, cc.start, cc.start + timedelta(hours=12))
    sim.at(published - timedelta(minutes=5))  # a clock set back does not "un-publish" and re-announce
    await cc.live_states(scenario.mu_id)
    sim.at(published + timedelta(minutes=5))
    await cc.schedules(scenario.mu_id, cc.start, cc.start + timedelta(hours=12))
    assert heard == [scenario.mu_id]


async def test_a_schedules_call_also_notices_the_republish_and_a_failing_subscriber_stops_nobody(
        sim: Sim) -> None:
    cc = sim.cc
    scenario = cc.scenario(ScenarioKind.REPUBLISH)
    heard: list[str] = []

    def broken(mu_id: str) -> None:
        raise RuntimeError("subscriber bug")

    cc.on_schedule_changed(broken)
    cc.on_schedule_changed(heard.append)
    sim.at(scenario.marks["published"])
    await cc.schedules(scenario.mu_id, cc.start, cc.start + timedelta(hours=1))
    assert heard == [scenario.mu_id]


async def test_schedules_switch_to_the_new_version_at_the_publish_time(sim: Sim) -> None:
    cc = sim.cc
    scenario = cc.scenario(ScenarioKind.REPUBLISH)
    marks = scenario.marks
    window = (cc.start, cc.start + timedelta(hours=12))
    sim.at(marks["published"] - timedelta(seconds=1))
    old = await cc.schedules(scenario.mu_id, *window)
    sim.at(marks["published"])
    new = await cc.schedules(scenario.mu_id, *window)
    assert set(old) == set(new)
    for agent_id in old:
        before, after = old[agent_id], new[agent_id]
        if agent_id not in scenario.agent_ids:
            assert before is after
            continue
        assert not any(a.category is ActivityCategory.TRAINING for a in before.activities)
        training = [a for a in after.activities if a.category is ActivityCategory.TRAINING]
        assert len(training) == 1
        first = after.activities[0].start
        assert training[0].start == max(marks["training_start"], first)
        assert training[0].end == marks["training_end"]
        assert training[0].name == "Product Training"
        # Nothing else moved: outside the training block both versions agree.
        outside = [marks["training_end"], marks["training_end"] + timedelta(hours=3)]
        if first < marks["training_start"]:
            outside.append(first)
        for when in outside:
            was, now = before.activity_at(when), after.activity_at(when)
            assert was is not None and now is not None and was.category is now.category
        assert before.activities[-1] == after.activities[-1]
    sim.at(marks["published"] - timedelta(minutes=1))  # the answer is a function of the clock
    assert dict(await cc.schedules(scenario.mu_id, *window)) == dict(old)


async def test_the_team_follows_the_new_schedule_and_stays_adherent(sim: Sim) -> None:
    cc = sim.cc
    scenario = cc.scenario(ScenarioKind.REPUBLISH)
    start, end = scenario.marks["training_start"], scenario.marks["training_end"]
    for agent_id in scenario.agent_ids:
        state = cc.state_at(agent_id, start + timedelta(minutes=30))
        assert state is not None
        assert (state.presence, state.routing, state.since) == (Presence.TRAINING, RoutingStatus.OFF_QUEUE, start)
        when = scenario.start
        while when < end + timedelta(minutes=5):
            result = await sim.evaluate(agent_id, when)
            assert result.status in (Status.ADHERENT, Status.OFF_SHIFT), (agent_id, when, result)
            when += timedelta(seconds=45)


@pytest.mark.parametrize("kind", [ScenarioKind.OUTAGE, ScenarioKind.REPUBLISH])
def test_team_scenarios_need_a_spare_team(kind: ScenarioKind) -> None:
    from services.config import SimulatorConfig

    single = Sim(SimulatorConfig(management_units=1, teams_per_unit=1, agents_per_team=20))
    assert single.cc.scenarios_of(kind) == []
    with pytest.raises(LookupError, match="too small"):
        single.cc.scenario(kind)
