"""Issue 8, point 6: no false alerts while the live feed is down.

The real monitor on the fake Genesys, a manual clock and real Redis. While the notification socket
is down (and REST answers 500) the agents it carries are held: no incident opens, no tier fires,
however long the outage; once the channel is back and its agents reconciled, the true state decides.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from redis.asyncio import Redis

from services.adapters.genesys.notifications import HubOptions
from services.adapters.genesys.source import GenesysSource
from services.adapters.redis.store import RedisStore
from services.clock import ManualClock
from services.config import OrgConfig
from services.dispatch import OutboxDispatcher
from services.domain.adherence import Reason
from services.domain.escalation import EventKind, IncidentEvent, TierAction
from services.domain.model import AgentState
from services.monitor import Monitor
from testing.fake_genesys import FakeGenesys
from tests.genesys.conftest import FAST_HUB, agents_of, eventually, make_source
from tests.monitor.scripted import Recorder

TICK = timedelta(seconds=15)
AGENT = "agent-a1-1"
LATE = "agent-a1-2"  # goes Away while Genesys is down
ROUND_TRIP = ("agent-a2-1", "agent-a2-2", "agent-a2-3", "agent-b1-1")  # out and back, unseen, during the outage


@dataclass
class Rig:
    source: GenesysSource
    store: RedisStore
    monitor: Monitor
    recorder: Recorder
    dispatcher: OutboxDispatcher
    clock: ManualClock
    events: list[IncidentEvent] = field(default_factory=list)

    async def tick(self) -> None:
        await self.source.maintain()  # what the background task does: retries, periodic reconciliation
        self.events.extend((await self.monitor.tick()).events)
        await self.dispatcher.drain(list(self.monitor.units))
        self.clock.advance(TICK)

    async def run_until(self, until: datetime) -> None:
        while self.clock.now() < until:
            await self.tick()

    def fired(self, agent_id: str) -> list[TierAction]:
        return [e.tier.action for e in self.events
                if e.kind is EventKind.TIER_FIRED and e.tier is not None and e.incident.agent_id == agent_id]

    def of(self, agent_id: str, kind: EventKind) -> list[IncidentEvent]:
        return [e for e in self.events if e.kind is kind and e.incident.agent_id == agent_id]


@pytest.fixture
async def rig(fake: FakeGenesys, clock: ManualClock, org_config: OrgConfig, redis_client: Redis,
              redis_prefix: str) -> AsyncIterator[Rig]:
    source = make_source(fake, clock, org_config)
    store = RedisStore(redis_client, redis_prefix)
    monitor = Monitor(source=source, store=store, config=org_config, clock=clock, replica_id="feed-outage")
    recorder = Recorder(clock)
    dispatcher = OutboxDispatcher(store=store, chat=recorder, email=recorder, coaching=recorder,
                                  rosters=monitor.roster, clock=clock, config=org_config)
    the_rig = Rig(source, store, monitor, recorder, dispatcher, clock)

    async def evaluate_on_arrival(mu_id: str, state: AgentState) -> None:
        the_rig.events.extend(await monitor.on_state_change(mu_id, state))

    source.on_state_changed(evaluate_on_arrival)
    await source.start()
    try:
        await monitor.start()
        yield the_rig
    finally:
        await source.close()


async def _go_down(fake: FakeGenesys, source: GenesysSource) -> None:
    await fake.outage()
    await eventually(lambda: source.feed_down_since() is not None, what="the source noticing the drop")


async def _come_back(fake: FakeGenesys, source: GenesysSource, connects: int = 2) -> None:
    await fake.outage(False)
    channel = source.hub.channels[0]
    await eventually(lambda: channel.connects == connects and channel.ready.is_set(), timeout=8.0,
                     what="reconnect and reconciliation")


async def test_agent_back_during_a_ten_minute_outage_gets_no_card(rig: Rig, fake: FakeGenesys) -> None:
    await rig.tick()
    went_away = rig.clock.now()
    await fake.set_presence(AGENT, "Away")
    await eventually(lambda: bool(rig.of(AGENT, EventKind.OPENED)), what="incident opened on arrival")
    await rig.run_until(went_away + timedelta(minutes=4, seconds=50))

    down_at = rig.clock.now()
    await _go_down(fake, rig.source)
    assert rig.source.feed_down_since() == down_at
    state = (await rig.source.live_states("mu-a"))[AGENT]
    assert not state.confirmed  # held at once, not after stale_after
    await rig.run_until(went_away + timedelta(minutes=5, seconds=10))  # tier 1 is due: held
    await fake.set_presence(AGENT, "On Queue")  # back during the gap; the event goes nowhere
    left_at = rig.clock.now()
    await fake.set_presence(LATE, "Away")  # and another agent leaves, unseen
    for agent in ROUND_TRIP:
        await fake.set_presence(agent, "Away")
    await rig.run_until(down_at + timedelta(minutes=8))  # past tier 1 for all of them
    for agent in ROUND_TRIP:
        await fake.set_presence(agent, "On Queue")
    await rig.run_until(down_at + timedelta(minutes=10))
    assert rig.fired(AGENT) == [] and rig.recorder.kinds() == []
    assert rig.of(LATE, EventKind.OPENED) == []  # nothing opens on a state nobody can re-check
    board = await rig.store.statuses("mu-a")
    assert board[AGENT].split("|")[0] == "UNKNOWN" and board[AGENT].split("|")[5] in (
        Reason.UNCONFIRMED.value, Reason.STALE_STATE.value)

    await _come_back(fake, rig.source)
    assert rig.source.feed_down_since() is None
    await rig.run_until(rig.clock.now() + timedelta(minutes=2))
    [resolved] = rig.of(AGENT, EventKind.RESOLVED)
    assert resolved.incident.fired == ()
    assert rig.fired(AGENT) == []
    # The unseen departure is judged on its true start: 10 minutes out, so tier 1 fires at once.
    [opened] = rig.of(LATE, EventKind.OPENED)
    assert opened.incident.started_at == left_at
    assert rig.fired(LATE)[:1] == [TierAction.CHAT_CARD]
    assert [k for k in rig.recorder.kinds() if k == "post_card"] == ["post_card"]  # LATE's card only
    for agent in ROUND_TRIP:  # back before anyone could see them leave: nothing to say about them
        assert rig.of(agent, EventKind.OPENED) == [] and rig.fired(agent) == []


async def test_after_the_outage_an_agent_still_out_escalates_on_the_original_clock(rig: Rig,
                                                                                   fake: FakeGenesys) -> None:
    await rig.tick()
    went_away = rig.clock.now()
    await fake.set_presence(AGENT, "Away")
    await eventually(lambda: bool(rig.of(AGENT, EventKind.OPENED)), what="incident opened on arrival")
    await rig.run_until(went_away + timedelta(minutes=1))
    await _go_down(fake, rig.source)
    await rig.run_until(went_away + timedelta(minutes=7))
    assert rig.fired(AGENT) == []  # tier 1 was due at 5 minutes: held

    await _come_back(fake, rig.source)
    await rig.tick()
    assert rig.fired(AGENT) == [TierAction.CHAT_CARD]
    [opened] = rig.of(AGENT, EventKind.OPENED)
    assert opened.incident.started_at == went_away  # the violation kept its start through the hold
    assert rig.recorder.kinds() == ["post_card"]


async def test_socket_back_but_rest_failing_keeps_holding_until_a_reconciliation_succeeds(
        rig: Rig, fake: FakeGenesys) -> None:
    await rig.tick()
    went_away = rig.clock.now()
    await fake.set_presence(AGENT, "Away")
    await eventually(lambda: bool(rig.of(AGENT, EventKind.OPENED)), what="incident opened on arrival")
    await _go_down(fake, rig.source)
    down_since = rig.source.feed_down_since()
    await fake.set_presence(AGENT, "On Queue")  # unseen
    fake.fail("/api/v2/users", 500, times=100_000)  # reconciliation keeps failing after the socket is back
    fake.ws_refuse = fake.rest_down = False
    channel = rig.source.hub.channels[0]
    await eventually(lambda: channel.connects == 2 and channel.ready.is_set(), timeout=8.0, what="reconnect")
    assert rig.source.feed_down_since() == down_since  # up, but nobody vouched for the states yet
    await rig.run_until(went_away + timedelta(minutes=8))
    assert rig.fired(AGENT) == [] and rig.recorder.kinds() == []

    fake.faults.clear()
    await rig.run_until(rig.clock.now() + timedelta(minutes=2))  # maintain() retries every 30 s
    assert rig.source.feed_down_since() is None
    assert rig.of(AGENT, EventKind.RESOLVED) and rig.fired(AGENT) == []
    assert rig.recorder.kinds() == []


async def test_agents_kept_current_by_rest_only_are_held_while_reconciliation_fails(
        fake: FakeGenesys, clock: ManualClock) -> None:
    hub = HubOptions(**{**FAST_HUB.__dict__, "topics_per_channel": 8, "max_channels": 1})  # 5 WFM topics + 3 agents
    source = make_source(fake, clock, hub=hub, unit_topics=False)  # per-user topics overflow the one channel
    await source.start()
    try:
        rest_only = {t.split(".")[2] for t in source.hub.unsubscribed if t.startswith("v2.users.")}
        on_socket = {a for a in agents_of("mu-a") + agents_of("mu-b") if a not in rest_only}
        assert rest_only and on_socket and source.feed_down_since() is None
        fake.fail("/api/v2/users", 500, times=100_000)
        clock.advance(timedelta(minutes=5))
        await source.maintain()  # the periodic reconciliation is due, and fails
        states = {**(await source.live_states("mu-a")), **(await source.live_states("mu-b"))}
        assert {a for a, s in states.items() if not s.confirmed} == rest_only  # the socket still vouches
        assert source.feed_down_since() == clock.now()
        fake.faults.clear()
        clock.advance(timedelta(seconds=30))
        await source.maintain()
        states = {**(await source.live_states("mu-a")), **(await source.live_states("mu-b"))}
        assert all(s.confirmed for s in states.values()) and source.feed_down_since() is None
    finally:
        await source.close()
