"""The booking side on a real Redis when things go wrong: Redis emptied under a running worker, and
a write-back interrupted half way (each step done once, a restart skips what is done)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from services.adapters.booking.redis_stores import RedisActivityLog, RedisRoomCalendar
from services.booking.model import Status
from services.booking.ports import Invite, OfflineActivity, RoomBooking
from tests.booking.test_booking_service import Rig, request
from tests.booking.workforce_fixture import MONDAY

pytestmark = pytest.mark.redis


async def _until(check: object, timeout: float = 30.0) -> None:
    """Wait (real time) for the background worker to get there (generous: CI's two cores may be busy)."""
    async with asyncio.timeout(timeout):
        while not await check():  # type: ignore[operator]
            await asyncio.sleep(0.02)


async def test_the_booking_worker_resumes_after_redis_is_emptied(redis_client: Redis, redis_prefix: str) -> None:
    rig = Rig(redis_client, redis_prefix)
    stop = asyncio.Event()
    worker = asyncio.create_task(rig.service.run("w1", stop, block_ms=100, max_backoff_s=0.2))
    try:
        await rig.service.submit(request("r1"))
        await _until(lambda: _booked(rig, "r1"))
        keys = [k async for k in redis_client.scan_iter(match=f"{redis_prefix}:*")]
        await redis_client.delete(*keys)  # what FLUSHALL does to our keys (the test Redis is shared)
        await rig.service.submit(request("r2", title="After the flush"))
        await _until(lambda: _booked(rig, "r2"))  # the group was recreated: no restart needed
        assert ("r2", Status.BOOKED) in [(rid, status) for rid, status, _ in rig.notices.seen]
        assert await rig.queue.pending() == 0
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await worker


async def test_a_worker_waiting_on_an_empty_queue_stops_at_once_and_the_next_one_books(
        redis_client: Redis, redis_prefix: str) -> None:
    """Shutdown does not sit out the worker's blocking read (a minute here), and nothing is lost by it."""
    rig = Rig(redis_client, redis_prefix)
    stop = asyncio.Event()
    worker = asyncio.create_task(rig.service.run("w1", stop, block_ms=60_000))
    await asyncio.sleep(0.2)  # let it reach the blocking read
    loop = asyncio.get_running_loop()
    started = loop.time()
    stop.set()
    await asyncio.wait_for(worker, 10)
    assert loop.time() - started < 1, loop.time() - started
    again = asyncio.Event()
    worker = asyncio.create_task(rig.service.run("w1", again, block_ms=100))
    try:
        await rig.service.submit(request("r1"))
        await _until(lambda: _booked(rig, "r1"))
        assert await rig.queue.pending() == 0
    finally:
        again.set()
        await asyncio.wait_for(worker, 10)


async def _booked(rig: Rig, request_id: str) -> bool:
    return await rig.ledger.status(request_id) == Status.BOOKED


class CountingActivities(RedisActivityLog):
    calls = 0

    async def write_activity(self, activity: OfflineActivity) -> str:
        self.calls += 1
        return await super().write_activity(activity)


class CountingRooms(RedisRoomCalendar):
    calls = 0

    async def book(self, booking: RoomBooking) -> str:
        self.calls += 1
        return await super().book(booking)


def _counting(rig: Rig, redis: Redis) -> tuple[CountingActivities, CountingRooms]:
    activities, rooms = CountingActivities(redis, rig.keys), CountingRooms(redis, rig.keys)
    rig.service.writeback.activities, rig.service.writeback.rooms = activities, rooms
    return activities, rooms


async def test_an_interrupted_write_back_resumes_without_repeating_a_done_step(redis_client: Redis,
                                                                              redis_prefix: str) -> None:
    rig = Rig(redis_client, redis_prefix)
    activities, rooms = _counting(rig, redis_client)
    await rig.service.submit(request("r1"))

    async def smtp_down(invite: Invite) -> None:
        raise ConnectionRefusedError("SMTP down")

    rig.invites.send_invite = smtp_down  # type: ignore[method-assign]
    with pytest.raises(ConnectionRefusedError):
        await rig.service.process_next("w1")
    assert (activities.calls, rooms.calls) == (1, 1)
    key = "r1:0:0"
    for step, done in ((f"wfm:{key}", True), (f"room:{key}", True), (f"invite:{key}", False), ("register", False)):
        assert await rig.ledger.step_done("r1", step) is done, step

    restarted = Rig(redis_client, redis_prefix)  # a new process: fresh adapters, the same Redis
    activities, rooms = _counting(restarted, redis_client)
    assert await restarted.service.process_next("w1")
    assert (activities.calls, rooms.calls) == (0, 0)  # done steps are skipped, not repeated
    assert [i.uid for i in restarted.invites.sent] == [f"{key}@booking"]
    assert await restarted.registers.get("r1") is not None
    assert await restarted.ledger.status("r1") == Status.BOOKED
    assert all([await restarted.ledger.step_done("r1", s) for s in (f"invite:{key}", "register")])
    assert await redis_client.ttl(restarted.keys.steps("r1")) > 0
    assert len(await restarted.activities.activities("mu1", MONDAY, MONDAY + timedelta(days=7))) == 1
