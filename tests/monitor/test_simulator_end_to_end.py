"""The real monitor loop on the simulated contact center, with an injected clock and real Redis:
every scripted situation of the seed produces exactly the tiers it should, at the exact times."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from services.adapters.redis.store import RedisStore
from services.adapters.simulated import ScenarioKind, SimulatedContactCenter, day_start
from services.clock import ManualClock
from services.config import OrgConfig
from services.dispatch import OutboxDispatcher
from services.domain.escalation import EventKind, IncidentEvent, TierAction
from services.monitor import Monitor
from tests.conftest import TEST_REDIS_URL
from tests.monitor.scripted import Recorder

DAY = date(2026, 5, 18)
TICK = timedelta(seconds=15)
ROOT = Path(__file__).resolve().parents[2]
# pytest-timeout counts a fixture's setup in the first test that uses it: the whole day, once, may take
# longer than one test's 60 s on a loaded machine.
pytestmark = pytest.mark.timeout(240)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def day_of_events() -> AsyncIterator[tuple[SimulatedContactCenter, list[IncidentEvent], Recorder]]:
    """The 1,260 ticks of the day, played once for the module: every test only reads what they produced.
    Its own Redis client and key prefix, because the shared ones live for one test and one event loop."""
    redis: Redis = Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    config = OrgConfig()
    start = day_start(config.simulator, DAY)
    clock = ManualClock(start)
    sim = SimulatedContactCenter.build(config.simulator, clock, DAY)
    store = RedisStore(redis, prefix)
    monitor = Monitor(source=sim, store=store, config=config, clock=clock, replica_id="e2e")
    recorder = Recorder(clock)
    dispatcher = OutboxDispatcher(store=store, chat=recorder, email=recorder, coaching=sim, rosters=monitor.roster,
                                  clock=clock, config=config)
    events: list[IncidentEvent] = []
    try:
        while clock.now() <= start + timedelta(hours=5, minutes=15):
            events += (await monitor.tick()).events
            await dispatcher.drain(list(monitor.units))
            clock.advance(TICK)
        yield sim, events, recorder
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def _fired(events: list[IncidentEvent]) -> dict[str, list[tuple[TierAction, object]]]:
    fired: dict[str, list[tuple[TierAction, object]]] = defaultdict(list)
    for event in events:
        if event.kind is EventKind.TIER_FIRED and event.tier is not None:
            fired[event.incident.agent_id].append((event.tier.action, event.at))
    return fired


async def test_every_scenario_escalates_exactly_as_scripted(day_of_events: tuple) -> None:  # type: ignore[type-arg]
    sim, events, _ = day_of_events
    fired = _fired(events)
    tiers = (timedelta(minutes=5), timedelta(minutes=15), timedelta(minutes=30))
    for scenario in sim.scenarios:
        if scenario.kind in (ScenarioKind.OUTAGE, ScenarioKind.REPUBLISH):
            continue
        got = fired.get(scenario.agent_id or "", [])
        assert len(got) == scenario.expected_tiers, (scenario.description, got)
        for (_action, when), after in zip(got, tiers, strict=False):
            threshold = scenario.start + after
            assert threshold <= when < threshold + TICK, (scenario.description, when, threshold) 


async def test_the_seeds_edge_cases_never_alert(day_of_events: tuple) -> None:  # type: ignore[type-arg]
    sim, events, _ = day_of_events
    fired = _fired(events)
    quiet = [ScenarioKind.CALL_OVER_BREAK, ScenarioKind.STAYS_ON_QUEUE, ScenarioKind.EXCUSED_LATE,
             ScenarioKind.MISSING_STATE]
    for kind in quiet:
        scenario = sim.scenario(kind)
        assert fired.get(scenario.agent_id or "") is None, scenario.description
    republished = sim.scenario(ScenarioKind.REPUBLISH)
    assert not any(agent in fired for agent in republished.agent_ids), "a republished schedule caused alerts"
    scripted = {a for s in sim.scenarios for a in (s.agent_ids or (s.agent_id,)) if a}
    assert set(fired) <= scripted, f"alerts for agents with nothing scripted: {set(fired) - scripted}"


async def test_staying_on_queue_through_a_break_is_recorded_once(day_of_events: tuple) -> None:  # type: ignore[type-arg]
    sim, events, _ = day_of_events
    agent = sim.scenario(ScenarioKind.STAYS_ON_QUEUE).agent_id
    deviations = [e for e in events if e.kind is EventKind.POSITIVE_DEVIATION and e.incident.agent_id == agent]
    assert len(deviations) == 1


async def test_the_outage_posts_one_grouped_card_and_the_long_absence_gets_coaching(
        day_of_events: tuple) -> None:  # type: ignore[type-arg]
    sim, _events, recorder = day_of_events
    outage = sim.scenario(ScenarioKind.OUTAGE)
    storms = [what for what in recorder.kinds() if what.startswith("post_storm")]
    assert storms == [f"post_storm:{len(outage.agent_ids)}"]
    absent = sim.scenario(ScenarioKind.LONG_ABSENCE)
    assert [a.agent_id for a in sim.coaching_appointments] == [absent.agent_id]


def _demo(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0"}  # nothing answers there: fakeredis
    env.pop("BOT_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "bot", "demo", *args, "--quiet"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


def test_the_stepped_demo_runs_on_fakeredis_and_summarises() -> None:
    """Stepped, the demo ticks every 15 simulated seconds whatever the machine's speed: exact counts hold.
    Three simulated hours (07:45-10:45) take in the long absence (09:30-10:05) and its coaching booking."""
    result = _demo("--stepped", "--hours", "3")
    assert result.returncode == 0, result.stderr
    assert "in-process fakeredis" in result.stdout
    assert "stepped, tick by tick" in result.stdout
    assert "Summary at 10:45 (simulated)" in result.stdout and "adherence" in result.stdout
    assert "Coaching appointments booked in the simulated QM system: 1" in result.stdout


def test_the_accelerated_demo_ends_by_itself_with_a_summary() -> None:
    """The default mode on the wall clock: how many ticks fit depends on the machine, so only that it runs."""
    result = _demo("--speed", "2400", "--hours", "0.25", "--no-bookings")
    assert result.returncode == 0, result.stderr
    assert "at 2400x" in result.stdout and "Summary at" in result.stdout
