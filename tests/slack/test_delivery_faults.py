"""Delivery faults end to end (fake Slack Web API, a real SMTP server, real Redis, injected clock):
an SMTP outage longer than the next tier delays only the email, and a card posted after Redis lost
its state says so."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import timedelta

import pytest
from aiosmtpd.smtp import SMTP
from redis.asyncio import Redis

from presentation.blocks.incident_card import incident_card
from presentation.blocks.storm_card import storm_card
from services.adapters.redis.store import RedisStore
from services.domain.states import Presence, RoutingStatus
from testing.fake_slack import FakeSlack
from tests.email.smtp_server import Inbox, serve
from tests.slack.blockkit import assert_valid_blocks
from tests.slack.rig import MU
from tests.slack.samples import T0, incident, storm, view, with_card
from tests.slack.test_end_to_end import World, card_text

pytestmark = pytest.mark.redis


async def test_an_smtp_outage_delays_the_email_only_and_it_goes_out_once_when_smtp_returns(
        redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack) -> None:
    inbox = Inbox()
    server, port = await serve(lambda: SMTP(inbox, hostname="mail.test"))
    world = World(redis_client, redis_prefix, fake_slack, port)
    await world.run_until(1)
    world.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE)  # out from 01:15
    await world.run_until(14)
    assert len(world.cards()) == 1
    server.close()  # the mail server goes away before the email tier (16:15) ...
    await server.wait_closed()

    await world.run_until(31.3)  # ... and stays away past the coaching tier (31:15)
    incident = await world.incident()
    assert [t.action.value for t in incident.fired] == ["chat_card", "email", "coaching"]
    assert len(world.qm.appointments) == 1  # coaching booked on time, not held behind the email
    assert "coaching session booked" in card_text(world.only_card())  # and the card updated with it
    assert inbox.messages == []

    back = await asyncio.get_running_loop().create_server(lambda: SMTP(inbox, hostname="mail.test"),
                                                          "127.0.0.1", port)
    try:
        await world.run_until(38)  # the next retry (backoff capped at 5 minutes) goes through
        assert len(inbox.messages) == 1
        _, recipients, _ = inbox.messages[0]
        assert recipients == ["olga@example.com"]
        await world.run_until(45)
        assert len(inbox.messages) == 1 and len(world.qm.appointments) == 1 and len(world.cards()) == 1
        assert await redis_client.xlen(RedisStore(redis_client, redis_prefix).keys(MU).outbox) == 0
    finally:
        back.close()
        await back.wait_closed()


async def test_a_card_posted_after_redis_lost_its_state_says_it_may_repeat_an_alert(
        redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack) -> None:
    inbox = Inbox()
    server, port = await serve(lambda: SMTP(inbox, hostname="mail.test"))
    try:
        world = World(redis_client, redis_prefix, fake_slack, port)
        await world.run_until(1)
        world.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE)
        await world.run_until(7)
        (first,) = world.cards()
        assert "State was lost" not in card_text(first)
        lost = [k async for k in redis_client.scan_iter(match=f"{redis_prefix}:*")]
        await redis_client.delete(*lost)  # what FLUSHALL (or a restart without AOF) does to our keys
        await world.run_until(9)
        cards = world.cards()
        assert len(cards) == 2  # the old card ref is gone with the rest: a new card, which says why
        assert "State was lost at" in card_text(cards[1]) and "may repeat an earlier alert" in card_text(cards[1])
        assert world.dispatcher.store.state_losses == 1
    finally:
        server.close()
        await server.wait_closed()


def test_both_card_kinds_say_state_was_lost_in_valid_block_kit() -> None:
    lost = T0 + timedelta(minutes=3)
    single = replace(view(with_card(incident()), T0 + timedelta(minutes=9)), state_lost_at=lost)
    grouped = storm(3)
    grouped = replace(grouped, incidents=[replace(v, state_lost_at=lost) for v in grouped.incidents])
    for blocks in (incident_card(single).blocks, storm_card(grouped).blocks):
        assert_valid_blocks(blocks)
        assert "State was lost at <!date^" in json.dumps(blocks) and "|09:03 UTC>" in json.dumps(blocks)
    for blocks in (incident_card(replace(single, state_lost_at=None)).blocks, storm_card(storm(3)).blocks):
        assert "State was lost" not in json.dumps(blocks)
