"""The booking use cases on a real Redis: FCFS queue, restarts, idempotency, write-back, manual queue.
The queue, ledger and work queue tests run on Redis and on the in-memory ones (``stores``)."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from redis.asyncio import Redis

from services.adapters.booking.console import ConsoleNotifier
from services.adapters.booking.redis_queue import RedisBookingLedger, RedisRequestQueue
from services.adapters.booking.redis_stores import (
    RedisActivityLog,
    RedisRegisters,
    RedisRoomCalendar,
    RedisWorkQueue,
)
from services.adapters.booking.workforce import WorkforceBookingData
from services.adapters.redis_keys import BookingKeys
from services.booking.attendance import register_csv
from services.booking.config import BookingConfig
from services.booking.model import BookingRequest, Progress, Status, WorkAction, WorkOutcome
from services.booking.ports import BookingLedger, Invite, RoomBooking, WorkQueue
from services.booking.search import SlotSearch
from services.booking.service import BookingService
from services.booking.writeback import WriteBack
from services.clock import ManualClock
from services.domain.slots import Reason
from testing.memory_booking import MemoryBookingLedger, MemoryRequestQueue, MemoryWorkQueue, QueueState
from tests.booking.workforce_fixture import MONDAY, FakeWorkforce, booking_config

pytestmark = pytest.mark.redis


class Notices:
    def __init__(self) -> None:
        self.seen: list[tuple[str, Status, str]] = []

    async def notify(self, request: BookingRequest, progress: Progress) -> None:
        self.seen.append((request.id, progress.status, progress.text))


class Invites:
    def __init__(self) -> None:
        self.sent: list[Invite] = []

    async def send_invite(self, invite: Invite) -> None:
        self.sent.append(invite)


class Stores:
    """The request queue, ledger and work queue on Redis or in memory; a restarted Rig finds the same state."""

    def __init__(self, kind: str, redis: Redis, prefix: str) -> None:
        self.kind, self.redis, self.keys = kind, redis, BookingKeys(prefix)
        self._queue_state, self._ledger, self._work = QueueState(), MemoryBookingLedger(), MemoryWorkQueue()

    def queue(self, reclaim_after: timedelta) -> RedisRequestQueue | MemoryRequestQueue:
        if self.kind == "memory":
            return MemoryRequestQueue(self._queue_state, reclaim_after=reclaim_after)
        return RedisRequestQueue(self.redis, self.keys, reclaim_after=reclaim_after)

    def ledger(self) -> BookingLedger:
        return self._ledger if self.kind == "memory" else RedisBookingLedger(self.redis, self.keys)

    def work(self) -> WorkQueue:
        return self._work if self.kind == "memory" else RedisWorkQueue(self.redis, self.keys)


@pytest.fixture(params=["redis", "memory"])
def stores(request: pytest.FixtureRequest, redis_client: Redis, redis_prefix: str) -> Stores:
    return Stores(request.param, redis_client, redis_prefix)


class Rig:
    def __init__(self, redis: Redis, prefix: str, *, reclaim_after: timedelta = timedelta(minutes=2),
                 stores: Stores | None = None, config: BookingConfig | None = None) -> None:
        stores = stores or Stores("redis", redis, prefix)
        self.clock = ManualClock(MONDAY - timedelta(hours=12))
        self.keys = BookingKeys(prefix)
        self.config = config or booking_config()
        self.notices, self.invites = Notices(), Invites()
        self.ledger = stores.ledger()
        self.rooms = RedisRoomCalendar(redis, self.keys)
        self.activities = RedisActivityLog(redis, self.keys)
        self.registers = RedisRegisters(redis, self.keys)
        self.work = stores.work()
        self.queue = stores.queue(reclaim_after)
        self.source = FakeWorkforce()
        self.data = WorkforceBookingData(self.source, self.config, activities=self.activities, rooms=self.rooms,
                                         trainers={"trainer1": "Tess Trainer"})
        self.searches = 0
        search = SlotSearch(self.data, self.config)
        original = search.find

        async def counting_find(request, now):
            self.searches += 1
            return await original(request, now)

        search.find = counting_find  # type: ignore[method-assign]
        self.service = BookingService(
            queue=self.queue, ledger=self.ledger, work_queue=self.work, search=search,
            writeback=WriteBack(activities=self.activities, rooms=self.rooms, invites=self.invites,
                                registers=self.registers, ledger=self.ledger, config=self.config),
            notifier=self.notices, data=self.data, clock=self.clock)


def request(request_id: str, **kwargs: object) -> BookingRequest:
    fields: dict[str, object] = {"requester": "U1", "mu_id": "mu1", "type_id": "team_meeting", "title": "Sync",
                                 "teams": ("t1",), "date_from": date(2026, 6, 1), "date_to": date(2026, 6, 5),
                                 "submitted_at": MONDAY - timedelta(days=1)}
    fields.update(kwargs)
    return BookingRequest(id=request_id, **fields)


async def test_requests_are_booked_first_come_first_served(redis_client: Redis, redis_prefix: str, stores: Stores):
    rig = Rig(redis_client, redis_prefix, stores=stores)
    first = request("r1", title="Blue sync")
    second = request("r2", title="Blue sync again")
    assert await rig.service.submit(first)
    assert await rig.service.submit(second)
    assert await rig.service.process_next("w1")
    assert await rig.service.process_next("w1")
    assert not await rig.service.process_next("w1")
    statuses = [(rid, status) for rid, status, _ in rig.notices.seen]
    assert statuses == [("r1", Status.QUEUED), ("r2", Status.QUEUED), ("r1", Status.SEARCHING), ("r1", Status.BOOKED),
                        ("r2", Status.SEARCHING), ("r2", Status.BOOKED)]
    booked = rig.notices.seen[3][2]
    assert booked.startswith("Booked Blue sync: Mon 01 Jun") and booked.endswith(" UTC in Big room")
    # The second booking saw the first one: the team is not double-booked and the big room neither.
    written = await rig.activities.activities("mu1", MONDAY, MONDAY + timedelta(days=7))
    assert len(written) == 2
    a, b = sorted(written, key=lambda x: x.start)
    assert a.end <= b.start
    busy = await rig.rooms.busy(["big"], MONDAY, MONDAY + timedelta(days=7))
    assert len(busy["big"]) == 2
    assert {i.uid for i in rig.invites.sent} == {"r1:0:0@booking", "r2:0:0@booking"}
    register = await rig.registers.get("r1")
    assert register is not None and len(register.attendees) == 4
    assert register_csv(register).count("\n") == 5  # header + one row per attendee


async def test_a_request_id_is_queued_once(redis_client: Redis, redis_prefix: str, stores: Stores):
    rig = Rig(redis_client, redis_prefix, stores=stores)
    assert await rig.service.submit(request("r1"))
    assert not await rig.service.submit(request("r1", title="changed"))
    assert await rig.service.process_next("w1")
    assert not await rig.service.process_next("w1")
    assert rig.searches == 1


async def test_queue_survives_a_restart(redis_client: Redis, redis_prefix: str, stores: Stores):
    rig = Rig(redis_client, redis_prefix, stores=stores)
    await rig.service.submit(request("r1"))
    taken = await rig.queue.take("w1")
    assert taken is not None  # ... and the worker dies before finishing
    restarted = Rig(redis_client, redis_prefix, stores=stores)
    assert await restarted.service.process_next("w1")  # the same worker name picks up its pending entry
    assert await restarted.ledger.status("r1") == Status.BOOKED
    assert await restarted.queue.pending() == 0


async def test_the_first_stored_plan_wins_and_steps_are_remembered(stores: Stores):
    ledger = stores.ledger()
    assert await ledger.plan("r1") is None
    assert await ledger.save_plan("r1", '{"a": 1}') == '{"a": 1}'
    assert await ledger.save_plan("r1", '{"b": 2}') == '{"a": 1}'  # a second worker's plan loses
    assert not await ledger.step_done("r1", "room")
    await ledger.mark_step("r1", "room")
    assert await ledger.step_done("r1", "room") and not await ledger.step_done("r2", "room")


async def test_another_worker_reclaims_what_a_dead_one_left(redis_client: Redis, redis_prefix: str, stores: Stores):
    rig = Rig(redis_client, redis_prefix, reclaim_after=timedelta(0), stores=stores)
    await rig.service.submit(request("r1"))
    assert await rig.queue.take("dead-worker") is not None
    assert await rig.service.process_next("w2")
    assert await rig.ledger.status("r1") == Status.BOOKED


async def test_a_crash_after_searching_resumes_the_plan_and_books_nothing_twice(redis_client: Redis, redis_prefix: str,
                                                                                stores: Stores):
    rig = Rig(redis_client, redis_prefix, stores=stores)
    await rig.service.submit(request("r1"))

    class Boom(Exception):
        pass

    async def failing_send(invite: Invite) -> None:
        raise Boom("SMTP down")

    rig.invites.send_invite = failing_send  # type: ignore[method-assign]
    with pytest.raises(Boom):
        await rig.service.process_next("w1")
    assert await rig.ledger.status("r1") == Status.SEARCHING
    assert await rig.ledger.plan("r1") is not None
    restarted = Rig(redis_client, redis_prefix, stores=stores)
    assert await restarted.service.process_next("w1")
    assert restarted.searches == 0  # the stored plan was used, not a new search
    assert await restarted.ledger.status("r1") == Status.BOOKED
    assert len(await restarted.activities.activities("mu1", MONDAY, MONDAY + timedelta(days=7))) == 1
    assert len((await restarted.rooms.busy(["big"], MONDAY, MONDAY + timedelta(days=7)))["big"]) == 1
    assert len(restarted.invites.sent) == 1
    # Delivered once more (e.g. a duplicate stream entry): already booked, nothing happens.
    assert await restarted.service.handle(request("r1")) == Status.BOOKED
    assert restarted.searches == 0


async def test_unplaceable_goes_to_the_work_queue_then_retry_relaxed_books_it(redis_client: Redis, redis_prefix: str,
                                                                              stores: Stores):
    rig = Rig(redis_client, redis_prefix, stores=stores)
    # A 1:1 may take at most half of a team off the queue: two of the four Blue agents are already away.
    for i, rid in enumerate(("x1", "x2")):
        await rig.service.submit(request(rid, type_id="one_to_one", teams=(), people=(f"t1-a{i}",),
                                         facilitator=f"sup{i + 1}",
                                         date_from=date(2026, 6, 1), date_to=date(2026, 6, 1),
                                         earliest_minute=9 * 60, latest_minute=10 * 60, duration_minutes=60))
    wide = request("wide", type_id="one_to_one", teams=(), people=("t1-a2",), facilitator="ops1",
                   date_from=date(2026, 6, 1),
                   date_to=date(2026, 6, 1), earliest_minute=9 * 60, latest_minute=10 * 60, duration_minutes=60)
    await rig.service.submit(wide)
    while await rig.service.process_next("w1"):
        pass
    items = await rig.service.work_items()
    assert [(i.request.id, i.reason) for i in items] == [("wide", Reason.TEAM_SHARE_LIMIT)]
    assert rig.notices.seen[-1][1] is Status.NEEDS_REVIEW and "team" in rig.notices.seen[-1][2]
    done = await rig.service.retry("wide", relaxed=True, by="U0SCHED01")
    assert done is not None and done.now and done.outcome.new_request_id == "wide~2"
    again = await rig.ledger.request("wide~2")
    assert again is not None and again.relaxed
    assert await rig.service.process_next("w1")
    assert await rig.ledger.status("wide~2") == Status.BOOKED
    assert await rig.service.work_items() == []


async def test_cancel_removes_the_item_and_tells_the_requester(redis_client: Redis, redis_prefix: str, stores: Stores):
    rig = Rig(redis_client, redis_prefix, stores=stores)
    await rig.service.submit(request("r1", earliest_minute=5 * 60, latest_minute=6 * 60))
    await rig.service.process_next("w1")
    (item,) = await rig.service.work_items()
    assert item.reason is Reason.OUTSIDE_SHIFTS
    first = await rig.service.cancel("r1", by="U0SCHED01")
    assert first is not None and first.now
    told = len(rig.notices.seen)
    second = await rig.service.cancel("r1", by="U0OTHER01")
    assert second is not None and not second.now  # nothing done: the first cancel is reported back
    assert (second.outcome.action, second.outcome.by, second.outcome.at) == (
        WorkAction.CANCELLED, "U0SCHED01", rig.clock.now())
    assert await rig.ledger.status("r1") == Status.CANCELLED
    assert rig.notices.seen[-1][1] is Status.CANCELLED and len(rig.notices.seen) == told
    assert await rig.service.cancel("never-queued") is None


async def test_room_calendar_refuses_overlaps_and_is_idempotent(redis_client: Redis, redis_prefix: str):
    from services.booking.ports import RoomTaken

    rooms = RedisRoomCalendar(redis_client, BookingKeys(redis_prefix))
    nine = MONDAY + timedelta(hours=9)
    first = RoomBooking("k1", "big", nine, nine + timedelta(hours=1), "A")
    assert await rooms.book(first) == "k1"
    assert await rooms.book(first) == "k1"  # same key again: fine, still one booking
    with pytest.raises(RoomTaken):
        await rooms.book(RoomBooking("k2", "big", nine + timedelta(minutes=30), nine + timedelta(hours=2), "B"))
    await rooms.book(RoomBooking("k3", "big", nine + timedelta(hours=1), nine + timedelta(hours=2), "C"))
    busy = await rooms.busy(["big", "small"], MONDAY, MONDAY + timedelta(days=1))
    assert busy["big"] == [(nine, nine + timedelta(hours=1)), (nine + timedelta(hours=1), nine + timedelta(hours=2))]
    assert busy["small"] == []
    await rooms.cancel("k1")
    assert len((await rooms.busy(["big"], MONDAY, MONDAY + timedelta(days=1)))["big"]) == 1


async def test_console_notifier_prints_the_slot_and_why(redis_client: Redis, redis_prefix: str):
    rig = Rig(redis_client, redis_prefix)
    out = io.StringIO()
    rig.service.notifier = ConsoleNotifier(out)
    await rig.service.submit(request("r1"))
    await rig.service.process_next("w1")
    text = out.getvalue()
    assert ("[BOOKED] r1" in text and "agent-hours" in text) or "adds no understaffing" in text


async def test_a_second_retry_click_finishes_a_retry_cut_short_and_never_queues_two(redis_client: Redis,
                                                                                   redis_prefix: str):
    rig = Rig(redis_client, redis_prefix)
    await rig.service.submit(request("r1", earliest_minute=5 * 60, latest_minute=6 * 60))
    await rig.service.process_next("w1")
    (item,) = await rig.service.work_items()
    # The first click took the item and recorded its outcome, then the process died before queuing r1~2.
    again = item.request.model_copy(update={"id": "r1~2", "submitted_at": rig.clock.now()})
    outcome = WorkOutcome(request_id="r1", action=WorkAction.RETRIED, by="U0SCHED01", at=rig.clock.now(),
                          new_request_id="r1~2", retry=again)
    assert await rig.work.resolve("r1", outcome) is not None
    assert await rig.ledger.status("r1~2") is None
    second = await rig.service.retry("r1", by="U0OTHER01")
    assert second is not None and not second.now and second.outcome.by == "U0SCHED01"
    assert await rig.ledger.status("r1~2") == Status.QUEUED
    third = await rig.service.retry("r1", by="U0OTHER01")
    assert third is not None and not third.now
    queued = [rid for rid, status, _ in rig.notices.seen if status is Status.QUEUED]
    assert queued == ["r1", "r1~2"]  # queued once, not once per click
    assert await rig.ledger.request("r1~3") is None
