"""Live states over the Notification WebSocket, reconciled over REST, against the fake Genesys."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.adapters.genesys.notifications import HubOptions
from services.adapters.genesys.source import GenesysSource
from services.clock import ManualClock
from services.domain.adherence import Reason, Status, evaluate
from services.domain.model import AgentState, ScheduledActivity
from services.domain.rules import RuleTable
from services.domain.states import ActivityCategory, Presence, RoutingStatus
from testing.fake_genesys import FakeGenesys
from tests.genesys.conftest import FAST_HUB, START, Monotonic, agents_of, eventually, make_source

RULES = RuleTable.with_overrides([])
ON_QUEUE = ScheduledActivity(START - timedelta(hours=2), START + timedelta(hours=4), ActivityCategory.ON_QUEUE_WORK)
EVERYONE = agents_of("mu-a") + agents_of("mu-b")


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, AgentState]] = []

    async def __call__(self, mu_id: str, state: AgentState) -> None:
        self.calls.append((mu_id, state))

    def states_of(self, agent_id: str) -> list[AgentState]:
        return [s for _, s in self.calls if s.agent_id == agent_id]


def judge(state: AgentState | None, clock: ManualClock) -> tuple[Status, Reason]:
    result = evaluate("x", ON_QUEUE, state, clock.now(), RULES, stale_after=timedelta(minutes=10))
    return result.status, result.reason


async def test_start_reconciles_every_agent_over_rest(source: GenesysSource, fake: FakeGenesys,
                                                      clock: ManualClock) -> None:
    states = await source.live_states("mu-a")
    assert set(states) == set(agents_of("mu-a"))
    state = states["agent-a1-1"]
    # REST says "On Queue" (with a space); the domain sees the enum
    assert (state.presence, state.routing, state.observed_at) == (Presence.ON_QUEUE, RoutingStatus.IDLE, START)
    users_calls = fake.requests_to("/api/v2/users$")
    assert any(set(c.query.get("expand", [])) == {"presence", "routingStatus"} for c in users_calls)


async def test_live_states_is_the_in_memory_table_without_io(source: GenesysSource, fake: FakeGenesys) -> None:
    before = len(fake.requests)
    for _ in range(5):
        await source.live_states("mu-b")
    assert len(fake.requests) == before


async def test_a_change_arrives_over_the_socket_and_is_evaluated_on_arrival(
        source: GenesysSource, fake: FakeGenesys, clock: ManualClock) -> None:
    recorder = Recorder()
    source.on_state_changed(recorder)
    clock.advance(timedelta(seconds=40))
    await fake.set_presence("agent-b2-3", "Away")
    await eventually(lambda: bool(recorder.states_of("agent-b2-3")), what="state-changed callback")
    mu_id, state = recorder.calls[-1]
    assert mu_id == "mu-b"
    assert (state.presence, state.since, state.observed_at) == (Presence.AWAY, clock.now(), clock.now())
    assert (await source.live_states("mu-b"))["agent-b2-3"] == state
    assert judge(state, clock) == (Status.NON_ADHERENT, Reason.RULE)
    assert len(recorder.calls) == 1  # nobody else changed


async def test_a_pushed_callback_gets_every_change_at_once_in_order(
        source: GenesysSource, fake: FakeGenesys, clock: ManualClock) -> None:
    """``on_state_pushed``: called as each change is applied, not queued, so nothing coalesces there
    (Monitor.push coalesces by itself) and the last call carries the last state."""
    pushed: list[tuple[str, AgentState]] = []
    source.on_state_pushed(lambda mu_id, state: pushed.append((mu_id, state)))
    awaited = Recorder()
    source.on_state_changed(awaited)  # the awaited callbacks still run alongside
    clock.advance(timedelta(seconds=40))
    for presence in ("Away", "On Queue", "Away"):
        await fake.set_presence("agent-b2-3", presence)
    await eventually(lambda: [s.presence for _, s in pushed][-1:] == [Presence.AWAY], what="pushed callback")
    assert {mu_id for mu_id, _ in pushed} == {"mu-b"}
    presences = [s.presence for _, s in pushed]
    assert presences[0] is Presence.AWAY and presences[-1] is Presence.AWAY
    assert Presence.ON_QUEUE in presences  # every change, in the order it arrived
    assert pushed[-1][1] == (await source.live_states("mu-b"))["agent-b2-3"]
    await eventually(lambda: bool(awaited.states_of("agent-b2-3")), what="awaited callback")


async def test_a_failing_pushed_callback_does_not_stop_the_feed(
        source: GenesysSource, fake: FakeGenesys, clock: ManualClock) -> None:
    def broken(mu_id: str, state: AgentState) -> None:
        raise RuntimeError("boom")

    pushed: list[AgentState] = []
    source.on_state_pushed(broken)
    source.on_state_pushed(lambda mu_id, state: pushed.append(state))
    await fake.set_presence("agent-a1-1", "Away")
    await eventually(lambda: bool(pushed), what="the second pushed callback")
    await fake.set_presence("agent-a1-1", "On Queue")
    await eventually(lambda: pushed[-1].presence is Presence.ON_QUEUE, what="a later change")


async def test_topics_are_split_across_channels_within_the_per_channel_limit(fake: FakeGenesys,
                                                                             clock: ManualClock) -> None:
    source = make_source(fake, clock, hub=HubOptions(**{**FAST_HUB.__dict__, "topics_per_channel": 5}),
                         unit_topics=False)  # one topic per agent: the fallback when unit topics are refused
    recorder = Recorder()
    source.on_state_changed(recorder)
    await source.start()
    try:
        # 5 WFM topics (BU schedules + explanations + staffing requirement, 2 MU schedules) + 12 agent topics
        # = 17 -> 4 channels
        assert len(fake.channels) == 4 and len(source.hub.channels) == 4
        assert all(len(c.topics) <= 5 for c in fake.channels.values())
        for agent in EVERYONE:
            assert len(fake.subscribers(f"v2.users.{agent}.activity")) == 1
        assert len(fake.connected_channels()) == 4
        for agent in EVERYONE:
            await fake.set_routing(agent, "INTERACTING")
        await eventually(lambda: {s.agent_id for _, s in recorder.calls} == set(EVERYONE), what="all events")
    finally:
        await source.close()


async def test_more_topics_than_channels_allow_fall_back_to_rest(fake: FakeGenesys, clock: ManualClock) -> None:
    hub = HubOptions(**{**FAST_HUB.__dict__, "topics_per_channel": 5, "max_channels": 2})
    source = make_source(fake, clock, hub=hub, unit_topics=False)
    await source.start()
    try:
        assert len(fake.channels) == 2
        assert len(source.hub.unsubscribed) == 17 - 10
        uncovered = [t.split(".")[2] for t in source.hub.unsubscribed]
        states = {**(await source.live_states("mu-a")), **(await source.live_states("mu-b"))}
        assert all(states[a].observed_at == START for a in uncovered)  # reconciled over REST at start
    finally:
        await source.close()


async def test_presence_and_routing_topics_mode(fake: FakeGenesys, clock: ManualClock) -> None:
    source = make_source(fake, clock, state_topics="presence_routing", unit_topics=False)
    recorder = Recorder()
    source.on_state_changed(recorder)
    await source.start()
    try:
        assert fake.subscribers("v2.users.agent-a1-2.presence")
        assert fake.subscribers("v2.users.agent-a1-2.routingStatus")
        assert not fake.subscribers("v2.users.agent-a1-2.activity")
        await fake.set_routing("agent-a1-2", "OFF_QUEUE")
        await eventually(lambda: bool(recorder.states_of("agent-a1-2")))
        await fake.set_presence("agent-a1-2", "Break")
        await eventually(lambda: len(recorder.states_of("agent-a1-2")) == 2)
        state = (await source.live_states("mu-a"))["agent-a1-2"]
        assert (state.presence, state.routing) == (Presence.BREAK, RoutingStatus.OFF_QUEUE)
    finally:
        await source.close()


async def test_pings_are_answered_and_heartbeats_keep_states_fresh(source: GenesysSource, fake: FakeGenesys,
                                                                   clock: ManualClock) -> None:
    await eventually(lambda: fake.pings >= 1, what="a ping from the client")
    clock.advance(timedelta(minutes=9))
    await fake.send_heartbeats()
    await eventually(lambda: all(s.observed_at == clock.now() for s in source.table.view("mu-a").values()),
                     what="heartbeat confirmation")
    clock.advance(timedelta(minutes=9))  # 18 min after start, 9 after the heartbeat: still fresh
    assert judge((await source.live_states("mu-a"))["agent-a1-1"], clock) == (Status.ADHERENT, Reason.RULE)


async def test_a_silent_socket_is_closed_and_replaced(source: GenesysSource, fake: FakeGenesys,
                                                      monotonic: Monotonic) -> None:
    channel = source.hub.channels[0]
    fake.muted = True  # no heartbeats, no pongs
    monotonic.value += FAST_HUB.silence_timeout * 0.9
    pings = fake.pings
    await eventually(lambda: fake.pings >= pings + 2, what="the watchdog looking again and pinging")
    assert channel.connects == 1  # silent, but not for long enough

    def silence_goes_on() -> bool:
        monotonic.value += FAST_HUB.silence_timeout / 2  # time passes and the socket says nothing
        return channel.connects >= 2

    await eventually(silence_goes_on, what="reconnect after silence")
    fake.muted = False


async def test_a_dropped_socket_reconnects_resubscribes_and_loses_no_change(
        source: GenesysSource, fake: FakeGenesys, clock: ManualClock) -> None:
    recorder = Recorder()
    source.on_state_changed(recorder)
    channel = source.hub.channels[0]
    puts_before = len(fake.requests_to("/subscriptions$", "PUT"))
    fake.ws_refuse = True
    assert await fake.drop_sockets() == 1
    await eventually(lambda: any(r.status == 503 for r in fake.requests_to("^/channels/")), what="refused reconnect")
    clock.advance(timedelta(seconds=30))
    await fake.set_presence("agent-a2-1", "Away")  # pushed to nobody: the socket is down
    assert recorder.states_of("agent-a2-1") == []
    fake.ws_refuse = False
    await eventually(lambda: channel.connects == 2 and channel.ready.is_set(), what="reconnect")
    await eventually(lambda: bool(recorder.states_of("agent-a2-1")), what="reconciled change")
    state = (await source.live_states("mu-a"))["agent-a2-1"]
    assert (state.presence, state.since) == (Presence.AWAY, clock.now())
    assert len(fake.requests_to("/subscriptions$", "PUT")) == puts_before + 1  # resubscribed
    await fake.set_presence("agent-a2-1", "On Queue")  # and events flow again
    await eventually(lambda: len(recorder.states_of("agent-a2-1")) == 2, what="event after reconnect")


async def test_socket_closing_moves_to_a_new_socket_before_the_old_one_closes(
        source: GenesysSource, fake: FakeGenesys) -> None:
    recorder = Recorder()
    source.on_state_changed(recorder)
    channel = source.hub.channels[0]
    await fake.send_socket_closing(close_after=3600.0)  # the old socket stays open for the whole test
    await eventually(lambda: channel.connects == 2 and channel.ready.is_set(), what="reconnect on socket_closing")
    await fake.set_presence("agent-b1-2", "Meal")
    await eventually(lambda: bool(recorder.states_of("agent-b1-2")), what="event on the new socket")


async def test_channel_is_renewed_before_its_24h_expiry(source: GenesysSource, fake: FakeGenesys,
                                                        clock: ManualClock) -> None:
    recorder = Recorder()
    source.on_state_changed(recorder)
    channel_id = source.hub.channels[0].id
    assert channel_id is not None
    clock.advance(timedelta(hours=22))
    await source.maintain()
    assert source.hub.channels[0].renewals == 0  # not yet due (renewed within the last hour only)
    clock.advance(timedelta(hours=1, minutes=5))
    await source.maintain()
    assert source.hub.channels[0].renewals == 1
    assert fake.channels[channel_id].expires == clock.now() + timedelta(hours=24)
    clock.advance(timedelta(hours=2))  # past the original expiry
    assert await fake.expire_channels() == []
    await fake.set_presence("agent-a1-3", "Away")
    await eventually(lambda: bool(recorder.states_of("agent-a1-3")), what="event on the renewed channel")
    assert source.hub.channels[0].id == channel_id and source.hub.channels[0].connects == 1


async def test_an_expired_channel_is_replaced_by_a_new_one(source: GenesysSource, fake: FakeGenesys,
                                                           clock: ManualClock) -> None:
    recorder = Recorder()
    source.on_state_changed(recorder)
    old_id = source.hub.channels[0].id
    clock.advance(timedelta(hours=25))  # nobody renewed it
    assert await fake.expire_channels() == [old_id]
    await eventually(lambda: source.hub.channels[0].id != old_id and source.hub.channels[0].ready.is_set(),
                     what="a new channel")
    new_id = source.hub.channels[0].id
    assert set(fake.channels) == {new_id}
    await fake.set_presence("agent-b2-1", "Away")
    await eventually(lambda: bool(recorder.states_of("agent-b2-1")), what="event on the new channel")


async def test_states_go_stale_while_genesys_is_unreachable_then_recover(
        source: GenesysSource, fake: FakeGenesys, clock: ManualClock) -> None:
    fake.ws_refuse = True
    await fake.drop_sockets()
    fake.fail("/api/v2/users", 503, times=10_000)
    clock.advance(timedelta(minutes=11))
    await source.maintain()  # periodic reconciliation is due, and fails
    state = (await source.live_states("mu-a"))["agent-a1-1"]
    assert state.observed_at == START  # nothing confirmed it
    assert judge(state, clock) == (Status.UNKNOWN, Reason.STALE_STATE)  # no false alert
    fake.faults.clear()
    fake.ws_refuse = False
    await eventually(lambda: source.hub.channels[0].connects == 2 and source.hub.channels[0].ready.is_set(),
                     timeout=8.0, what="reconnect after the outage")
    state = (await source.live_states("mu-a"))["agent-a1-1"]
    assert state.observed_at == clock.now()
    assert judge(state, clock) == (Status.ADHERENT, Reason.RULE)


async def test_periodic_reconciliation_fixes_a_missed_event(source: GenesysSource, fake: FakeGenesys,
                                                            clock: ManualClock) -> None:
    recorder = Recorder()
    source.on_state_changed(recorder)
    await fake.set_presence("agent-b1-3", "Offline", push=False)  # Genesys lost this event
    clock.advance(timedelta(minutes=4))
    await source.maintain()
    assert recorder.states_of("agent-b1-3") == []  # reconciliation not due yet
    clock.advance(timedelta(minutes=1))
    await source.maintain()
    await eventually(lambda: bool(recorder.states_of("agent-b1-3")), what="reconciled change")
    assert (await source.live_states("mu-b"))["agent-b1-3"].presence is Presence.OFFLINE


async def test_reconciliation_falls_back_to_bulk_presence_and_routing_routes(fake: FakeGenesys,
                                                                             clock: ManualClock) -> None:
    fake.drop_expand = True  # "expand is best effort": Genesys may leave presence/routingStatus out
    await fake.set_state("agent-a1-1", "Break", "OFF_QUEUE", push=False)
    source = make_source(fake, clock)
    await source.start()
    try:
        state = (await source.live_states("mu-a"))["agent-a1-1"]
        assert (state.presence, state.routing) == (Presence.BREAK, RoutingStatus.OFF_QUEUE)
    finally:
        await source.close()
    bulk = fake.requests_to("/api/v2/users/presences/purecloud/bulk$")
    assert bulk and all(len(c.query["id"]) <= 50 for c in bulk)
    assert fake.requests_to("/api/v2/users/agent-a1-1/routingstatus$")


async def test_malformed_events_are_logged_and_skipped(fake: FakeGenesys, clock: ManualClock,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    source = make_source(fake, clock, unit_topics=False)  # the per-user topics (see test_unit_topic.py)
    await source.start()
    try:
        await _malformed_events_are_skipped(source, fake, clock, caplog)
    finally:
        await source.close()


async def _malformed_events_are_skipped(source: GenesysSource, fake: FakeGenesys, clock: ManualClock,
                                        caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder()
    source.on_state_changed(recorder)
    await fake.push_raw("this is not json")
    await fake.push_event("v2.users.agent-a1-1.activity", {"presence": "garbage", "routingStatus": 42})
    await fake.push_event("v2.users.agent-a1-2.activity",
                          {"presence": {"presenceDefinition": {"id": "custom", "systemPresence": "Sleeping"}},
                           "routingStatus": {"status": "IDLE"}})
    await eventually(lambda: bool(recorder.states_of("agent-a1-2")), what="the odd presence")
    odd = (await source.live_states("mu-a"))["agent-a1-2"]
    assert odd.presence is None  # unrecognised: the monitor reports UNKNOWN, never an alert
    assert judge(odd, clock) == (Status.UNKNOWN, Reason.UNRECOGNISED_STATE)
    assert (await source.live_states("mu-a"))["agent-a1-1"].presence is Presence.ON_QUEUE  # untouched
    assert "not JSON" in caplog.text


async def test_a_lost_subscription_is_restored(source: GenesysSource, fake: FakeGenesys) -> None:
    channel = source.hub.channels[0]
    puts_before = len(fake.requests_to("/subscriptions$", "PUT"))
    await fake.push_raw('{"topicName": "v2.system.no_longer_subscribed.x", "eventBody": '
                        '{"systemTopicType": "no_longer_subscribed", "reason": "another_channel_subscribed"}}')
    await eventually(lambda: channel.connects == 2 and channel.ready.is_set(), what="resubscribe")
    assert len(fake.requests_to("/subscriptions$", "PUT")) == puts_before + 1
