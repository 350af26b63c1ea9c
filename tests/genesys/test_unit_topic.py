"""Issue 11.3: the management-unit adherence topic on the fake Genesys (real HTTP + WebSocket, manual clock).

One topic per unit carries every agent's state, so the topic count follows units; where the OAuth
client is not permitted (the topic ``Rejected``, or the subscribe refused with a 403) the unit falls
back to per-user topics. The choice is logged at start.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from services.adapters.redis.store import RedisStore
from services.clock import ManualClock
from services.config import OrgConfig
from services.domain.escalation import EventKind, TierAction
from services.domain.states import Presence, RoutingStatus
from testing.fake_genesys import FakeGenesys
from testing.fake_genesys.adherence import unit_topic
from tests.genesys.conftest import agents_of, eventually, make_source
from tests.genesys.wired import wire

AGENT = "agent-a1-1"


def per_user_topics(fake: FakeGenesys) -> set[str]:
    return {t for c in fake.channels.values() for t in c.topics if t.startswith("v2.users.")}


async def test_the_unit_adherence_topic_drives_an_incident_end_to_end(
        fake: FakeGenesys, clock: ManualClock, org_config: OrgConfig, redis_client: Redis, redis_prefix: str,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="services.adapters.genesys.source")
    source = make_source(fake, clock, org_config)
    wired = wire(source, RedisStore(redis_client, redis_prefix), org_config, clock, replica_id="e2e-unit-topic")
    monitor, on_arrival, tick = wired.monitor, wired.on_arrival, wired.tick
    await source.start()
    try:
        # Two units, twelve agents: two adherence topics and not one per-user topic; the probe's channel is reused.
        assert fake.subscribers(unit_topic("mu-a")) and fake.subscribers(unit_topic("mu-b"))
        assert per_user_topics(fake) == set() and len(fake.channels) == 1
        assert source.topic_choice.unit == ("mu-a", "mu-b")
        assert "live states: management-unit adherence topic for 2 of 2 unit(s) (2 topic(s), 12 agent(s))" \
            in caplog.text
        await monitor.start()

        await tick()
        assert wired.ticked == []
        went_away = clock.now()
        pushed = fake.events_pushed
        await fake.set_presence(AGENT, "Away")
        assert fake.events_pushed == pushed + 1  # only the unit topic is subscribed: one frame per change
        # No permessage-deflate offered: inflating thousands of small frames a second costs more than it saves.
        assert fake.socket_extensions == [""]
        await eventually(lambda: any(e.kind is EventKind.OPENED for e in on_arrival), what="evaluation on arrival")
        opened = next(e for e in on_arrival if e.kind is EventKind.OPENED)
        assert (opened.incident.agent_id, opened.incident.started_at) == (AGENT, went_away)
        state = (await source.live_states("mu-a"))[AGENT]
        assert (state.presence, state.routing, state.confirmed) == (Presence.AWAY, RoutingStatus.OFF_QUEUE, True)

        while clock.now() < went_away + timedelta(minutes=5, seconds=30):
            await tick()
        fired = [e.tier.action for e in wired.events
                 if e.kind is EventKind.TIER_FIRED and e.tier is not None and e.incident.agent_id == AGENT]
        assert fired == [TierAction.CHAT_CARD] and wired.recorder.kinds().count("post_card") == 1

        came_back = clock.now()
        await fake.set_presence(AGENT, "On Queue")
        await eventually(lambda: source.table.get(AGENT) is not None
                         and source.table.get(AGENT).presence is Presence.ON_QUEUE,  # type: ignore[union-attr]
                         what="back on queue over the unit topic")
        for _ in range(8):
            await tick()
            if any(e.kind is EventKind.RESOLVED for e in wired.events):
                break
        resolved = [e.at for e in wired.events if e.kind is EventKind.RESOLVED]
        assert resolved and resolved[0] - came_back >= org_config.monitor.clear_after
    finally:
        await source.close()


async def test_a_unit_whose_topic_is_rejected_falls_back_to_per_user_topics(
        fake: FakeGenesys, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="services.adapters.genesys.source")
    fake.adherence_permission.denied_units = {"mu-b"}  # answered "Rejected" (missing wfm:realtimeAdherence:view)
    source = make_source(fake, clock)
    await source.start()
    try:
        assert source.topic_choice.unit == ("mu-a",) and source.topic_choice.per_user == ("mu-b",)
        assert fake.subscribers(unit_topic("mu-a")) and not fake.subscribers(unit_topic("mu-b"))
        assert per_user_topics(fake) == {f"v2.users.{a}.activity" for a in agents_of("mu-b")}
        assert ("per-user topics for 1 unit(s) (6 topic(s), 6 agent(s)): rejected (Missing permissions): needs "
                "wfm:realtimeAdherence:view") in caplog.text
        await fake.set_presence("agent-b1-1", "Break")
        await fake.set_presence("agent-a1-1", "Meal")
        await eventually(lambda: all(s is not None and s.presence is p for s, p in (
            (source.table.get("agent-b1-1"), Presence.BREAK), (source.table.get("agent-a1-1"), Presence.MEAL))),
            what="both units' changes")
    finally:
        await source.close()


async def test_a_subscribe_refused_with_403_falls_back_for_the_refused_units_only(
        fake: FakeGenesys, clock: ManualClock) -> None:
    fake.adherence_permission.denied_units = {"mu-a"}
    fake.adherence_permission.mode = "forbid"  # the whole PUT fails when one topic is not permitted
    source = make_source(fake, clock)
    await source.start()
    try:
        assert source.topic_choice.per_user == ("mu-a",) and source.topic_choice.unit == ("mu-b",)
        assert "refused (HTTP 403)" in source.topic_choice.reasons["mu-a"]
        assert all(c.ready.is_set() for c in source.hub.channels)  # the hub never asks for a refused topic
        await fake.set_presence("agent-a2-3", "Away")
        await eventually(lambda: (s := source.table.get("agent-a2-3")) is not None and s.presence is Presence.AWAY,
                         what="the per-user event")
    finally:
        await source.close()


async def test_turned_off_means_per_user_topics_and_no_probe(fake: FakeGenesys, clock: ManualClock) -> None:
    source = make_source(fake, clock, unit_topics=False)
    await source.start()
    try:
        assert source.topic_choice.unit == () and not fake.subscribers(unit_topic("mu-a"))
        assert len(per_user_topics(fake)) == 12 and len(fake.channels) == 1
    finally:
        await source.close()


async def test_a_dropped_channel_holds_the_agents_of_its_unit_topics(fake: FakeGenesys, clock: ManualClock) -> None:
    source = make_source(fake, clock)
    await source.start()
    try:
        fake.ws_refuse = True
        await fake.drop_sockets()
        everyone = set(agents_of("mu-a") + agents_of("mu-b"))
        await eventually(lambda: source.table.held() == everyone, what="the unit topics' agents held")
        fake.ws_refuse = False
        await eventually(lambda: not source.table.held(), what="released after the reconnect's reconciliation")
    finally:
        await source.close()


async def test_malformed_unit_records_are_logged_and_skipped(fake: FakeGenesys, clock: ManualClock,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    source = make_source(fake, clock)
    await source.start()
    try:
        before = source.table.get(AGENT)
        topic = unit_topic("mu-a")
        await fake.push_event(topic, {"managementUnitId": "mu-a", "systemPresence": "Away"})  # no user
        await fake.push_event(topic, {"user": {"id": AGENT}, "systemPresence": ["Away"]})  # wrong type
        await fake.push_event(topic, {"user": {"id": "agent-a1-2"}, "systemPresence": "Break",
                                      "routingStatus": "__EMPTY__", "somethingNew": {"x": 1}})  # unknown field: fine
        await eventually(lambda: (s := source.table.get("agent-a1-2")) is not None and s.presence is Presence.BREAK,
                         what="the well-formed record")
        assert source.table.get(AGENT) == before  # nothing read from the malformed ones
        assert caplog.text.count("unit adherence event skipped") == 2
        assert source.table.get("agent-a1-2").routing is RoutingStatus.IDLE  # type: ignore[union-attr]
    finally:
        await source.close()


@pytest.mark.parametrize("mode", ["reject", "forbid"])
async def test_a_topic_refused_after_start_moves_its_unit_to_per_user_topics(
        fake: FakeGenesys, clock: ManualClock, caplog: pytest.LogCaptureFixture, mode: str) -> None:
    """A permission taken away while running (the next subscribe answers ``Rejected`` or a 403): the unit
    moves to per-user topics at once, and its agents' changes arrive again."""
    caplog.set_level(logging.WARNING, logger="services.adapters.genesys.topic_fallback")
    source = make_source(fake, clock)
    await source.start()
    try:
        assert source.topic_choice.unit == ("mu-a", "mu-b")
        fake.adherence_permission.denied_units = {"mu-b"}
        fake.adherence_permission.mode = mode
        await fake.set_presence("agent-b1-2", "Break")  # while the socket is down: no event will carry it
        fake.ws_refuse = True
        await fake.drop_sockets()
        await eventually(lambda: not any(c.connected for c in source.hub.channels), what="the drop seen")
        await fake.set_presence("agent-b1-2", "Meal", push=False)
        fake.ws_refuse = False  # the reconnect's subscribe meets the refusal

        await eventually(lambda: source.topic_choice.per_user == ("mu-b",), what="mu-b moved to per-user topics")
        moved = source.topic_choice
        assert moved.unit == ("mu-a",) and "after start" in moved.reasons["mu-b"]
        await eventually(lambda: per_user_topics(fake) == {f"v2.users.{a}.activity" for a in agents_of("mu-b")}
                         and all(c.ready.is_set() for c in source.hub.channels), what="the per-user subscribe")
        assert not fake.subscribers(unit_topic("mu-b")) and fake.subscribers(unit_topic("mu-a"))
        assert "the adherence topic of unit mu-b is no longer permitted" in caplog.text
        # The change no event carried was read over REST; the next ones come on the agent's own topic.
        await eventually(lambda: (s := source.table.get("agent-b1-2")) is not None and s.presence is Presence.MEAL,
                         what="the missed change reconciled")
        # A second later (on the manual clock a REST answer still in flight would carry the same instant
        # as the event and could pass it).
        clock.advance(timedelta(seconds=1))
        await fake.set_presence("agent-b1-3", "Away")
        await eventually(lambda: (s := source.table.get("agent-b1-3")) is not None and s.presence is Presence.AWAY,
                         what="the per-user event")
    finally:
        await source.close()


