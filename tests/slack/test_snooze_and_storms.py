"""Snooze, Unsnooze and Unacknowledge on the card, and the storm card's group actions, end to end with a
manual clock: the real monitor, Redis, outbox, Slack app (signed payloads), fake Slack and aiosmtpd.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from presentation.payloads import (
    ACKNOWLEDGE,
    SNOOZE,
    SNOOZE_BLOCK,
    STORM_ACK_ALL,
    STORM_ESCALATE_ALL,
    UNACKNOWLEDGE,
    UNSNOOZE,
)
from services.domain.escalation import EventKind, TierAction
from services.domain.states import Presence, RoutingStatus
from testing.fake_slack import FakeSlack
from tests.email.smtp_server import Inbox
from tests.slack import signed
from tests.slack.blockkit import assert_valid_blocks
from tests.slack.rig import MU, OPS_ID, SUPERVISOR_ID, T0, TICK, at
from tests.slack.test_end_to_end import World, card_text, smtp

pytestmark = pytest.mark.redis
__all__ = ["smtp"]


def snooze_body(world: World, choice: str, user_id: str, hook: str) -> str:
    """What Slack sends when someone picks a length in the card's Snooze menu."""
    block = next(b for b in world.only_card().blocks if b["block_id"].startswith(SNOOZE_BLOCK))
    payload = signed.block_action(action_id=SNOOZE, value="", user_id=user_id,
                                  response_url=world.fake.response_url(hook), block_id=block["block_id"])
    payload["actions"] = [{"type": "static_select", "action_id": SNOOZE, "block_id": block["block_id"],
                           "selected_option": {"text": {"type": "plain_text", "text": choice}, "value": choice},
                           "action_ts": f"{time.time():.6f}"}]
    return signed.interactive_body(payload)


async def out_at_1(world: World, agents: tuple[str, ...] = ("a0",)) -> None:
    await world.run_until(1)
    for agent in agents:
        world.source.set_state(agent, Presence.AWAY, RoutingStatus.OFF_QUEUE)  # out from 01:15


