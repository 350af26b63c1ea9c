"""Schedulers in control, tentative holds, cancel and reschedule: signed Slack payloads through the real
app (fake Slack Web API), the booking use cases on the real Redis, invites to a real SMTP server (aiosmtpd)
parsed with icalendar, time on a ManualClock. Every message the bot answers with passes Block Kit validation."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.smtp import SMTP
from icalendar import Calendar
from redis.asyncio import Redis
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from handlers.app import register_booking
from handlers.booking import BookingHandlerDeps, SlackProgressNotifier
from handlers.booking.notifier import SlackAttendancePrompt
from presentation.blocks.booking import (
    ACTION_ATTENDED,
    ACTION_CANCEL,
    ACTION_CHANGE_CANCEL,
    ACTION_CHANGE_RESCHEDULE,
    ACTION_HOLD_ANOTHER,
    ACTION_HOLD_BOOK,
    ACTION_NO_SHOW,
    ACTION_RETRY,
    ACTION_RETRY_RELAXED,
)
from services.adapters.booking.invites import SmtpInviteSender
from services.adapters.booking.redis_changes import RedisAttendance, RedisChanges, RedisHolds
from services.adapters.slack.directory import SlackDirectory
from services.booking.attendance import AttendanceDesk, register_csv
from services.booking.changes import BookingChanges
from services.booking.config import BookingConfig, MeetingType
from services.booking.holds import HeldActivities, HeldRooms, HoldDesk
from services.booking.model import HoldAction, Status
from services.booking.ports import Invite
from services.domain.model import ManagementUnit
from testing.fake_slack import BOT_TOKEN, FakeSlack
from tests.booking.test_booking_service import Rig, request
from tests.booking.workforce_fixture import MONDAY, booking_config
from tests.email.smtp_server import Inbox, serve
from tests.slack import signed
from tests.slack.blockkit import assert_valid_blocks

pytestmark = pytest.mark.redis
SCHEDULER, REQUESTER, OTHER, FACILITATOR = "U0SCHED01", "U0REQ0001", "U0OTHER01", "U0SUP0001"
WEEK = (MONDAY, MONDAY + timedelta(days=7))


def config() -> BookingConfig:
    base = booking_config()
    confirm = MeetingType(name="Confirmed meeting", room=True, min_attendees=2, earliest="09:00", latest="16:00",
                          search="team", auto_schedule=False)
    return base.model_copy(update={"types": {**base.types, "confirm": confirm},
                                   "hold_timeout": timedelta(minutes=30)})


class Desk:
    """The booking use cases with holds and changes, and the Slack app, on one Redis prefix."""

    def __init__(self, redis: Redis, prefix: str, fake: FakeSlack, *, schedulers: frozenset[str],
                 port: int | None = None) -> None:
        self.fake = fake
        self.rig = rig = Rig(redis, prefix, config=config())
        self.hold_store, self.change_store = RedisHolds(redis, rig.keys), RedisChanges(redis, rig.keys)
        rig.service.holds, rig.service.changes = self.hold_store, self.change_store
        rig.data.activities = HeldActivities(rig.activities, self.hold_store, rig.clock)
        rig.data.rooms = HeldRooms(rig.rooms, self.hold_store, rig.clock)
        invites: Any = rig.invites
        if port is not None:  # invites by email to the test's SMTP server
            invites = SmtpInviteSender(host="127.0.0.1", port=port, start_tls=False, now=rig.clock.now)
            rig.service.writeback.invites = invites
        self.holds = HoldDesk(rig.service, self.hold_store, schedulers=schedulers)
        self.changes = BookingChanges(rig.service, self.change_store, activities=rig.activities, rooms=rig.rooms,
                                      invites=invites, registers=rig.registers, schedulers=schedulers)
        self.client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
        rig.service.notifier = SlackProgressNotifier(self.client)
        fake.users_by_email["sup1@example.com"] = FACILITATOR
        rig.service.attendance = marks = RedisAttendance(redis, rig.keys)
        self.attendance = AttendanceDesk(rig.registers, marks, rig.ledger, rig.data, SlackDirectory(self.client),
                                         rig.clock, schedulers=schedulers)
        self.app = AsyncApp(client=self.client, signing_secret=signed.SIGNING_SECRET, process_before_response=True)

        async def units() -> list[Any]:
            return [rig.source.mu]

        register_booking(self.app, BookingHandlerDeps(
            service=rig.service, rosters=rig.data, units=units, config=rig.config, clock=rig.clock,
            registers=rig.registers, schedulers=schedulers, holds=self.holds, changes=self.changes,
            attendance=self.attendance))

    async def command(self, text: str, user: str = REQUESTER) -> dict[str, Any]:
        before = len(self.fake.webhook_posts)
        body = signed.command_body(signed.slash_command(command="/book-meeting", text=text, user_id=user,
                                                        response_url=self.fake.response_url()))
        await self.app.async_dispatch(signed.bolt_request(body))
        return dict((await self.fake.wait_for("webhook", before + 1))[-1])

    def click_body(self, action_id: str, value: str, user: str) -> str:
        return signed.interactive_body(signed.block_action(action_id=action_id, value=value, user_id=user,
                                                           response_url=self.fake.response_url()))

    async def send(self, body: str, stamp: int | None = None) -> dict[str, Any]:
        before = len(self.fake.webhook_posts)
        await self.app.async_dispatch(signed.bolt_request(body, timestamp=stamp))
        answer = (await self.fake.wait_for("webhook", before + 1))[-1]
        if "blocks" in answer:
            assert_valid_blocks(answer["blocks"])
        return dict(answer)

    async def click(self, action_id: str, value: str, user: str = REQUESTER) -> dict[str, Any]:
        return await self.send(self.click_body(action_id, value, user))

    async def run_queue(self) -> None:
        while await self.rig.service.process_next("w1"):
            pass

    def posts(self) -> list[dict[str, Any]]:
        return [c.body for c in self.fake.calls_to("chat.postMessage")]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack().start()
    yield server
    await server.stop()


@pytest.fixture
def desk(redis_client: Redis, redis_prefix: str, fake: FakeSlack) -> Desk:
    return Desk(redis_client, redis_prefix, fake, schedulers=frozenset({SCHEDULER}))


@pytest.fixture
def closed_desk(redis_client: Redis, redis_prefix: str, fake: FakeSlack) -> Desk:
    return Desk(redis_client, redis_prefix, fake, schedulers=frozenset())


@pytest.fixture
async def mail(redis_client: Redis, redis_prefix: str, fake: FakeSlack) -> AsyncIterator[tuple[Desk, Inbox]]:
    inbox = Inbox()
    server, port = await serve(lambda: SMTP(inbox, hostname="mail.test"))
    yield Desk(redis_client, redis_prefix, fake, schedulers=frozenset({SCHEDULER}), port=port), inbox
    server.close()
    await server.wait_closed()


def text_of(answer: dict[str, Any]) -> str:
    return json.dumps(answer.get("blocks", [])) + str(answer.get("text", ""))


# ---------------------------------------------------------------------------- schedulers


async def _in_review(desk: Desk, *ids_and_requesters: tuple[str, str]) -> None:
    for rid, requester in ids_and_requesters:
        await desk.rig.service.submit(request(rid, requester=requester, earliest_minute=5 * 60,
                                              latest_minute=6 * 60))
    await desk.run_queue()
    assert [i.request.id for i in await desk.rig.service.work_items()] == [r for r, _ in ids_and_requesters]


async def test_a_non_schedulers_queue_click_is_refused(desk: Desk):
    await _in_review(desk, ("early1", REQUESTER))
    for action in (ACTION_RETRY, ACTION_RETRY_RELAXED):
        refused = await desk.click(action, "early1", user=OTHER)
        assert "Only schedulers can work the booking queue" in refused["text"]
        assert refused["response_type"] == "ephemeral" and refused["replace_original"] is False
    refused = await desk.click(ACTION_CANCEL, "early1", user=OTHER)  # not theirs either
    assert "Only schedulers" in refused["text"]
    assert [i.request.id for i in await desk.rig.service.work_items()] == ["early1"]
    assert await desk.rig.ledger.request("early1~2") is None
    done = await desk.click(ACTION_RETRY, "early1", user=SCHEDULER)
    assert f"<@{SCHEDULER}> queued early1 again as early1~2." in text_of(done)


async def test_with_no_schedulers_only_the_requester_may_cancel_their_own_request(closed_desk: Desk):
    desk = closed_desk
    await _in_review(desk, ("mine", REQUESTER), ("theirs", OTHER))
    refused = await desk.click(ACTION_RETRY, "mine", user=REQUESTER)  # nobody may retry: fails closed
    assert "none are configured" in refused["text"] and "`[booking] schedulers`" in refused["text"]
    refused = await desk.click(ACTION_RETRY_RELAXED, "mine", user=SCHEDULER)
    assert "Only schedulers" in refused["text"]
    refused = await desk.click(ACTION_CANCEL, "theirs", user=REQUESTER)
    assert "Only schedulers" in refused["text"]
    assert len(await desk.rig.service.work_items()) == 2
    done = await desk.click(ACTION_CANCEL, "mine", user=REQUESTER)
    assert f"<@{REQUESTER}> cancelled mine." in text_of(done)
    assert await desk.rig.ledger.status("mine") == Status.CANCELLED
    assert await desk.rig.ledger.status("theirs") == Status.NEEDS_REVIEW
    # The queue a non-scheduler sees: their own requests, Cancel only.
    shown = await desk.command("queue", user=OTHER)
    assert_valid_blocks(shown["blocks"])
    dumped = json.dumps(shown["blocks"])
    assert "theirs" in dumped and ACTION_CANCEL in dumped and ACTION_RETRY not in dumped


# ---------------------------------------------------------------------------- holds


def _held_dm(desk: Desk) -> dict[str, Any]:
    held = [p for p in desk.posts() if ACTION_HOLD_BOOK in json.dumps(p.get("blocks", []))]
    assert held, "the requester got no Book / Another time / Cancel message"
    assert_valid_blocks(held[-1]["blocks"])
    return held[-1]


async def test_a_tentative_hold_books_once_on_book_and_a_replayed_book_changes_nothing(desk: Desk):
    rig = desk.rig
    await rig.service.submit(request("h1", type_id="confirm", requester=REQUESTER, title="Held sync"))
    await desk.run_queue()
    assert await rig.ledger.status("h1") == Status.HELD
    hold = await desk.hold_store.get("h1")
    assert hold is not None and hold.expires_at == rig.clock.now() + timedelta(minutes=30)
    assert "Press Book" in _held_dm(desk)["text"] or "press Book" in _held_dm(desk)["text"]
    # Nothing is written back yet: no WFM activity, no room, no invite, no register.
    assert await rig.activities.activities("mu1", *WEEK) == []
    assert (await rig.rooms.busy(["big", "small"], *WEEK)) == {"big": [], "small": []}
    assert rig.invites.sent == [] and await rig.registers.get("h1") is None
    # A concurrent request for the same team does not take the held time.
    await rig.service.submit(request("other", title="Other sync"))
    await desk.run_queue()
    (other,) = await rig.activities.activities("mu1", *WEEK)
    (slot,) = hold.slots
    assert other.end <= slot.start or other.start >= slot.end

    body, stamp = desk.click_body(ACTION_HOLD_BOOK, "h1", REQUESTER), int(time.time())
    booked = await desk.send(body, stamp)
    assert f"<@{REQUESTER}> booked Held sync." in text_of(booked)
    assert booked["replace_original"] is True
    assert await rig.ledger.status("h1") == Status.BOOKED
    written = [a for a in await rig.activities.activities("mu1", *WEEK) if a.key.startswith("h1:")]
    assert [(a.start, a.end) for a in written] == [(slot.start, slot.end)]
    assert [i.uid for i in rig.invites.sent].count("h1:0:0@booking") == 1
    assert await desk.hold_store.get("h1") is None  # the written activity keeps the time now

    rig.clock.advance(timedelta(seconds=5))
    replay = await desk.send(body, stamp)  # the same signed request again
    assert f"Held sync was already booked by <@{REQUESTER}> at <!date^" in text_of(replay)
    assert "Nothing changed." in text_of(replay)
    assert len([a for a in await rig.activities.activities("mu1", *WEEK) if a.key.startswith("h1:")]) == 1
    assert [i.uid for i in rig.invites.sent].count("h1:0:0@booking") == 1
    assert len([p for p in desk.posts() if p["text"].startswith("Booked Held sync")]) == 1


async def test_only_the_requester_or_a_scheduler_decides_about_a_hold(desk: Desk):
    await desk.rig.service.submit(request("h2", type_id="confirm", requester=REQUESTER))
    await desk.run_queue()
    refused = await desk.click(ACTION_HOLD_BOOK, "h2", user=OTHER)
    assert "Only the requester" in refused["text"] and refused["replace_original"] is False
    assert await desk.rig.ledger.status("h2") == Status.HELD


async def test_the_hold_timeout_releases_the_time(desk: Desk):
    rig = desk.rig
    await rig.service.submit(request("h3", type_id="confirm", requester=REQUESTER, title="Slow sync"))
    await desk.run_queue()
    (slot,) = (await desk.hold_store.get("h3") or pytest.fail("not held")).slots
    assert await desk.holds.expire_due() == []  # not due yet
    seen = rig.data.activities
    assert seen is not None
    held_view = await seen.activities("mu1", *WEEK)
    assert [a.start for a in held_view] == [slot.start]  # the search sees the held time as taken
    rig.clock.advance(timedelta(minutes=30, seconds=1))
    # Past the timeout the search no longer counts it, even before the job has run (the clock decides).
    assert await seen.activities("mu1", *WEEK) == []
    assert await desk.holds.expire_due() == ["h3"]
    assert await desk.holds.expire_due() == []
    assert await rig.ledger.status("h3") == Status.RELEASED
    assert await desk.hold_store.get("h3") is None
    assert any(p["text"].startswith("The time held for Slow sync was not booked in time") for p in desk.posts())
    late = await desk.click(ACTION_HOLD_BOOK, "h3")
    assert "Slow sync was not booked in time: the hold expired" in text_of(late)
    assert await rig.activities.activities("mu1", *WEEK) == [] and rig.invites.sent == []


async def test_book_after_the_timeout_but_before_the_job_releases_instead_of_booking(desk: Desk):
    rig = desk.rig
    await rig.service.submit(request("h4", type_id="confirm", requester=REQUESTER))
    await desk.run_queue()
    rig.clock.advance(timedelta(minutes=31))
    done = await desk.holds.book("h4", by=REQUESTER)
    assert done is not None and not done.now and done.outcome.action is HoldAction.EXPIRED
    assert await rig.ledger.status("h4") == Status.RELEASED
    assert await rig.activities.activities("mu1", *WEEK) == []


async def test_another_time_searches_again_without_the_held_time(desk: Desk):
    rig = desk.rig
    await rig.service.submit(request("h5", type_id="confirm", requester=REQUESTER))
    await desk.run_queue()
    (first,) = (await desk.hold_store.get("h5") or pytest.fail("not held")).slots
    answer = await desk.click(ACTION_HOLD_ANOTHER, "h5")
    assert "Looking again (as h5~2), without that time." in text_of(answer)
    again = await desk.click(ACTION_HOLD_ANOTHER, "h5")  # a double click
    assert "was already let go for another time" in text_of(again)
    await desk.run_queue()
    assert await rig.ledger.status("h5") == Status.RELEASED
    assert await rig.ledger.status("h5~2") == Status.HELD
    assert await rig.ledger.request("h5~3") is None
    (second,) = (await desk.hold_store.get("h5~2") or pytest.fail("not held again")).slots
    assert second.end <= first.start or second.start >= first.end


# ---------------------------------------------------------------------------- cancel and reschedule


def calendar_of(message: EmailMessage) -> Any:
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    body = part.get_payload(decode=True)
    assert isinstance(body, bytes)
    (event,) = Calendar.from_ical(body).walk("VEVENT")
    return Calendar.from_ical(body), event


async def _booked_and_listed(desk: Desk, rid: str) -> tuple[str, dict[str, Any]]:
    await desk.rig.service.submit(request(rid, requester=REQUESTER, title="Blue sync"))
    await desk.run_queue()
    assert await desk.rig.ledger.status(rid) == Status.BOOKED
    listed = await desk.command("list")
    assert_valid_blocks(listed["blocks"])
    buttons = [e for b in listed["blocks"] if b["type"] == "actions" for e in b["elements"]]
    (cancel,) = [b for b in buttons if b["action_id"] == ACTION_CHANGE_CANCEL]
    return cancel["value"], listed


async def test_cancel_sends_an_ics_cancellation_and_removes_room_activity_and_register(
        mail: tuple[Desk, Inbox]):
    desk, inbox = mail
    rig = desk.rig
    value, listed = await _booked_and_listed(desk, "c1")
    assert "Blue sync" in json.dumps(listed["blocks"])
    ((_, invited, request_mail),) = inbox.messages
    calendar, event = calendar_of(request_mail)
    assert str(calendar["method"]) == "REQUEST"
    uid, sequence = str(event["uid"]), int(event["sequence"])
    assert await rig.activities.activities("mu1", *WEEK) != []
    assert any((await rig.rooms.busy(["big", "small"], *WEEK)).values())

    body, stamp = desk.click_body(ACTION_CHANGE_CANCEL, value, REQUESTER), int(time.time())
    answer = await desk.send(body, stamp)
    assert f"<@{REQUESTER}> cancelled c1" in text_of(answer)
    assert len(inbox.messages) == 2
    _, cancelled_to, cancel_mail = inbox.messages[1]
    assert sorted(cancelled_to) == sorted(invited)
    assert cancel_mail["Subject"].startswith("Cancelled: Blue sync")
    calendar, event = calendar_of(cancel_mail)
    assert str(calendar["method"]) == "CANCEL"
    assert str(event["uid"]) == uid and int(event["sequence"]) > sequence
    assert str(event["status"]) == "CANCELLED"
    assert await rig.activities.activities("mu1", *WEEK) == []
    assert (await rig.rooms.busy(["big", "small"], *WEEK)) == {"big": [], "small": []}
    register = await rig.registers.get("c1")
    assert register is not None and register.cancelled_by == REQUESTER and register.cancelled_at == rig.clock.now()
    assert await rig.ledger.status("c1") == Status.CANCELLED
    assert "no upcoming bookings" in text_of(await desk.command("list"))

    replay = await desk.send(body, stamp)
    assert f"c1 was already cancelled by <@{REQUESTER}> at <!date^" in text_of(replay)
    assert len(inbox.messages) == 2  # no second cancellation


async def test_reschedule_moves_the_activity_and_sends_an_updated_invite(mail: tuple[Desk, Inbox]):
    desk, inbox = mail
    rig = desk.rig
    value, _ = await _booked_and_listed(desk, "m1")
    (before,) = await rig.activities.activities("mu1", *WEEK)
    _, event = calendar_of(inbox.messages[0][2])
    uid = str(event["uid"])

    body = desk.click_body(ACTION_CHANGE_RESCHEDULE, value, SCHEDULER)  # a scheduler may change it too
    answer = await desk.send(body)
    assert f"<@{SCHEDULER}> moved m1" in text_of(answer)
    (after,) = await rig.activities.activities("mu1", *WEEK)
    assert after.key == "m1#r1:0:0" and before.key == "m1:0:0"
    assert after.end <= before.start or after.start >= before.end  # not the old slot
    busy = [span for spans in (await rig.rooms.busy(["big", "small"], *WEEK)).values() for span in spans]
    assert [(s.timestamp(), e.timestamp()) for s, e in busy] == [(after.start.timestamp(), after.end.timestamp())]
    assert len(inbox.messages) == 2
    calendar, event = calendar_of(inbox.messages[1][2])
    assert str(calendar["method"]) == "REQUEST"
    assert str(event["uid"]) == uid and int(event["sequence"]) == 1
    assert event.decoded("dtstart") == after.start
    assert inbox.messages[1][2]["Subject"].startswith("Updated invitation: Blue sync")
    register = await rig.registers.get("m1")
    assert register is not None and register.revision == 1 and register.sessions[0].start == after.start
    assert await desk.change_store.revision("m1") == 1

    replay = await desk.send(body)  # the old card again
    assert f"m1 was already rescheduled by <@{SCHEDULER}>" in text_of(replay)
    assert len(inbox.messages) == 2
    assert [a.key for a in await rig.activities.activities("mu1", *WEEK)] == ["m1#r1:0:0"]
    # The list now offers the new revision; cancelling it cancels the moved invite with a higher sequence.
    listed = await desk.command("list")
    (new_value,) = [e["value"] for b in listed["blocks"] if b["type"] == "actions" for e in b["elements"]
                    if e["action_id"] == ACTION_CHANGE_CANCEL]
    assert new_value == "m1|1"
    await desk.click(ACTION_CHANGE_CANCEL, new_value)
    calendar, event = calendar_of(inbox.messages[2][2])
    assert str(calendar["method"]) == "CANCEL" and str(event["uid"]) == uid and int(event["sequence"]) == 2
    assert await rig.activities.activities("mu1", *WEEK) == []


async def test_only_the_requester_or_a_scheduler_may_change_a_booking(desk: Desk):
    value, _ = await _booked_and_listed(desk, "x1")
    refused = await desk.click(ACTION_CHANGE_CANCEL, value, user=OTHER)
    assert "Only the requester or a scheduler" in refused["text"]
    assert await desk.rig.ledger.status("x1") == Status.BOOKED


# ---------------------------------------------------------------------------- restarts


class FlakyInvites:
    """Fails the first invite of one method (the mail server is down once), then passes them on."""

    def __init__(self, inner: Any, method: str) -> None:
        self.inner, self.method, self.failures = inner, method, 1

    async def send_invite(self, invite: Invite) -> None:
        if invite.method == self.method and self.failures:
            self.failures -= 1
            raise ConnectionError("mail server down")
        await self.inner.send_invite(invite)


async def test_a_cancel_cut_short_is_finished_by_the_next_click_without_repeating_steps(desk: Desk):
    rig = desk.rig
    value, _ = await _booked_and_listed(desk, "k1")
    desk.changes.invites = FlakyInvites(rig.invites, "CANCEL")
    with pytest.raises(ConnectionError):
        await desk.changes.cancel("k1", 0, by=REQUESTER)
    # The activity and the room went before the mail failed; the booking is not cancelled yet.
    assert await rig.activities.activities("mu1", *WEEK) == []
    assert await rig.ledger.status("k1") == Status.BOOKED
    await desk.click(ACTION_CHANGE_CANCEL, value)  # at once: it may still be running, so it is left alone
    assert await rig.ledger.status("k1") == Status.BOOKED
    rig.clock.advance(timedelta(minutes=2))
    answer = await desk.click(ACTION_CHANGE_CANCEL, value)  # the requester clicks again later
    assert f"k1 was already cancelled by <@{REQUESTER}>" in text_of(answer)
    assert await rig.ledger.status("k1") == Status.CANCELLED
    assert [i.method for i in rig.invites.sent if i.uid == "k1:0:0@booking"] == ["REQUEST", "CANCEL"]
    register = await rig.registers.get("k1")
    assert register is not None and register.cancelled_by == REQUESTER


async def test_a_book_cut_short_is_finished_by_the_next_click(desk: Desk):
    rig = desk.rig
    await rig.service.submit(request("b1", type_id="confirm", requester=REQUESTER, title="Crash sync"))
    await desk.run_queue()
    rig.service.writeback.invites = FlakyInvites(rig.invites, "REQUEST")
    with pytest.raises(ConnectionError):
        await desk.holds.book("b1", by=REQUESTER)
    assert await rig.ledger.status("b1") == Status.HELD
    rig.clock.advance(timedelta(minutes=2))
    answer = await desk.click(ACTION_HOLD_BOOK, "b1")
    assert f"Crash sync was already booked by <@{REQUESTER}>" in text_of(answer)
    assert await rig.ledger.status("b1") == Status.BOOKED
    assert len([a for a in await rig.activities.activities("mu1", *WEEK) if a.key.startswith("b1:")]) == 1
    assert [i.uid for i in rig.invites.sent] == ["b1:0:0@booking"]
    assert await desk.hold_store.get("b1") is None


# ---------------------------------------------------------------------------- what people read


async def test_times_read_in_the_units_zone_named_and_rooms_by_name(mail: tuple[Desk, Inbox]):
    desk, inbox = mail
    rig = desk.rig
    rig.source.mu = ManagementUnit("mu1", "Unit One", "Europe/Berlin", ("ops1",))
    await rig.service.submit(request("tz1", requester=REQUESTER, title="Zone sync"))
    await desk.run_queue()
    (activity,) = await rig.activities.activities("mu1", *WEEK)
    local = activity.start.astimezone(ZoneInfo("Europe/Berlin"))
    assert local.hour != activity.start.astimezone(UTC).hour
    span = f"{local:%a %d %b %H:%M}-{activity.end.astimezone(ZoneInfo('Europe/Berlin')):%H:%M} Europe/Berlin"
    (booked,) = [p for p in desk.posts() if p["text"].startswith("Booked Zone sync")]
    assert booked["text"] == f"Booked Zone sync: {span} in Big room"
    assert_valid_blocks(booked["blocks"])
    assert f"*{span}* in Big room" in json.dumps(booked["blocks"]) and " in big" not in json.dumps(booked["blocks"])
    ((_, _, message),) = inbox.messages
    assert message["Subject"] == f"Invitation: Zone sync ({local:%a %d %b %H:%M} Europe/Berlin)"
    body = message.get_body(("plain",))
    assert body is not None and f"{local:%A %d %B %Y %H:%M} - " in body.get_content()
    assert "(Europe/Berlin)" in body.get_content() and "Where: Big room" in body.get_content()
    listed = await desk.command("list")
    assert f"{span} in Big room" in json.dumps(listed["blocks"])


async def test_the_facilitator_marks_attendance_after_the_session_and_the_csv_says_who(desk: Desk):
    rig = desk.rig
    await rig.service.submit(request("a1", requester=REQUESTER, title="Blue sync"))
    await desk.run_queue()
    (activity,) = await rig.activities.activities("mu1", *WEEK)
    before = await desk.command("register a1", user=FACILITATOR)
    assert_valid_blocks(before["blocks"])
    assert ACTION_ATTENDED not in json.dumps(before["blocks"])  # not before the session
    early = await desk.click(ACTION_ATTENDED, "a1|t1-a0", user=FACILITATOR)
    assert early["text"] == "Attendance can be marked once the session has ended."

    rig.clock.advance(activity.end - rig.clock.now() + timedelta(minutes=5))
    shown = await desk.command("register a1", user=FACILITATOR)
    assert_valid_blocks(shown["blocks"])
    buttons = [e for b in shown["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert sorted({b["value"] for b in buttons}) == ["a1|t1-a0", "a1|t1-a1", "a1|t1-a2", "a1|t1-a3"]
    assert {b["action_id"] for b in buttons} == {ACTION_ATTENDED, ACTION_NO_SHOW}

    refused = await desk.click(ACTION_ATTENDED, "a1|t1-a0", user=OTHER)
    assert refused["text"] == "Only the facilitator (or a scheduler) marks attendance."
    marked_at = rig.clock.now()
    done = await desk.click(ACTION_ATTENDED, "a1|t1-a0", user=FACILITATOR)
    assert f"<@{FACILITATOR}> marked Agent t10 attended." in text_of(done)
    rig.clock.advance(timedelta(minutes=1))
    again = await desk.click(ACTION_ATTENDED, "a1|t1-a0", user=FACILITATOR)
    assert f"Agent t10 was already marked attended by <@{FACILITATOR}> at <!date^{int(marked_at.timestamp())}^" \
        in text_of(again)
    await desk.click(ACTION_NO_SHOW, "a1|t1-a1", user=FACILITATOR)
    fixed = await desk.click(ACTION_ATTENDED, "a1|t1-a1", user=SCHEDULER)  # a scheduler corrects it
    assert f"<@{SCHEDULER}> changed Agent t11 from a no-show to attended." in text_of(fixed)
    await desk.click(ACTION_NO_SHOW, "a1|t1-a2", user=FACILITATOR)

    view = await desk.attendance.view("a1")
    assert view is not None
    rows = {r.split(",")[8]: r.split(",") for r in register_csv(view.register, view.marks).splitlines()[1:]}
    assert rows["t1-a0"][10:] == ["yes", FACILITATOR, marked_at.isoformat()]
    assert rows["t1-a1"][10:12] == ["yes", SCHEDULER]
    assert rows["t1-a2"][10:12] == ["no-show", FACILITATOR]
    assert rows["t1-a3"][10:] == ["no", "", ""]
    assert rows["t1-a0"][6] == "Big room"


async def test_the_facilitator_is_asked_once_after_the_last_session(desk: Desk):
    rig = desk.rig
    await rig.service.submit(request("p1", requester=REQUESTER, title="Blue sync"))
    await desk.run_queue()
    (activity,) = await rig.activities.activities("mu1", *WEEK)
    prompt = SlackAttendancePrompt(desk.client)
    assert await desk.attendance.prompt_due(prompt) == []  # not over yet
    rig.clock.advance(activity.end - rig.clock.now())
    assert await desk.attendance.prompt_due(prompt) == ["p1"]
    assert await desk.attendance.prompt_due(prompt) == []  # asked once
    (opened,) = [c for c in desk.fake.calls_to("conversations.open") if c.body["users"] == FACILITATOR]
    (asked,) = [p for p in desk.posts() if p["text"] == "Attendance register of Blue sync"]
    assert_valid_blocks(asked["blocks"])
    assert "please mark who attended" in json.dumps(asked["blocks"])
    assert json.dumps(asked["blocks"]).count(ACTION_NO_SHOW) == 4
    assert opened is not None


async def test_a_cancelled_booking_asks_nobody(desk: Desk):
    value, _ = await _booked_and_listed(desk, "p2")
    (activity,) = await desk.rig.activities.activities("mu1", *WEEK)
    await desk.click(ACTION_CHANGE_CANCEL, value)
    desk.rig.clock.advance(activity.end - desk.rig.clock.now() + timedelta(hours=1))
    assert await desk.attendance.prompt_due(SlackAttendancePrompt(desk.client)) == []


async def test_a_double_clicked_book_writes_back_once(desk: Desk):
    rig = desk.rig
    await rig.service.submit(request("d1", type_id="confirm", requester=REQUESTER, title="Double sync"))
    await desk.run_queue()
    before = len(desk.fake.webhook_posts)
    await asyncio.gather(*(desk.app.async_dispatch(signed.bolt_request(desk.click_body(ACTION_HOLD_BOOK, "d1",
                                                                                     REQUESTER)))
                           for _ in range(2)))
    answers = (await desk.fake.wait_for("webhook", before + 2))[before:]
    notes = sorted(text_of(a) for a in answers)
    assert sum(f"<@{REQUESTER}> booked Double sync." in n for n in notes) == 1
    assert sum("Double sync was already booked by" in n for n in notes) == 1
    assert [i.uid for i in rig.invites.sent] == ["d1:0:0@booking"]
    assert len([a for a in await rig.activities.activities("mu1", *WEEK) if a.key.startswith("d1:")]) == 1
