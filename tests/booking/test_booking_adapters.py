"""Adapters against real local servers: Microsoft Graph (fake on 127.0.0.1), SMTP (aiosmtpd), ICS."""

from __future__ import annotations

import email
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiohttp import web
from aiosmtpd.smtp import SMTP
from icalendar import Calendar
from pydantic import SecretStr

from services.adapters.booking.graph import GraphRoomCalendar
from services.adapters.booking.invites import ConsoleInviteSender, SmtpInviteSender, build_ics
from services.booking.ports import Invite, RoomBooking, RoomTaken
from services.clock import ManualClock
from testing.fake_graph import FakeGraph
from tests.email.smtp_server import Inbox, serve

NINE = datetime(2026, 6, 1, 9, tzinfo=UTC)


@pytest.fixture
async def graph() -> AsyncIterator[tuple[FakeGraph, str]]:
    fake = FakeGraph()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield fake, f"http://127.0.0.1:{port}"
    await runner.cleanup()


def calendar(base: str, client: httpx.AsyncClient, sleeps: list[float], clock: ManualClock) -> GraphRoomCalendar:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return GraphRoomCalendar(client, tenant_id="tenant-1", client_id="app", client_secret=SecretStr("graph-secret"),
                             mailboxes={"big": "big@example.com", "small": "small@example.com"}, clock=clock,
                             graph_url=f"{base}/v1.0", login_url=base, sleep=sleep)


async def test_graph_books_a_room_once_and_reads_it_back(graph: tuple[FakeGraph, str]):
    fake, base = graph
    clock, sleeps = ManualClock(NINE), list[float]()
    async with httpx.AsyncClient() as client:
        rooms = calendar(base, client, sleeps, clock)
        booking = RoomBooking("req-1:0:0", "big", NINE, NINE + timedelta(hours=1), "Team sync", "U1")
        event_id = await rooms.book(booking)
        assert event_id == "evt1"
        assert fake.events["big@example.com"][0]["transactionId"] == "req-1:0:0"
        assert await rooms.book(booking) == "evt1"  # known key: no second event
        busy = await rooms.busy(["big", "small"], NINE - timedelta(hours=1), NINE + timedelta(hours=3))
        assert busy == {"big": [(NINE, NINE + timedelta(hours=1))], "small": []}
        with pytest.raises(RoomTaken):
            await rooms.book(RoomBooking("req-2:0:0", "big", NINE + timedelta(minutes=30), NINE + timedelta(hours=2),
                                         "Clash"))
        await rooms.cancel("req-1:0:0")
        assert fake.events["big@example.com"] == []
    assert fake.tokens_issued == 1  # the token is cached until shortly before it expires


async def test_graph_retries_throttling_and_renews_the_token(graph: tuple[FakeGraph, str]):
    fake, base = graph
    clock, sleeps = ManualClock(NINE), list[float]()
    async with httpx.AsyncClient() as client:
        rooms = calendar(base, client, sleeps, clock)
        fake.throttle_next = 2
        assert await rooms.busy(["small"], NINE, NINE + timedelta(hours=1)) == {"small": []}
        assert sleeps == [2.0, 2.0]  # Retry-After honoured
        clock.advance(timedelta(hours=2))
        await rooms.busy(["small"], NINE, NINE + timedelta(hours=1))
    assert fake.tokens_issued == 2


async def test_graph_skips_malformed_items_and_ignores_free_ones(graph: tuple[FakeGraph, str]):
    fake, base = graph
    fake.events["small@example.com"] = [
        {"id": "x", "subject": "free slot", "showAs": "free",
         "start": {"dateTime": "2026-06-01T09:00:00"}, "end": {"dateTime": "2026-06-01T10:00:00"}},
        {"id": "y", "subject": "tentative", "showAs": "Tentative",
         "start": {"dateTime": "2026-06-01T11:00:00"}, "end": {"dateTime": "2026-06-01T12:00:00"}},
    ]
    async with httpx.AsyncClient() as client:
        busy = await calendar(base, client, [], ManualClock(NINE)).busy(["small"], NINE, NINE + timedelta(hours=5))
    assert busy == {"small": [(NINE + timedelta(hours=2), NINE + timedelta(hours=3))]}


