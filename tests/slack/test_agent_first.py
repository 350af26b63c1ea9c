"""The agent-first tier end to end, with a manual clock: a DM to the agent at 2 minutes, their answer on
the supervisor's card at 5, and an explanation approved from the card written back to the fake Genesys
for the incident's real window. Only the agent answers; the agent never approves.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from presentation.payloads import AGENT_EXPLAIN, AGENT_ON_MY_WAY, APPROVE_EXPLANATION, EXPLAIN_MODAL
from services.adapters.genesys.exception_writer import GenesysExceptionWriter
from services.domain.escalation import IncidentStatus, ReplyKind, TierAction
from services.domain.model import Agent
from services.domain.states import Presence, RoutingStatus
from testing.fake_genesys import FakeGenesys
from testing.fake_slack import FakeSlack, Message
from tests.email.smtp_server import Inbox
from tests.genesys.conftest import make_source
from tests.slack.blockkit import assert_valid_blocks, assert_valid_view
from tests.slack.rig import MU, STRANGER_ID, SUPERVISOR_ID, TICK
from tests.slack.test_end_to_end import World, card_text, smtp

pytestmark = pytest.mark.redis
__all__ = ["smtp"]  # the SMTP fixture, used by name

AGENT_USER, AGENT_EMAIL = "U0AGENT01", "alex@example.com"
NUDGE_FIRST = {"tiers": [{"after": "2m", "action": "agent_nudge"}, {"after": "5m", "action": "chat_card"},
                         {"after": "15m", "action": "email"}, {"after": "30m", "action": "coaching"}]}
DM = f"D{AGENT_USER}"


def agent_world(redis: Redis, prefix: str, fake: FakeSlack, port: int, **kwargs: Any) -> World:
    world = World(redis, prefix, fake, port, config=NUDGE_FIRST, **kwargs)
    world.source.agents["a0"] = Agent("a0", "Alex Agent", "t1", MU, email=AGENT_EMAIL)  # found in Slack by email
    fake.users_by_email[AGENT_EMAIL] = AGENT_USER
    fake.user_names[AGENT_USER] = "Alex Agent"
    return world


def dm(fake: FakeSlack) -> Message:
    messages = [m for m in fake.messages.get(DM, []) if m.thread_ts is None]
    assert len(messages) == 1, [m.text for m in messages]
    return messages[0]


def value_of(message: Message, action_id: str) -> str:
    for block in message.blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} on the message")


def supervisor_cards(world: World) -> list[Message]:
    return [m for m in world.cards() if m.channel != DM]


async def test_nudge_at_2_minutes_then_on_my_way_is_on_the_card_at_5(
        redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack, smtp: tuple[Inbox, int]) -> None:
    _, port = smtp
    world = agent_world(redis_client, redis_prefix, fake_slack, port)
    await world.run_until(1)
    world.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE)  # out from 01:15

    await world.run_until(3)  # the nudge is due at 03:15
    assert fake_slack.messages.get(DM) is None
    await world.run_until(3.5)
    nudge = dm(fake_slack)
    assert_valid_blocks(nudge.blocks)
    text = card_text(nudge)
    assert "On-queue work" in text and "Away · Off queue" in text
    assert supervisor_cards(world) == []  # the agent hears first; no card yet
    assert "Agent a1" not in text  # nothing about anyone else

    # Only the agent answers their DM (the supervisor's click is refused and changes nothing).
    await world.click(AGENT_ON_MY_WAY, value_of(nudge, AGENT_ON_MY_WAY), SUPERVISOR_ID, hook="sup")
    assert "Only the agent" in (await fake_slack.wait_for("webhook"))[0]["text"]
    assert (await world.incident()).agent_reply is None

    body = world.click_body(AGENT_ON_MY_WAY, value_of(nudge, AGENT_ON_MY_WAY), AGENT_USER, hook="agent")
    stamp = int(time.time())
    await world.send(body, stamp)
    answered_at = world.clock.now()
    await fake_slack.wait_for("webhook", 2)  # one click at a time: the replies come in order
    await world.send(body, stamp)  # a byte-identical replay
    replies = await fake_slack.wait_for("webhook", 3)
    assert replies[1]["text"].startswith("📨 Thanks")
    assert replies[2]["text"].startswith("ℹ️ Already answered “on my way”")
    reply = (await world.incident()).agent_reply
    assert reply is not None and reply.kind is ReplyKind.ON_MY_WAY and reply.seq == 1 and reply.at == answered_at

    await world.run_until(6.5)  # the card tier at 06:15
    (card,) = supervisor_cards(world)
    assert_valid_blocks(card.blocks)
    assert "Agent says: on my way, <!date^" in card_text(card)
    updated = dm(fake_slack)
    assert updated.edits >= 1 and "You said: on my way" in card_text(updated)
    assert_valid_blocks(updated.blocks)
    assert [f.action for f in (await world.incident()).fired] == [TierAction.AGENT_NUDGE, TierAction.CHAT_CARD]


async def test_explain_then_approve_from_the_card_writes_the_real_window_to_genesys(
        redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    world = agent_world(redis_client, redis_prefix, fake_slack, port)
    genesys = FakeGenesys(world.clock)
    await genesys.start()
    source = make_source(genesys, world.clock)
    try:
        genesys.add_business_unit("bu-1")
        genesys.add_unit(MU, "bu-1")
        genesys.add_user("a0", MU, name="Alex Agent", email=AGENT_EMAIL)
        world.exception_writer = GenesysExceptionWriter(source)
        world.dispatcher = world.new_dispatcher()
        await _explain_and_approve(world, fake_slack, genesys, inbox)
    finally:
        await source.close()
        await genesys.stop()


async def _explain_and_approve(world: World, fake_slack: FakeSlack, genesys: FakeGenesys, inbox: Inbox) -> None:
    await world.run_until(1)
    world.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE)
    start = world.clock.now()  # the incident starts here (01:15)
    await world.run_until(3.5)
    nudge = dm(fake_slack)

    # Explain… opens the modal for the agent only; its reasons are the unit's list.
    await world.click(AGENT_EXPLAIN, value_of(nudge, AGENT_EXPLAIN), STRANGER_ID, hook="x")
    assert "Only the agent" in (await fake_slack.wait_for("webhook"))[0]["text"]
    await world.click(AGENT_EXPLAIN, value_of(nudge, AGENT_EXPLAIN), AGENT_USER, hook="agent")
    modal = (await fake_slack.wait_for("views.open"))[0].body["view"]
    assert_valid_view(modal)
    codes = [o["value"] for b in modal["blocks"] if b["block_id"] == "reason" for o in b["element"]["options"]]
    assert codes == world.config.explanation_reasons_for(MU)
    values = {"reason": {"value": {"type": "static_select", "selected_option": {"value": "system_issue"}}},
              "note": {"value": {"type": "plain_text_input", "value": "VPN dropped"}}}
    response = await world.submit(EXPLAIN_MODAL, modal["private_metadata"], values, AGENT_USER)
    assert response.status == 200 and response.body == ""

    await world.run_until(6.5)  # the card is posted with the explanation and its approve button
    (card,) = supervisor_cards(world)
    assert_valid_blocks(card.blocks)
    assert "Agent says: explanation: System or phone issue (VPN dropped)" in card_text(card)
    approve = value_of(card, APPROVE_EXPLANATION)

    # The agent cannot approve their own explanation, a stranger cannot either.
    await world.click(APPROVE_EXPLANATION, approve, AGENT_USER, hook="agent2")
    await fake_slack.wait_for("webhook", 2)
    await world.click(APPROVE_EXPLANATION, approve, STRANGER_ID, hook="x2")
    refusals = await fake_slack.wait_for("webhook", 3)
    assert "cannot approve your own explanation" in refusals[1]["text"]
    assert refusals[2]["text"].startswith("🚫 Only the agent's supervisors")
    assert (await world.incident()).status is IncidentStatus.OPEN

    body = world.click_body(APPROVE_EXPLANATION, approve, SUPERVISOR_ID, hook="sup")
    stamp = int(time.time())
    await world.send(body, stamp)
    approved_at = world.clock.now()
    await fake_slack.wait_for("webhook", 4)
    await world.send(body, stamp)  # replayed: nothing more
    replies = await fake_slack.wait_for("webhook", 5)
    assert replies[3]["text"].startswith("☑️ Explanation approved")
    assert replies[4]["text"].startswith("ℹ️ Already excused by Sam Supervisor")
    await world.run_until(8)
    await _assert_excused(world, fake_slack, genesys, inbox, start, approved_at)


async def _assert_excused(world: World, fake_slack: FakeSlack, genesys: FakeGenesys, inbox: Inbox, start: datetime,
                          approved_at: datetime) -> None:
    """The approval closed the incident, was written back to WFM for the incident's window, and shows."""
    track = await world.store.load_track(MU, "a0")
    assert track is not None and track.incident is None
    (written,) = genesys.explanations.values()
    assert written["agent"]["id"] == "a0" and written["status"] == "Approved"
    assert written["startDate"].startswith(start.strftime("%Y-%m-%dT%H:%M"))  # the incident's own start
    assert written["lengthMinutes"] == round((approved_at - start).total_seconds() / 60)
    assert "system_issue: VPN dropped" in written["notes"] and "Sam Supervisor" in written["notes"]
    card = supervisor_cards(world)[0]
    assert "Exception approved by Sam Supervisor" in card_text(card)
    assert not any(b["type"] == "actions" for b in card.blocks)
    assert "Excused by Sam Supervisor" in card_text(dm(fake_slack))
    await world.run_until(20)  # nothing escalates for the excused incident
    assert inbox.messages == [] and len(genesys.explanations) == 1
    assert approved_at - start > timedelta(minutes=5) - TICK  # a real window, not a fixed length


async def test_agents_in_a_storm_are_not_nudged_and_the_grouped_card_waits_for_its_tier(
        redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack, smtp: tuple[Inbox, int]) -> None:
    _, port = smtp
    world = World(redis_client, redis_prefix, fake_slack, port, agents=4, config=NUDGE_FIRST)
    await world.run_until(1)
    for agent in ("a0", "a1", "a2"):
        world.source.set_state(agent, Presence.AWAY, RoutingStatus.OFF_QUEUE)
    await world.run_until(4)  # the nudge tier fired for all three: an outage, so no DM and no card yet
    assert [len((await world.incident(a)).fired) for a in ("a0", "a1", "a2")] == [1, 1, 1]
    assert world.cards() == [] and fake_slack.calls_to("conversations.open") == []
    await world.run_until(7)
    assert "3 agents out at once" in world.only_card().text
