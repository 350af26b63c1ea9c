"""Issue 3 end to end: the real monitor on the fake Genesys, a manual clock and real Redis.

An agent scheduled on queue goes Away; the change is evaluated the moment it arrives over the
WebSocket; the tiers fire at 5, 15 and 30 minutes; the coaching appointment lands in the fake
Genesys; the agent comes back while the socket is down, and the REST reconciliation after the
reconnect still brings that change in, so the incident resolves.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from redis.asyncio import Redis

from services.adapters.redis.store import RedisStore
from services.clock import ManualClock
from services.config import OrgConfig
from services.dispatch import OutboxDispatcher
from services.domain.escalation import EventKind, IncidentEvent, TierAction
from services.domain.model import AgentState
from services.monitor import Monitor
from tests.genesys.conftest import eventually, make_source
from tests.genesys.fake_genesys import FakeGenesys
from tests.monitor.scripted import Recorder

TICK = timedelta(seconds=15)
AGENT = "agent-a1-1"


async def test_away_agent_escalates_through_every_tier_and_resolves_across_a_socket_drop(
        fake: FakeGenesys, clock: ManualClock, org_config: OrgConfig, redis_client: Redis, redis_prefix: str) -> None:
    source = make_source(fake, clock, org_config)
    store = RedisStore(redis_client, redis_prefix)
    monitor = Monitor(source=source, store=store, config=org_config, clock=clock, replica_id="e2e-genesys")
    recorder = Recorder(clock)
    dispatcher = OutboxDispatcher(store=store, chat=recorder, email=recorder, coaching=source.coaching(),
                                  rosters=monitor.roster, clock=clock, config=org_config)
    on_arrival: list[IncidentEvent] = []
    ticked: list[IncidentEvent] = []

    async def evaluate_on_arrival(mu_id: str, state: AgentState) -> None:
        on_arrival.extend(await monitor.on_state_change(mu_id, state))

    source.on_state_changed(evaluate_on_arrival)
    await source.start()
    try:
        await monitor.start()

        async def tick() -> None:
            await source.maintain()  # what the background task does: renewals, periodic reconciliation
            ticked.extend((await monitor.tick()).events)
            await dispatcher.drain(list(monitor.units))
            clock.advance(TICK)

        await tick()  # 08:00: everyone on queue as scheduled
        assert ticked == []

        went_away = clock.now()
        await fake.set_presence(AGENT, "Away")  # routing goes OFF_QUEUE with it
        await eventually(lambda: any(e.kind is EventKind.OPENED for e in on_arrival), what="evaluation on arrival")
        opened = next(e for e in on_arrival if e.kind is EventKind.OPENED)
        assert (opened.incident.agent_id, opened.incident.started_at, opened.at) == (AGENT, went_away, went_away)

        while clock.now() < went_away + timedelta(minutes=31):
            await tick()
        fired = [(e.tier.action, e.at) for e in ticked + on_arrival
                 if e.kind is EventKind.TIER_FIRED and e.tier is not None and e.incident.agent_id == AGENT]
        assert [action for action, _ in fired] == [TierAction.CHAT_CARD, TierAction.EMAIL, TierAction.COACHING]
        for (_, at), after in zip(fired, (5, 15, 30), strict=True):
            threshold = went_away + timedelta(minutes=after)
            assert threshold <= at < threshold + TICK, (after, at)
        # Channels are lanes of their own (an email never waits for a card update), so order is per channel.
        kinds = recorder.kinds()
        assert kinds[0] == "post_card" and kinds.count("post_card") == 1 and kinds.count("email") == 1

        [appointment] = fake.appointments.values()
        assert appointment["attendees"] == [{"id": AGENT}]
        assert appointment["facilitator"] == {"id": "sup-a1"}  # the team supervisor from the config
        assert fake.requests_to("/api/v2/coaching/appointments$", "POST")[0].body["addToSchedule"] is True

        # The socket drops; while it is down the agent comes back on queue (the event goes nowhere).
        fake.ws_refuse = True
        await fake.drop_sockets()
        clock.advance(timedelta(seconds=5))
        came_back = clock.now()
        await fake.set_presence(AGENT, "On Queue")
        assert not any(e.kind is EventKind.RESOLVED for e in on_arrival + ticked)
        fake.ws_refuse = False
        channel = source.hub.channels[0]
        await eventually(lambda: channel.connects == 2 and channel.ready.is_set(), what="reconnect")
        state = (await source.live_states("mu-a"))[AGENT]
        assert (state.presence.value if state.presence else None, state.since) == ("ON_QUEUE", came_back)

        resolved: list[datetime] = []
        for _ in range(8):  # clear_after is 60 s: four to five ticks
            await tick()
            resolved = [e.at for e in ticked + on_arrival if e.kind is EventKind.RESOLVED]
            if resolved:
                break
        assert resolved and resolved[0] - came_back >= org_config.monitor.clear_after
        assert resolved[0] - came_back < org_config.monitor.clear_after + 2 * TICK
        assert len(fake.appointments) == 1  # nothing was booked twice
        assert [a for a in recorder.kinds() if a == "coaching"] == []  # coaching went to Genesys, not the recorder
    finally:
        await source.close()


async def test_run_wires_genesys_when_credentials_are_set_and_the_simulator_otherwise() -> None:
    from bot.container import build_source
    from bot.settings import Settings
    from services.adapters.genesys import GenesysSource
    from services.adapters.simulated import SimulatedContactCenter
    from services.clock import SystemClock
    from services.config import OrgConfig

    with_genesys = Settings(genesys_client_id="id", genesys_client_secret="secret", genesys_region="eu_west_1")
    wired = await build_source(with_genesys, OrgConfig(), SystemClock())
    try:
        assert isinstance(wired.workforce, GenesysSource) and wired.exception_writer is not None
        assert wired.description == "Genesys Cloud (eu_west_1)"
    finally:
        await wired.stop()
    without = await build_source(Settings(genesys_client_id=None, genesys_client_secret=None), OrgConfig(),
                                 SystemClock())
    assert isinstance(without.workforce, SimulatedContactCenter)
    assert "simulated" in without.description