async def test_a_refusal_not_about_unit_topics_is_probed_once_not_on_every_retry(
        fake: FakeGenesys, clock: ManualClock) -> None:
    """The whole subscribe refused for another reason: the probe finds the unit topics permitted, nothing
    moves, and the hub's retries do not open a probe channel each (a channel per retry would push the
    client towards Genesys's 20-channel limit)."""
    source = make_source(fake, clock)
    await source.start()
    try:
        channel_id = source.hub.channels[0].id
        refusal = fake.fail(f"channels/{channel_id}/subscriptions$", 403, times=10_000, method="PUT")
        fake.ws_refuse = True
        await fake.drop_sockets()
        await eventually(lambda: not any(c.connected for c in source.hub.channels), what="the drop seen")
        created = len(fake.requests_to(r"/notifications/channels$", "POST"))
        fake.ws_refuse = False
        await eventually(lambda: refusal.hits >= 5, what="the hub retrying the refused subscribe")
        assert len(fake.requests_to(r"/notifications/channels$", "POST")) == created + 1  # one probe
        assert source.topic_choice.unit == ("mu-a", "mu-b")  # permitted: nothing moved

        clock.advance(timedelta(minutes=11))  # after a while it is asked again, once
        hits = refusal.hits
        await eventually(lambda: refusal.hits >= hits + 3, what="more retries")
        assert len(fake.requests_to(r"/notifications/channels$", "POST")) == created + 2
    finally:
        await source.close()
