"""Agent behaviour as a function of time: the handling rhythm, the states reported, and the key property
that agents with nothing scripted are adherent all day (the seed's flapping trap never alerts)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.adapters.simulated import ScenarioKind
from services.adapters.simulated.behaviour import Rhythm, flap
from services.config import SimulatorConfig
from services.domain.adherence import Reason, Status
from services.domain.states import ActivityCategory, Presence, RoutingStatus
from tests.simulated.conftest import Sim

P, R = Presence, RoutingStatus
MODERN = {(P.ON_QUEUE, R.IDLE), (P.ON_QUEUE, R.INTERACTING)}
LEGACY = {(P.AVAILABLE, R.IDLE), (P.BUSY, R.INTERACTING)}
DAY_START = datetime.fromisoformat("2026-05-18T07:45:00+00:00").timestamp()


@given(key=st.integers(0, 2**63 - 1), offset=st.floats(0, 86400 * 2, allow_nan=False))
def test_the_handling_rhythm_alternates_in_pieces_of_20_to_90_seconds(key: int, offset: float) -> None:
    rhythm = Rhythm.of(key)
    t = DAY_START + offset
    interacting, start, end = flap(rhythm, t)
    assert start <= t < end
    assert 20 <= end - start <= 90
    assert start == int(start) and end == int(end)  # whole seconds: the live cache files agents by second
    following, next_start, _ = flap(rhythm, end)
    previous, _, previous_end = flap(rhythm, start - 0.5)
    assert following is not interacting and previous is not interacting
    assert next_start == end and previous_end == start


def _on_queue(sim: Sim, agent_id: str, when: datetime) -> bool:
    schedule = sim.cc._world.units[sim.mu_of(agent_id)].schedules[agent_id]
    activity = schedule.activity_at(when)
    return activity is not None and activity.category is ActivityCategory.ON_QUEUE_WORK


async def test_on_queue_agents_report_only_adherent_on_queue_combinations(roomy: Sim) -> None:
    cc = roomy.cc
    scripted = {a for s in cc.scenarios for a in s.agent_ids}
    styles: dict[str, set[tuple[Presence | None, RoutingStatus | None]]] = {}
    when = cc.start + timedelta(minutes=20)
    while when < cc.start + timedelta(hours=10):
        roomy.at(when)
        for mu in await cc.management_units():
            for agent_id, state in (await cc.live_states(mu.id)).items():
                if agent_id not in scripted and _on_queue(roomy, agent_id, when):
                    styles.setdefault(agent_id, set()).add((state.presence, state.routing))
        when += timedelta(seconds=37)
    modern = [a for a, seen in styles.items() if seen <= MODERN]
    legacy = [a for a, seen in styles.items() if seen <= LEGACY]
    assert len(modern) + len(legacy) == len(styles), "an on-queue agent reported something else"
    assert modern and legacy, "both presence styles should be present"
    assert all(len(seen) == 2 for seen in styles.values()), "routing flaps between IDLE and INTERACTING"


async def test_since_is_when_the_state_began_and_observed_at_is_a_recent_report(roomy: Sim) -> None:
    cc = roomy.cc
    rng = random.Random(4)
    agents = [a for mu in await cc.management_units() for a in (await cc.roster(mu.id)).agents]
    for _ in range(300):
        agent_id = rng.choice(agents)
        when = cc.start + timedelta(seconds=rng.randrange(-3600, 13 * 3600))
        state = cc.state_at(agent_id, when)
        if state is None:
            continue
        assert state.since <= state.observed_at <= when
        assert when - state.observed_at < timedelta(minutes=2)
        assert (when - state.observed_at) % timedelta(minutes=2) == (when - state.since) % timedelta(minutes=2)
        began = cc.state_at(agent_id, state.since)
        assert began is not None and (began.presence, began.routing, began.since) == (
            state.presence, state.routing, state.since)
        before = cc.state_at(agent_id, state.since - timedelta(seconds=1))
        assert before is not None and before.since < state.since


async def test_the_live_cache_answers_exactly_what_the_pure_function_says(roomy: Sim) -> None:
    """Forward steps of all sizes and jumps backwards: the cache must never drift from state_at."""
    cc = roomy.cc
    rng = random.Random(9)
    when = cc.start - timedelta(hours=1)
    for step in range(150):
        if step % 40 == 39:
            when -= timedelta(minutes=rng.randrange(1, 300))  # tests move clocks backwards too
        else:
            when += timedelta(seconds=rng.choice((1, 7, 15, 15, 15, 60, 600, 3600)) * rng.random())
        roomy.at(when)
        for mu in await cc.management_units():
            live = await cc.live_states(mu.id)
            expected = {a: cc.state_at(a, when) for a in (await cc.roster(mu.id)).agents}
            assert live == {a: s for a, s in expected.items() if s is not None}, when


async def test_the_live_states_mapping_handed_out_is_not_changed_later(sim: Sim) -> None:
    sim.at(sim.cc.start + timedelta(hours=2))
    before = await sim.cc.live_states("mu-1")
    frozen = dict(before)
    sim.at(sim.cc.start + timedelta(hours=3))
    after = await sim.cc.live_states("mu-1")
    assert before == frozen and after != frozen


def _scripted_windows(sim: Sim) -> dict[str, list[tuple[datetime, datetime]]]:
    windows: dict[str, list[tuple[datetime, datetime]]] = {}
    for scenario in sim.cc.scenarios:
        if scenario.kind is ScenarioKind.REPUBLISH:
            continue  # the team follows its new schedule: adherent throughout, no window to excuse
        always = scenario.kind is ScenarioKind.MISSING_STATE  # never reports: UNKNOWN at every instant
        for agent_id in scenario.agent_ids:
            windows.setdefault(agent_id, []).append(
                (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)) if always
                else (scenario.start, scenario.end))
    return windows


async def _adherent_all_day(sim: Sim, step: timedelta) -> int:
    cc = sim.cc
    windows = _scripted_windows(sim)
    agents = [a for mu in await cc.management_units() for a in (await cc.roster(mu.id)).agents]
    checked = 0
    when = cc.start - timedelta(minutes=30)
    while when <= cc.start + timedelta(hours=11):
        for agent_id in agents:
            if any(start <= when < end for start, end in windows.get(agent_id, ())):
                continue
            result = await sim.evaluate(agent_id, when)
            assert result.status in (Status.ADHERENT, Status.OFF_SHIFT), (agent_id, when, result)
            assert result.reason in (Reason.RULE, Reason.OFF_SHIFT), (agent_id, when, result)
            checked += 1
        when += step
    return checked


async def test_everyone_outside_a_scripted_window_is_adherent_every_minute_of_the_day(sim: Sim) -> None:
    checked = await _adherent_all_day(sim, timedelta(minutes=1))
    assert checked > 24 * 600


async def test_a_larger_population_is_adherent_too_sampled_off_the_minute() -> None:
    sim = Sim(SimulatorConfig(seed=23, management_units=2, teams_per_unit=5, agents_per_team=15))
    checked = await _adherent_all_day(sim, timedelta(seconds=53))
    assert checked > 150 * 700
