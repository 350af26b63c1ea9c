"""Booking in Slack: signed requests through AsyncApp.async_dispatch, the fake Slack Web API on
127.0.0.1, the real booking use cases on Redis. Every view and message passes slack_sdk validation."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from handlers.app import register_booking
from handlers.booking import BookingHandlerDeps, SlackProgressNotifier
from presentation.blocks.booking import (
    ACTION_CANCEL,
    ACTION_RETRY,
    ACTION_RETRY_RELAXED,
    MODAL_CALLBACK,
    Choices,
    booking_modal,
    progress_message,
    queue_message,
    register_message,
)
from services.booking.attendance import register_csv
from services.booking.forms import FormValues
from services.booking.model import BookedSlot, Progress, Register, Status, WorkItem
from services.booking.ports import AdherenceHistory
from services.booking.targeting import Targeting
from services.domain.slots import Reason
from testing.fake_slack import BOT_TOKEN, FakeSlack
from tests.booking.test_booking_service import Rig, request
from tests.booking.workforce_fixture import MONDAY
from tests.slack import signed
from tests.slack.blockkit import assert_valid_blocks, assert_valid_view

pytestmark = pytest.mark.redis
SCHEDULER, REQUESTER, STRANGER = "U0SCHED01", "U0REQ0001", "U0STRANGE"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack().start()
    yield server
    await server.stop()


class SlackBooking:
    def __init__(self, redis: Redis, prefix: str, fake: FakeSlack, history: AdherenceHistory | None = None) -> None:
        self.fake = fake
        self.rig = Rig(redis, prefix)
        self.client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
        self.rig.service.notifier = SlackProgressNotifier(self.client)
        self.app = AsyncApp(client=self.client, signing_secret=signed.SIGNING_SECRET, process_before_response=True)

        async def units() -> list[Any]:
            return [self.rig.source.mu]

        register_booking(self.app, BookingHandlerDeps(
            service=self.rig.service, rosters=self.rig.data, units=units, config=self.rig.config,
            clock=self.rig.clock, registers=self.rig.registers, schedulers=frozenset({SCHEDULER}),
            trainers={"trainer1": "Tess Trainer"}, targeting=Targeting(history, self.rig.clock) if history else None))

    async def command(self, command: str, text: str, user: str = REQUESTER) -> Any:
        body = signed.command_body(signed.slash_command(command=command, text=text, user_id=user,
                                                        response_url=self.fake.response_url()))
        return await self.app.async_dispatch(signed.bolt_request(body))

    async def submit(self, values: dict[str, Any], metadata: dict[str, str]) -> Any:
        payload = signed.view_submission(callback_id=MODAL_CALLBACK, private_metadata=json.dumps(metadata),
                                         values=values, user_id=REQUESTER)
        return await self.app.async_dispatch(signed.bolt_request(signed.interactive_body(payload)))

    async def click(self, action_id: str, value: str, user: str = SCHEDULER) -> Any:
        payload = signed.block_action(action_id=action_id, value=value, user_id=user,
                                      response_url=self.fake.response_url())
        return await self.app.async_dispatch(signed.bolt_request(signed.interactive_body(payload)))


@pytest.fixture
async def slack(redis_client: Redis, redis_prefix: str, fake: FakeSlack) -> SlackBooking:
    return SlackBooking(redis_client, redis_prefix, fake)


def text_value(value: str) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": value}}


def select(value: str) -> dict[str, Any]:
    return {"value": {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": value},
                                                                    "value": value}}}


def multi(*values: str) -> dict[str, Any]:
    return {"value": {"type": "multi_static_select", "selected_options": [
        {"text": {"type": "plain_text", "text": v}, "value": v} for v in values]}}


def day(value: date) -> dict[str, Any]:
    return {"value": {"type": "datepicker", "selected_date": value.isoformat()}}


def form(**overrides: dict[str, Any]) -> dict[str, Any]:
    values = {"type": select("team_meeting"), "title": text_value("Blue sync"), "teams": multi("t1"),
              "people": {"value": {"type": "multi_static_select", "selected_options": []}},
              "date_from": day(date(2026, 6, 1)), "date_to": day(date(2026, 6, 5)),
              "earliest": {"value": {"type": "timepicker", "selected_time": None}},
              "duration": text_value("45m"), "repeat": select("none"),
              "every": {"value": {"type": "plain_text_input", "value": None}}}
    values.update(overrides)
    return values


async def test_book_meeting_opens_a_prefilled_valid_modal(slack: SlackBooking):
    response = await slack.command("/book-meeting", 'team:blue weekly 45m gap:4 "Weekly sync"')
    assert response.status == 200
    (call,) = slack.fake.calls_to("views.open")
    view = call.body["view"]
    assert_valid_view(view)
    assert view["callback_id"] == MODAL_CALLBACK
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks["teams"]["element"]["initial_options"][0]["value"] == "t1"
    assert blocks["duration"]["element"]["initial_value"] == "45m"
    assert blocks["repeat"]["element"]["initial_option"]["value"] == "weekly"
    assert blocks["min_gap"]["element"]["initial_value"] == "4"
    assert blocks["title"]["element"]["initial_value"] == "Weekly sync"
    assert json.loads(view["private_metadata"])["unit"] == "mu1"


async def test_book_training_opens_the_training_form(slack: SlackBooking):
    await slack.command("/book-training", "")
    view = slack.fake.calls_to("views.open")[0].body["view"]
    assert_valid_view(view)
    assert view["title"]["text"] == "Book training"
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks["type"]["element"]["initial_option"]["value"] == "training"
    assert blocks["facilitator"]["label"]["text"] == "Trainer"
    assert "trainer1" in [o["value"] for o in blocks["facilitator"]["element"]["options"]]


async def test_invalid_input_is_shown_inline_and_nothing_is_queued(slack: SlackBooking):
    response = await slack.submit(form(duration=text_value("7m"), teams=multi(),
                                       date_from=day(date(2026, 5, 1))),
                                  {"unit": "mu1", "rid": "slack-bad"})
    body = json.loads(response.body)
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"duration", "teams", "date_from"}
    assert "15 minutes" in body["errors"]["duration"]
    assert not await slack.rig.service.process_next("w1")
    assert await slack.rig.ledger.status("slack-bad") is None


async def test_a_valid_form_is_queued_once_booked_and_the_requester_told(slack: SlackBooking):
    response = await slack.submit(form(), {"unit": "mu1", "rid": "slack-ok"})
    assert response.status == 200 and not response.body
    again = await slack.submit(form(), {"unit": "mu1", "rid": "slack-ok"})  # Slack retried the submission
    assert again.status == 200
    assert await slack.rig.service.process_next("w1")
    assert not await slack.rig.service.process_next("w1")
    assert await slack.rig.ledger.status("slack-ok") == Status.BOOKED
    opened = slack.fake.calls_to("conversations.open")
    assert opened and opened[0].body["users"] == REQUESTER
    posts = slack.fake.calls_to("chat.postMessage")
    texts = [p.body["text"] for p in posts]
    assert texts[0].startswith("Queued: Blue sync")
    assert texts[-1].startswith("Booked Blue sync: Mon 01 Jun")
    for post in posts:
        assert_valid_blocks(post.body["blocks"])
    assert "understaffing" in json.dumps(posts[-1].body["blocks"])


async def test_queue_buttons_retry_relaxed_and_cancel(slack: SlackBooking):
    for rid in ("early1", "early2"):
        await slack.rig.service.submit(request(rid, earliest_minute=5 * 60, latest_minute=6 * 60))
    while await slack.rig.service.process_next("w1"):
        pass
    await slack.command("/book-meeting", "queue", user=SCHEDULER)
    (shown,) = await slack.fake.wait_for("webhook")
    assert_valid_blocks(shown["blocks"])
    assert json.dumps(shown["blocks"]).count(ACTION_RETRY_RELAXED) == 2
    await slack.click(ACTION_CANCEL, "early1", user=STRANGER)
    refused = (await slack.fake.wait_for("webhook", 2))[-1]
    assert "Only schedulers" in refused["text"]
    assert len(await slack.rig.service.work_items()) == 2
    await slack.click(ACTION_CANCEL, "early1")
    after_cancel = (await slack.fake.wait_for("webhook", 3))[-1]
    assert after_cancel["replace_original"] is True
    assert_valid_blocks(after_cancel["blocks"])
    assert "cancelled early1" in json.dumps(after_cancel["blocks"])
    await slack.click(ACTION_RETRY_RELAXED, "early2")
    after_retry = (await slack.fake.wait_for("webhook", 4))[-1]
    assert "queued early2 again without the service limits as early2~2" in json.dumps(after_retry["blocks"])
    assert [i.request.id for i in await slack.rig.service.work_items()] == []
    assert await slack.rig.ledger.status("early1") == Status.CANCELLED


async def test_register_command_shows_the_attendance_register(slack: SlackBooking):
    await slack.rig.service.submit(request("reg1"))
    await slack.rig.service.process_next("w1")
    await slack.command("/book-meeting", "register reg1")
    (shown,) = await slack.fake.wait_for("webhook")
    assert_valid_blocks(shown["blocks"])
    assert "Agent t10" in json.dumps(shown["blocks"])


def test_builders_stay_valid_at_their_limits():
    many = [(f"a{i:03d}", f"Agent with a rather long display name number {i:03d} " * 2) for i in range(150)]
    choices = Choices(unit=("mu1", "Unit"), types=[("t", "Type")], teams=[("t1", "Team")], people=many,
                      facilitators=[], locations=[])
    view = booking_modal(choices=choices, form=FormValues({"earliest": "bad", "date_from": "nope"}),
                         metadata={"unit": "mu1", "rid": "x"}, training=False, default_type="t",
                         first_day=date(2026, 6, 1), last_day=date(2026, 6, 14))
    assert_valid_view(view)
    assert len(next(b for b in view["blocks"] if b["block_id"] == "people")["element"]["options"]) == 100
    items = [WorkItem(request=request(f"r{i}", title="<b>&" * 37), reason=Reason.NO_ROOM_FREE, detail="x" * 3000,
                      added_at=MONDAY) for i in range(20)]
    text, blocks = queue_message(items, note="n")
    assert_valid_blocks(blocks)
    assert "<b>" not in json.dumps(blocks) and text.startswith("20 booking")
    text, blocks = queue_message([])
    assert_valid_blocks(blocks)
    assert text == "The manual work queue is empty."
    slot = BookedSlot(occurrence=0, session=0, start=MONDAY, end=MONDAY + timedelta(hours=1), attendees=("a",),
                      facilitator=None, room_id="big", impact=1.0)
    progress = Progress(request_id="r", status=Status.BOOKED, text="Booked", slots=(slot,) * 30, why=("why",) * 30)
    assert_valid_blocks(progress_message(request("r"), progress)[1])
    register = Register(request_id="r", title="T", type_name="Team", facilitator=None, sessions=(slot,),
                        attendees=(("a", "Ana"),), attended=("a",), created_at=MONDAY)
    assert_valid_blocks(register_message(register, register_csv(register))[1])


async def _two_in_review(slack: SlackBooking) -> None:
    for rid in ("early1", "early2"):
        await slack.rig.service.submit(request(rid, earliest_minute=5 * 60, latest_minute=6 * 60))
    while await slack.rig.service.process_next("w1"):
        pass
    assert [i.request.id for i in await slack.rig.service.work_items()] == ["early1", "early2"]


def _posted(slack: SlackBooking, start: str) -> list[str]:
    return [str(c.body.get("text", "")) for c in slack.fake.calls_to("chat.postMessage")
            if str(c.body.get("text", "")).startswith(start)]


async def test_a_replayed_retry_queues_one_new_attempt_and_says_so(slack: SlackBooking):
    await _two_in_review(slack)
    payload = signed.block_action(action_id=ACTION_RETRY, value="early1", user_id=SCHEDULER,
                                  response_url=slack.fake.response_url())
    body, stamp = signed.interactive_body(payload), int(time.time())
    await slack.app.async_dispatch(signed.bolt_request(body, timestamp=stamp))
    first = (await slack.fake.wait_for("webhook"))[-1]
    assert f"<@{SCHEDULER}> queued early1 again as early1~2." in json.dumps(first["blocks"])
    retried_at = slack.rig.clock.now()
    slack.rig.clock.advance(timedelta(seconds=2))
    await slack.app.async_dispatch(signed.bolt_request(body, timestamp=stamp))  # the same signed request
    second = (await slack.fake.wait_for("webhook", 2))[-1]
    assert (f"early1 was already queued again as early1~2 by <@{SCHEDULER}> at "
            f"<!date^{int(retried_at.timestamp())}^") in json.dumps(second["blocks"])
    assert "Nothing changed." in json.dumps(second["blocks"])
    assert await slack.rig.ledger.status("early1~2") is not None
    assert await slack.rig.ledger.request("early1~3") is None  # no second attempt
    assert len(_posted(slack, "Queued: ")) == 3  # early1, early2 and early1~2 once
    assert [i.request.id for i in await slack.rig.service.work_items()] == ["early2"]


async def test_a_double_clicked_cancel_cancels_once(slack: SlackBooking):
    await _two_in_review(slack)
    await asyncio.gather(slack.click(ACTION_CANCEL, "early2"), slack.click(ACTION_CANCEL, "early2"))
    posts = await slack.fake.wait_for("webhook", 2)
    notes = sorted(json.dumps(p["blocks"]) for p in posts)
    assert sum(f"<@{SCHEDULER}> cancelled early2." in n for n in notes) == 1
    assert sum(f"early2 was already cancelled by <@{SCHEDULER}> at <!date^" in n for n in notes) == 1
    assert len(_posted(slack, "Cancelled: ")) == 1  # the requester is told once
    assert await slack.rig.ledger.status("early2") == Status.CANCELLED
    assert [i.request.id for i in await slack.rig.service.work_items()] == ["early1"]
    # And a Retry of the cancelled item (a stale list) changes nothing either.
    await slack.click(ACTION_RETRY, "early2")
    stale = (await slack.fake.wait_for("webhook", 3))[-1]
    assert "early2 was already cancelled by" in json.dumps(stale["blocks"])
    assert await slack.rig.ledger.request("early2~2") is None