def invite() -> Invite:
    return Invite(uid="req-1:0:0@booking", subject="Team sync", description="Team meeting booked by the bot.",
                  start=NINE, end=NINE + timedelta(minutes=45), location="Big room",
                  organizer=("Booking bot", "bot@example.com"),
                  attendees=(("Ana", "ana@example.com"), ("Ben", "ben@example.com")))


def test_ics_is_a_request_with_every_attendee():
    parsed = Calendar.from_ical(build_ics(invite(), NINE - timedelta(days=1)))
    assert str(parsed["method"]) == "REQUEST"
    (event,) = parsed.walk("VEVENT")
    assert str(event["uid"]) == "req-1:0:0@booking"
    assert event.decoded("dtstart") == NINE
    assert event.decoded("dtend") == NINE + timedelta(minutes=45)
    attendees = event["attendee"]
    assert isinstance(attendees, list)
    assert sorted(str(a) for a in attendees) == ["mailto:ana@example.com", "mailto:ben@example.com"]
    assert str(event["location"]) == "Big room"


async def test_smtp_invite_reaches_a_real_server_with_the_ics_attached():
    inbox = Inbox()
    server, port = await serve(lambda: SMTP(inbox, hostname="mail.test"))
    try:
        sender = SmtpInviteSender(host="127.0.0.1", port=port, start_tls=False, now=lambda: NINE)
        await sender.send_invite(invite())
    finally:
        server.close()
        await server.wait_closed()
    ((mail_from, rcpt, message),) = inbox.messages
    assert mail_from == "bot@example.com"
    assert sorted(rcpt) == ["ana@example.com", "ben@example.com"]
    assert message["Subject"].startswith("Invitation: Team sync")
    parts = {part.get_content_type(): part for part in message.walk()}
    ics = parts["text/calendar"]
    assert ics.get_param("method") == "REQUEST"
    body = ics.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert b"UID:req-1:0:0@booking" in body
    assert email.utils.parseaddr(message["From"])[1] == "bot@example.com"


async def test_console_invite_sender_says_who_is_invited():
    import io

    out = io.StringIO()
    await ConsoleInviteSender(out).send_invite(invite())
    assert "Team sync" in out.getvalue() and "Ana, Ben" in out.getvalue()


@pytest.mark.redis
async def test_graph_cancels_a_room_booked_before_a_restart(graph: tuple[FakeGraph, str], redis_client,
                                                            redis_prefix: str):
    from services.adapters.booking.redis_changes import RedisExternalIds
    from services.adapters.redis_keys import BookingKeys

    fake, base = graph
    clock, sleeps = ManualClock(NINE), list[float]()
    ids = RedisExternalIds(redis_client, BookingKeys(redis_prefix), "graph")
    booking = RoomBooking("req-9:0:0", "big", NINE, NINE + timedelta(hours=1), "Team sync", "U1")
    async with httpx.AsyncClient() as client:
        first = calendar(base, client, sleeps, clock)
        first.ids = ids
        assert await first.book(booking) == "evt1"
        restarted = calendar(base, client, sleeps, clock)  # a new process: nothing in memory
        restarted.ids = ids
        assert await restarted.book(booking) == "evt1"  # the retried write-back creates nothing
        assert len(fake.events["big@example.com"]) == 1
        await calendar(base, client, sleeps, clock).cancel("req-9:0:0")  # without the ids: cannot know
        assert len(fake.events["big@example.com"]) == 1
        await restarted.cancel("req-9:0:0")
        assert fake.events["big@example.com"] == []
        assert ("DELETE", "/v1.0/users/big@example.com/events/evt1") in fake.calls