async def test_snooze_1h_holds_every_tier_until_it_ends(redis_client: Redis, redis_prefix: str,
                                                        fake_slack: FakeSlack, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    world = World(redis_client, redis_prefix, fake_slack, port)
    await out_at_1(world)
    await world.run_until(7)
    body = snooze_body(world, "60", SUPERVISOR_ID, "sup")
    stamp = int(time.time())
    await world.send(body, stamp)
    snoozed_at = world.clock.now()
    await fake_slack.wait_for("webhook", 1)  # one click at a time: the replies come in order
    await world.send(body, stamp)  # replayed
    await fake_slack.wait_for("webhook", 2)
    await world.send(snooze_body(world, "15", OPS_ID, "ops"), stamp)  # a stale card's menu, another length
    replies = await fake_slack.wait_for("webhook", 3)
    assert replies[0]["text"].startswith("💤 Snoozed until <!date^")
    until = int((snoozed_at + timedelta(hours=1)).timestamp())
    for replay in replies[1:]:
        assert replay["text"].startswith(f"ℹ️ Already snoozed by Sam Supervisor until <!date^{until}^")
    incident = await world.incident()
    assert incident.snooze is not None and incident.snooze.until == snoozed_at + timedelta(hours=1)

    await world.run_until(8)
    card = world.only_card()
    assert_valid_blocks(card.blocks)
    assert "Snoozed by Sam Supervisor until" in card_text(card)
    assert not any(b["block_id"].startswith(SNOOZE_BLOCK) for b in card.blocks)  # Unsnooze instead
    assert UNSNOOZE in card_text(card)

    await world.run_until(66.5)  # email was due at 16:15, coaching at 31:15: both held
    assert inbox.messages == [] and world.qm.appointments == ()
    assert len((await world.incident()).fired) == 1
    await world.run_until(67.5)  # the snooze ends an hour after it began (~67:00): what came due fires now
    fired = (await world.incident()).fired
    assert [f.action for f in fired] == [TierAction.CHAT_CARD, TierAction.EMAIL, TierAction.COACHING]
    assert all(snoozed_at + timedelta(hours=1) <= f.at <= snoozed_at + timedelta(hours=1) + TICK for f in fired[1:])
    assert len(inbox.messages) == 1
    thread = [json.dumps(t) for t in world.thread_texts()]
    assert any("Snoozed by Sam Supervisor until" in t for t in thread)


async def test_unsnooze_resumes_at_once_and_a_replay_changes_nothing(
        redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    world = World(redis_client, redis_prefix, fake_slack, port)
    await out_at_1(world)
    await world.run_until(7)
    await world.send(snooze_body(world, "240", SUPERVISOR_ID, "sup"))
    await fake_slack.wait_for("webhook", 1)
    await world.run_until(20)  # the email tier (16:15) is held
    assert inbox.messages == []
    body = world.click_body(UNSNOOZE, world.button_value(UNSNOOZE), OPS_ID, hook="ops")
    stamp = int(time.time())
    await world.send(body, stamp)
    lifted_at = world.clock.now()
    await fake_slack.wait_for("webhook", 2)
    await world.send(body, stamp)
    replies = await fake_slack.wait_for("webhook", 3)
    assert replies[1]["text"].startswith("⏰ Unsnoozed")
    assert replies[2]["text"].startswith("ℹ️ Already unsnoozed by Olga Ops at <!date^")
    await world.run_until(20.5)
    email = (await world.incident()).fired[1]
    assert email.action is TierAction.EMAIL and lifted_at <= email.at <= lifted_at + TICK
    assert len(inbox.messages) == 1
    assert any("Unsnoozed by Olga Ops" in t for t in world.thread_texts())


async def test_snooze_until_shift_end_uses_the_agents_schedule(
        redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack, smtp: tuple[Inbox, int]) -> None:
    _, port = smtp
    world = World(redis_client, redis_prefix, fake_slack, port)
    await out_at_1(world)
    await world.run_until(7)
    await world.send(snooze_body(world, "shift", SUPERVISOR_ID, "sup"))
    await fake_slack.wait_for("webhook")
    incident = await world.incident()
    assert incident.snooze is not None and incident.snooze.until == T0 + timedelta(hours=7)  # ON_QUEUE_DAY ends


async def test_unacknowledge_gives_the_incident_back_to_escalation(
        redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    world = World(redis_client, redis_prefix, fake_slack, port)
    await out_at_1(world)
    await world.run_until(7)
    ack_body = world.click_body(ACKNOWLEDGE, world.button_value(ACKNOWLEDGE), SUPERVISOR_ID, hook="sup")
    ack_stamp = int(time.time())
    await world.send(ack_body, ack_stamp)  # holds escalation until 17:00-ish
    await fake_slack.wait_for("webhook", 1)
    await world.run_until(8)
    unack = world.click_body(UNACKNOWLEDGE, world.button_value(UNACKNOWLEDGE), SUPERVISOR_ID, hook="sup2")
    stamp = int(time.time())
    await world.send(unack, stamp)
    await fake_slack.wait_for("webhook", 2)
    await world.send(unack, stamp)  # replayed
    await fake_slack.wait_for("webhook", 3)
    await world.send(ack_body, ack_stamp)  # the old Acknowledge replayed: it must not acknowledge again
    replies = await fake_slack.wait_for("webhook", 4)
    assert replies[1]["text"].startswith("↩️ Unacknowledged")
    assert replies[2]["text"].startswith("ℹ️ Already unacknowledged by Sam Supervisor at <!date^")
    assert replies[3]["text"].startswith("ℹ️ Already unacknowledged by Sam Supervisor at <!date^")
    incident = await world.incident()
    assert incident.acked_by is None and incident.acks == 1 and not incident.held(world.clock.now())

    await world.run_until(16.5)  # as the policy says: the email at 15 minutes from the start (16:15)
    email = (await world.incident()).fired[1]
    assert email.action is TierAction.EMAIL and at(16.25) <= email.at <= at(16.25) + TICK
    assert len(inbox.messages) == 1
    card = world.only_card()
    assert_valid_blocks(card.blocks)
    assert "unacknowledged by Sam Supervisor" in card_text(card) and ACKNOWLEDGE in card_text(card)
    thread = world.thread_texts()
    assert any("Unacknowledged by Sam Supervisor" in t for t in thread)
    kinds = [e["kind"] for e in await world.store.audit(MU)]
    assert kinds.count(EventKind.UNACKNOWLEDGED.value) == 1 and kinds.count(EventKind.ACKNOWLEDGED.value) == 1


async def test_a_storm_of_3_sends_one_email_and_its_thread_gets_history_lines(
        redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    world = World(redis_client, redis_prefix, fake_slack, port, agents=4)
    await out_at_1(world, ("a0", "a1", "a2"))
    await world.run_until(7)
    card = world.only_card()
    assert_valid_blocks(card.blocks)
    assert STORM_ACK_ALL in card_text(card) and STORM_ESCALATE_ALL in card_text(card)
    body = world.click_body(STORM_ACK_ALL, world.button_value(STORM_ACK_ALL), SUPERVISOR_ID, hook="sup")
    stamp = int(time.time())
    await world.send(body, stamp)
    await fake_slack.wait_for("webhook", 1)
    await world.send(body, stamp)
    replies = await fake_slack.wait_for("webhook", 2)
    assert replies[0]["text"] == "✅ Acknowledged: 3 alerts."
    assert replies[1]["text"].startswith("ℹ️ Already acknowledged by Sam Supervisor")

    await world.run_until(16)  # the email tier is held by the acknowledgements (10 min)
    assert inbox.messages == []
    await world.run_until(19)  # then it fires for all three: one grouped email, not three
    assert [len((await world.incident(a)).fired) for a in ("a0", "a1", "a2")] == [2, 2, 2]
    assert len(inbox.messages) == 1
    _, recipients, email = inbox.messages[0]
    assert recipients == ["olga@example.com"] and "3 agents of Team t1" in str(email["Subject"])
    html = email.get_body(("html",))
    assert html is not None
    table = html.get_content()
    assert all(f"<td style=\"padding:2px 12px 2px 0\">Agent {a}</td>" in table for a in ("a0", "a1", "a2"))
    await world.run_until(25)
    assert len(inbox.messages) == 1

    thread = world.thread_texts()
    assert sum("Acknowledged by Sam Supervisor" in t for t in thread) == 3
    assert {a for a in ("a0", "a1", "a2") for t in thread if f"(Agent {a})" in t} == {"a0", "a1", "a2"}
    assert sum("Email sent to Olga Ops about the 3 agents" in t for t in thread) == 1
    assert all("<@" not in t for t in thread)


async def test_escalate_all_fires_the_next_tier_once_for_the_group(
        redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    world = World(redis_client, redis_prefix, fake_slack, port, agents=4)
    await out_at_1(world, ("a0", "a1", "a2"))
    await world.run_until(7)
    body = world.click_body(STORM_ESCALATE_ALL, world.button_value(STORM_ESCALATE_ALL), OPS_ID, hook="ops")
    stamp = int(time.time())
    await world.send(body, stamp)
    await fake_slack.wait_for("webhook", 1)  # the escalation is committed when its answer is sent
    await world.dispatcher.drain([MU])
    await world.send(body, stamp)  # replayed: the email tier fired already
    replies = await fake_slack.wait_for("webhook", 2)
    assert replies[0]["text"] == "✅ Escalated now: 3 alerts."
    assert replies[1]["text"].startswith("ℹ️ Already escalated to email by Olga Ops at <!date^")
    assert len(inbox.messages) == 1 and world.qm.appointments == ()
    await world.run_until(20)  # the scheduled email tier has nothing left to send
    assert len(inbox.messages) == 1
    for agent in ("a0", "a1", "a2"):
        fired: Any = (await world.incident(agent)).fired
        assert [f.action for f in fired] == [TierAction.CHAT_CARD, TierAction.EMAIL] and fired[1].by == "Olga Ops"
