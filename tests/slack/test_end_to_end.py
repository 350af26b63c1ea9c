"""End to end with an injected clock: a scripted WFM source, the real monitor, Redis, outbox and use
cases, the Slack app driven by signed payloads, the fake Slack Web API and a real SMTP server.

violation -> card at 5 min -> Acknowledge -> card updated -> escalation resumes after ack_timeout ->
email -> coaching at 30 -> back in adherence -> card resolved; the approve-exception path; a storm
marked as outage; and a restart between "tier fired" and "card posted".
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP
from redis.asyncio import Redis

from presentation.blocks.renderer import BlockKitRenderer
from presentation.payloads import ACKNOWLEDGE, APPROVE_EXCEPTION, ESCALATE, EXCEPTION_MODAL, MARK_OUTAGE
from services.adapters.email.mailer import SmtpMailer, SmtpSettings
from services.adapters.redis.store import RedisStore
from services.adapters.simulated.qm import SimulatedQM
from services.adapters.slack.chat import SlackChat
from services.adapters.slack.client import make_web_client
from services.adapters.slack.directory import SlackDirectory
from services.config import parse_org_config
from services.dispatch import OutboxDispatcher
from services.domain.escalation import IncidentStatus, TierAction
from services.domain.states import Presence, RoutingStatus
from services.monitor import Monitor
from services.ports import ExceptionWriter
from testing.fake_slack import BOT_TOKEN, FakeSlack, Message
from tests.email.smtp_server import Inbox, serve
from tests.slack.blockkit import assert_valid_blocks, assert_valid_view
from tests.slack.rig import MU, OPS_ID, SUPERVISOR_ID, TICK, SlackRig, at
from tests.slack.test_handlers import exception_values

pytestmark = pytest.mark.redis


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Inbox, int]]:
    inbox = Inbox()
    server, port = await serve(lambda: SMTP(inbox, hostname="mail.test"))
    yield inbox, port
    server.close()
    await server.wait_closed()


class World(SlackRig):
    """SlackRig plus the delivery side: outbox dispatcher, SlackChat, SMTP mailer, simulated QM."""

    def __init__(self, redis: Redis, prefix: str, fake: FakeSlack, smtp_port: int, *, agents: int = 2,
                 config: dict[str, Any] | None = None, exception_writer: ExceptionWriter | None = None) -> None:
        super().__init__(redis, prefix, fake, agents=agents,
                         config=parse_org_config({"monitor": {"ack_timeout": "10m"}, **(config or {})}))
        self.smtp_port, self.exception_writer = smtp_port, exception_writer
        self.qm = SimulatedQM(self.clock)
        self.dispatcher = self.new_dispatcher()

    def new_dispatcher(self) -> OutboxDispatcher:
        """A fresh delivery side, as after a process restart (nothing shared in memory)."""
        client = make_web_client(BOT_TOKEN, base_url=self.fake.api_url, sleep=self.sleeps)
        chat = SlackChat(client, SlackDirectory(client), BlockKitRenderer())
        mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=self.smtp_port, starttls=False,
                                         sender="adherence@example.com", timeout=5))
        return OutboxDispatcher(store=RedisStore(self.redis, self.prefix), chat=chat, email=mailer,
                                coaching=self.qm, rosters=self.monitor.roster, clock=self.clock,
                                config=self.config, exception_writer=self.exception_writer)

    async def run_until(self, minutes: float) -> None:
        while self.clock.now() <= at(minutes):
            await self.monitor.tick()
            await self.dispatcher.drain([MU])
            self.clock.advance(TICK)

    def cards(self) -> list[Message]:
        return [m for channel in self.fake.messages.values() for m in channel if m.thread_ts is None]

    def only_card(self) -> Message:
        cards = self.cards()
        assert len(cards) == 1, [c.text for c in cards]
        return cards[0]

    def thread_texts(self) -> list[str]:
        card = self.only_card()
        return [m.text for m in self.fake.thread(card.channel, card.ts)]

    def button_value(self, action_id: str) -> str:
        return self.button(action_id)[0]

    def button(self, action_id: str) -> tuple[str, str]:
        """(value, block_id) of a button on the card as Slack holds it: what a click sends back."""
        for block in self.only_card().blocks:
            for element in block.get("elements", []):
                if element.get("action_id") == action_id:
                    return str(element["value"]), str(block["block_id"])
        raise AssertionError(f"no {action_id} button on the card")


def card_text(card: Message) -> str:
    return json.dumps(card.blocks, ensure_ascii=False)


def has_buttons(card: Message) -> bool:
    return any(b["type"] == "actions" for b in card.blocks)


async def test_the_whole_ladder(redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack,
                                smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    world = World(redis_client, redis_prefix, fake_slack, port)
    await world.run_until(1)
    world.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE)  # out from 01:15
    start = world.clock.now()

    await world.run_until(6.3)
    card = world.only_card()  # posted once, when the 5-minute tier fired
    assert card.channel == "DU0SUP0001" and card.edits == 0
    assert_valid_blocks(card.blocks)
    assert "Out of adherence: Agent a0" in card.text and has_buttons(card)
    posted = [c for c in fake_slack.calls_to("chat.postMessage") if "thread_ts" not in c.body]
    assert len(posted) == 1

    # Acknowledge (the supervisor), then a second press (the ops manager) is told who was first.
    await world.click(ACKNOWLEDGE, world.button_value(ACKNOWLEDGE), SUPERVISOR_ID, hook="sup")
    await world.click(ACKNOWLEDGE, world.button_value(ACKNOWLEDGE), OPS_ID, hook="ops")
    replies = await fake_slack.wait_for("webhook", 2)
    assert "You acknowledged" in replies[0]["text"]
    assert replies[1]["text"].startswith("ℹ️ Already acknowledged by Sam Supervisor at <!date^")
    acked_at = world.clock.now()
    await world.run_until(7)
    card = world.only_card()
    assert "Acknowledged by Sam Supervisor" in card_text(card)
    assert "Acknowledge" not in [e["text"]["text"] for b in card.blocks if b["type"] == "actions"
                                 for e in b["elements"] if e["type"] == "button"]

    # The email tier is due at 15 min but held until the acknowledgement times out (10 min here).
    await world.run_until(16)
    assert inbox.messages == []
    await world.run_until(18)
    assert len(inbox.messages) == 1
    _, recipients, email = inbox.messages[0]
    assert recipients == ["olga@example.com"]
    incident = await world.incident()
    email_tier = incident.fired[1]
    assert email_tier.action is TierAction.EMAIL
    assert acked_at + timedelta(minutes=10) <= email_tier.at <= acked_at + timedelta(minutes=10) + TICK
    body = email.get_body(("plain",))
    assert body is not None and f"https://test.slack.com/archives/{card.channel}/p{card.ts}" in body.get_content()
    assert "email sent to the ops manager" in card_text(world.only_card())

    # Coaching at 30 minutes after the start, once.
    await world.run_until(32)
    assert len(world.qm.appointments) == 1
    coaching_at = (await world.incident()).fired[2].at
    assert start + timedelta(minutes=30) <= coaching_at <= start + timedelta(minutes=30) + TICK
    assert "coaching session booked" in card_text(world.only_card())

    await _back_in_adherence(world, inbox)


async def _back_in_adherence(world: World, inbox: Inbox) -> None:
    """After clear_after the card is resolved, buttons gone, nobody mentioned; nothing sent twice."""
    world.source.set_state("a0", Presence.ON_QUEUE, RoutingStatus.IDLE)
    await world.run_until(35)
    card = world.only_card()
    assert_valid_blocks(card.blocks)
    assert not has_buttons(card) and "Back in adherence" in card.text
    thread = world.thread_texts()
    words = [re.sub(r"^<!date\^[^>]*> ", "", t).split(" ")[0] for t in thread]
    assert words == ["Acknowledged", "Email", "Coaching", "Resolved:"]
    assert all("<@" not in t and "<!" not in t.replace("<!date", "") for t in thread)
    assert "back in adherence after" in thread[-1]
    assert len(inbox.messages) == 1 and len(world.qm.appointments) == 1 and len(world.cards()) == 1


async def test_a_replayed_escalate_does_not_book_the_coaching_early(
        redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack, smtp: tuple[Inbox, int]) -> None:
    """The reproduced defect: the same signed Escalate sent again 2 s later booked the coaching."""
    inbox, port = smtp
    world = World(redis_client, redis_prefix, fake_slack, port)
    await world.run_until(1)
    world.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE)  # out from 01:15
    start = world.clock.now()
    await world.run_until(6.3)
    value, block_id = world.button(ESCALATE)  # exactly what the posted card carries
    body = world.click_body(ESCALATE, value, OPS_ID, block_id=block_id)
    stamp = int(time.time())
    await world.send(body, stamp)
    await world.dispatcher.drain([MU])
    world.clock.advance(timedelta(seconds=2))
    await world.send(body, stamp)
    await world.dispatcher.drain([MU])
    replies = await fake_slack.wait_for("webhook", 2)
    assert replies[0]["text"] == "⏫ Escalated now: email to the ops manager."
    assert replies[1]["text"].startswith("ℹ️ Already escalated to email by Olga Ops at <!date^")
    assert len(inbox.messages) == 1 and world.qm.appointments == ()

    await world.run_until(30)  # the coaching tier is due at 31:15, and not a second earlier
    assert len(inbox.messages) == 1 and world.qm.appointments == ()
    await world.run_until(32)
    assert len(world.qm.appointments) == 1
    coaching = (await world.incident()).fired[2]
    assert coaching.by is None and start + timedelta(minutes=30) <= coaching.at <= start + timedelta(minutes=30) + TICK
    assert len(inbox.messages) == 1 and len(world.cards()) == 1


async def test_approve_exception_path(redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack,
                                      smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    world = World(redis_client, redis_prefix, fake_slack, port)
    await world.run_until(1)
    world.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE)
    await world.run_until(7)
    await world.click(APPROVE_EXCEPTION, world.button_value(APPROVE_EXCEPTION), SUPERVISOR_ID)
    modal = (await fake_slack.wait_for("views.open"))[0].body["view"]
    assert_valid_view(modal)
    values: dict[str, Any] = exception_values(window="60", reason="coaching", note="1:1 ran over")
    response = await world.submit(EXCEPTION_MODAL, modal["private_metadata"], values, SUPERVISOR_ID)
    assert response.status == 200 and response.body == ""
    await world.run_until(40)  # still away: the exception covers an hour, nothing escalates

    card = world.only_card()
    assert not has_buttons(card)
    assert "Exception approved by Sam Supervisor" in card_text(card)
    assert "Coaching or 1:1 (1:1 ran over)" in card_text(card)
    assert inbox.messages == [] and world.qm.appointments == ()
    assert any("Exception approved by Sam Supervisor" in t for t in world.thread_texts())
    track = await world.store.load_track(MU, "a0")
    assert track is not None and track.incident is None and track.exception is not None


async def test_a_restart_between_tier_and_post_still_posts_exactly_one_card(
        redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack, smtp: tuple[Inbox, int]) -> None:
    _, port = smtp
    world = World(redis_client, redis_prefix, fake_slack, port)
    await world.run_until(1)
    world.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE)
    fake_slack.fail("chat.postMessage", status=500, times=1000)  # Slack down when the tier fires
    await world.run_until(6.5)
    assert world.cards() == [] and len(fake_slack.calls_to("chat.postMessage")) >= 4
    assert (await world.incident()).fired  # the tier fired and is waiting in the outbox

    fake_slack.faults.clear()  # Slack is back; the process restarts with nothing in memory
    world.monitor = Monitor(source=world.source, store=RedisStore(redis_client, redis_prefix), config=world.config,
                            clock=world.clock)
    world.dispatcher = world.new_dispatcher()
    fake_slack.fail("chat.postMessage", status=429, retry_after=2)  # and one rate limit on the way
    await world.run_until(8)
    card = world.only_card()
    assert "Out of adherence: Agent a0" in card.text
    assert 2.0 in world.sleeps.waits  # Retry-After honoured
    await world.run_until(9)
    assert len(world.cards()) == 1


async def test_a_storm_gets_one_card_and_mark_as_outage_closes_it(
        redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    world = World(redis_client, redis_prefix, fake_slack, port, agents=4)
    await world.run_until(1)
    for agent in ("a0", "a1", "a2"):
        world.source.set_state(agent, Presence.AWAY, RoutingStatus.OFF_QUEUE)
    await world.run_until(7)
    card = world.only_card()  # one grouped card, not three
    assert_valid_blocks(card.blocks)
    assert "3 agents out at once: Team t1" in card.text
    await world.click(MARK_OUTAGE, world.button_value(MARK_OUTAGE), OPS_ID)
    assert "Marked as outage: 3 alerts closed" in (await fake_slack.wait_for("webhook"))[0]["text"]
    await world.run_until(20)
    card = world.only_card()
    assert not has_buttons(card) and "Marked as outage by Olga Ops" in card_text(card)
    assert inbox.messages == []
    for agent in ("a0", "a1", "a2"):
        track = await world.store.load_track(MU, agent)
        assert track is not None and track.incident is None
    closed = await world.store.closed_incident(MU, f"{MU}.a0.{int(at(1.25).timestamp())}")
    assert closed is not None and closed.status is IncidentStatus.EXCUSED and closed.close_reason == "outage"
