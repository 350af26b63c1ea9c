"""Optimise upcoming on the real stores (Redis activity log and room calendar) with invites sent to
a real SMTP server (aiosmtpd): a booking is moved only when the gain is positive, and its people
get an updated invite for the same calendar entry (same UID, higher SEQUENCE)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import numpy as np
import pytest
from aiosmtpd.smtp import SMTP
from icalendar import Calendar
from redis.asyncio import Redis

from services.adapters.booking.invites import SmtpInviteSender
from services.adapters.booking.optimise_store import RedisOptimiseStore
from services.adapters.booking.redis_changes import RedisAttendance, RedisChanges
from services.adapters.redis_keys import BookingKeys
from services.booking.changes import BookingChanges
from services.booking.model import BookedSlot, Plan, Status
from services.booking.optimise import NotAllowed, OptimiseUpcoming
from services.booking.translate import to_slot_request
from services.domain.slots import SlotEngine
from testing.memory_optimise import MemoryOptimiseStore
from tests.booking.test_booking_service import Rig, request
from tests.email.smtp_server import Inbox, serve

pytestmark = pytest.mark.redis


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Inbox, int]]:
    inbox = Inbox()
    server, port = await serve(lambda: SMTP(inbox, hostname="mail.test"))
    yield inbox, port
    server.close()
    await server.wait_closed()


def events(inbox: Inbox) -> list[tuple[str, int, object, list[str]]]:
    """(UID, SEQUENCE, DTSTART, attendee addresses) of every invite received, in order."""
    out = []
    for _sender, _to, message in inbox.messages:
        for part in message.iter_attachments():
            for event in Calendar.from_ical(part.get_content()).walk("VEVENT"):
                attendees = event.get("attendee")
                attendees = attendees if isinstance(attendees, list) else [attendees]
                out.append((str(event["uid"]), int(event.get("sequence", 0)), event.decoded("dtstart"),
                            sorted(str(a).removeprefix("mailto:") for a in attendees)))
    return out


def setup(redis: Redis, prefix: str, port: int, *, on_redis: bool = True) -> tuple[Rig, OptimiseUpcoming]:
    rig = Rig(redis, prefix)
    sender = SmtpInviteSender(host="127.0.0.1", port=port, start_tls=False)
    rig.service.writeback.invites = sender
    store = RedisOptimiseStore(redis, BookingKeys(prefix)) if on_redis else MemoryOptimiseStore()
    optimiser = OptimiseUpcoming(data=rig.data, config=rig.config, ledger=rig.ledger, activities=rig.activities,
                                 rooms=rig.rooms, invites=sender, store=store, changes=RedisChanges(redis, rig.keys),
                                 registers=rig.registers, attendance=RedisAttendance(redis, rig.keys),
                                 schedulers={"S1"}, clock=rig.clock)
    return rig, optimiser


async def book_at_the_worst_time(rig: Rig) -> Plan:
    """Book a team meeting where it adds the most understaffing (as if the demand changed after booking)."""
    sync = request("sync", date_from=date(2026, 6, 1), date_to=date(2026, 6, 5))
    roster = await rig.data.roster("mu1")
    now = rig.clock.now()
    snapshot = await rig.data.snapshot("mu1", now, now + timedelta(days=6))
    slot_request = to_slot_request(sync, roster, rig.config)
    engine = SlotEngine(snapshot.problem)
    ((starts, keys),) = engine.options(slot_request)
    outcome = engine.book_at(slot_request, [(int(starts[np.argmax(keys)]), None)])
    plan = Plan(request_id="sync", why=("by hand",), slots=tuple(BookedSlot.of(p) for p in outcome.placements))
    await rig.ledger.save_request(sync)
    await rig.ledger.save_plan("sync", plan.model_dump_json())
    await rig.service.writeback.apply(sync, plan, roster, now)
    await rig.ledger.set_status("sync", Status.BOOKED)
    return plan


@pytest.mark.parametrize("on_redis", [True, False])
async def test_a_costly_booking_is_moved_on_apply_and_its_people_get_an_updated_invite(
        redis_client: Redis, redis_prefix: str, smtp: tuple[Inbox, int], on_redis: bool):
    inbox, port = smtp
    rig, optimiser = setup(redis_client, redis_prefix, port, on_redis=on_redis)
    old = (await book_at_the_worst_time(rig)).slots[0]
    ((uid, sequence, first_start, invited),) = events(inbox)
    assert sequence == 0

    proposal = await optimiser.propose("mu1", 7, "S1")
    assert proposal.bookings == 1 and proposal.gain_hours > 0
    (move,) = proposal.moves
    assert move.old == old and move.new.start != old.start
    assert len(inbox.messages) == 1  # nothing changes before Apply

    decision = await optimiser.apply(proposal.id, "S1")
    assert decision is not None and decision.action == "applied" and decision.moved == ("sync",)
    (updated,) = events(inbox)[1:]
    assert updated[0] == uid and updated[1] == 1  # the same calendar entry, a newer version
    assert updated[2] == move.new.start and updated[2] != first_start
    assert updated[3] == invited
    (activity,) = await rig.activities.activities("mu1", rig.clock.now(), rig.clock.now() + timedelta(days=7))
    # Revision 1 of the booking, in the numbering Cancel and Reschedule share.
    assert (activity.key, activity.start, activity.end) == ("sync#r1:0:0", move.new.start, move.new.end)
    assert old.room_id is not None and move.new.room_id is not None
    busy = await rig.rooms.busy([old.room_id, move.new.room_id], old.start, old.end)
    assert all(span != (old.start, old.end) for spans in busy.values() for span in spans)  # old room freed

    again = await optimiser.apply(proposal.id, "S1")  # a second click: the first one's decision, no new mail
    assert again is not None and again.moved == ("sync",) and len(inbox.messages) == 2
    # A restarted bot (a new use case on the same stores) starts from the moved plan: nothing more to gain.
    _, restarted = setup(redis_client, redis_prefix, port, on_redis=on_redis)
    if not on_redis:
        restarted.store = optimiser.store
    second = await restarted.propose("mu1", 7, "S1")
    assert second.moves == () and second.gain_hours == 0


async def test_an_applied_move_updates_the_attendance_register_like_reschedule(
        redis_client: Redis, redis_prefix: str, smtp: tuple[Inbox, int]):
    _inbox, port = smtp
    rig, optimiser = setup(redis_client, redis_prefix, port)
    await book_at_the_worst_time(rig)
    booked = await rig.registers.get("sync")
    assert booked is not None and booked.revision == 0
    proposal = await optimiser.propose("mu1", 7, "S1")
    (move,) = proposal.moves
    applied = await optimiser.apply(proposal.id, "S1")
    assert applied is not None and applied.moved == ("sync",)
    register = await rig.registers.get("sync")
    assert register is not None and register.revision == 1
    assert [(s.start, s.end, s.room_id) for s in register.sessions] == [(move.new.start, move.new.end,
                                                                         move.new.room_id)]
    assert register.attendees == booked.attendees and register.created_at == booked.created_at
    # The facilitator is asked once the moved session is over, not at the old time.
    assert optimiser.attendance is not None
    assert await optimiser.attendance.take_due(move.new.end - timedelta(minutes=1)) == []
    assert await optimiser.attendance.take_due(move.new.end) == ["sync"]


async def test_nothing_moves_when_there_is_no_gain(redis_client: Redis, redis_prefix: str,
                                                   smtp: tuple[Inbox, int]):
    inbox, port = smtp
    rig, optimiser = setup(redis_client, redis_prefix, port)
    await rig.service.submit(request("best", date_from=date(2026, 6, 1), date_to=date(2026, 6, 5)))
    while await rig.service.process_next("w1"):
        pass
    assert await rig.ledger.status("best") == Status.BOOKED  # at the least harmful time already
    sent = len(inbox.messages)
    proposal = await optimiser.propose("mu1", 7, "S1")
    assert proposal.bookings == 1 and proposal.moves == () and proposal.gain_hours == 0
    decision = await optimiser.apply(proposal.id, "S1")
    assert decision is not None and decision.moved == ()
    assert len(inbox.messages) == sent


async def test_only_schedulers_may_optimise(redis_client: Redis, redis_prefix: str, smtp: tuple[Inbox, int]):
    _inbox, port = smtp
    _rig, optimiser = setup(redis_client, redis_prefix, port)
    with pytest.raises(NotAllowed):
        await optimiser.propose("mu1", 7, "U1")
    proposal = await optimiser.propose("mu1", 7, "S1")
    with pytest.raises(NotAllowed):
        await optimiser.apply(proposal.id, "U1")
    with pytest.raises(NotAllowed):
        await optimiser.discard(proposal.id, "U1")
    discarded = await optimiser.discard(proposal.id, "S1")
    assert discarded is not None and discarded.action == "discarded"
    late = await optimiser.apply(proposal.id, "S1")  # discarded first: the discard stands
    assert late is not None and late.action == "discarded"


async def test_an_optimised_then_rescheduled_then_cancelled_booking_keeps_one_uid_and_a_rising_sequence(
        redis_client: Redis, redis_prefix: str, smtp: tuple[Inbox, int]):
    inbox, port = smtp
    rig, optimiser = setup(redis_client, redis_prefix, port)
    changes = BookingChanges(rig.service, optimiser.changes, activities=rig.activities, rooms=rig.rooms,
                             invites=optimiser.invites, registers=rig.registers, schedulers=frozenset({"S1"}))
    await book_at_the_worst_time(rig)
    proposal = await optimiser.propose("mu1", 7, "S1")
    applied = await optimiser.apply(proposal.id, "S1")
    assert applied is not None and applied.moved == ("sync",)
    assert await optimiser.changes.revision("sync") == 1  # one numbering for every kind of move

    moved = await changes.reschedule("sync", 1, by="S1")  # the revision the list shows after the move
    assert moved.outcome is not None and moved.outcome.new_revision == 2, moved.refused
    window = (rig.clock.now(), rig.clock.now() + timedelta(days=7))
    # Reschedule found the optimised revision's activity and let it go.
    assert [a.key for a in await rig.activities.activities("mu1", *window)] == ["sync#r2:0:0"]
    cancelled = await changes.cancel("sync", 2, by="S1")
    assert cancelled.outcome is not None
    assert await rig.activities.activities("mu1", *window) == []

    sent = [(uid, sequence, method) for (uid, sequence, _start, _to), method in zip(events(inbox), methods(inbox),
                                                                                   strict=True)]
    assert [s[2] for s in sent] == ["REQUEST", "REQUEST", "REQUEST", "CANCEL"]
    assert len({s[0] for s in sent}) == 1  # one calendar entry throughout
    sequences = [s[1] for s in sent]
    assert sequences == sorted(set(sequences)), sequences  # strictly increasing: booked, optimised, moved, cancelled


def methods(inbox: Inbox) -> list[str]:
    """The METHOD of every invite received, in order (one per VEVENT)."""
    out: list[str] = []
    for _sender, _to, message in inbox.messages:
        for part in message.iter_attachments():
            calendar = Calendar.from_ical(part.get_content())
            out.extend(str(calendar["method"]) for _ in calendar.walk("VEVENT"))
    return out
