"""The FCFS request queue (a Redis Stream with a consumer group) and the per-request ledger."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from services.adapters.redis_keys import BOOKING_GROUP, BOOKING_TTL, BookingKeys
from services.booking.model import BookingRequest
from services.booking.ports import Queued

log = logging.getLogger(__name__)
T = TypeVar("T")

# Queue a request only if its id was never queued: the marker and the stream entry go together.
# Never trimmed: an entry leaves the stream when its request is done (``done``).
_SUBMIT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[3]) then
  redis.call('XADD', KEYS[2], '*', 'id', ARGV[1], 'request', ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return 1
end
return 0
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisRequestQueue:
    """Arrival order, survives restarts (unacknowledged entries are taken again), one entry per id."""

    def __init__(self, redis: Redis, keys: BookingKeys, *, reclaim_after: timedelta = timedelta(minutes=2),
                 ttl: timedelta = BOOKING_TTL) -> None:
        self.redis, self.keys, self.ttl = redis, keys, ttl
        self.reclaim_ms = int(reclaim_after.total_seconds() * 1000)
        self._submit = redis.register_script(_SUBMIT)
        self._group_ready = False

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self.redis.xgroup_create(self.keys.requests, BOOKING_GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._group_ready = True

    async def _with_group(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run ``call``; if the group is gone (Redis emptied), recreate it once and run it again."""
        await self._ensure_group()
        try:
            return await call()
        except ResponseError as error:
            # NOGROUP: the group is gone; UNBLOCKED: the stream was deleted under a blocking read.
            if "NOGROUP" not in str(error) and "UNBLOCKED" not in str(error):
                raise
            log.error("booking queue group %s was gone (Redis lost its state?); recreating it", BOOKING_GROUP)
            self._group_ready = False
            await self._ensure_group()
            return await call()

    async def submit(self, request: BookingRequest) -> bool:
        await self._ensure_group()
        added = await self._submit(keys=[self.keys.submitted(request.id), self.keys.requests],
                                   args=[request.id, request.model_dump_json(), int(self.ttl.total_seconds() * 1000)])
        return bool(added)

    async def take(self, consumer: str, block_ms: int = 0) -> Queued | None:
        return await self._with_group(lambda: self._take(consumer, block_ms))

    async def _take(self, consumer: str, block_ms: int) -> Queued | None:
        # 1. what this consumer took before a restart and never finished
        found = await self.redis.xreadgroup(BOOKING_GROUP, consumer, {self.keys.requests: "0"}, count=1)
        entry = _first(found)
        # 2. what another (dead) consumer left behind long enough ago
        if entry is None:
            claimed = await self.redis.xautoclaim(self.keys.requests, BOOKING_GROUP, consumer, self.reclaim_ms,
                                                  start_id="0-0", count=1)
            messages = claimed[1] if claimed else []
            entry = (messages[0][0], messages[0][1]) if messages and messages[0][1] else None
        # 3. the next new request
        if entry is None:
            found = await self.redis.xreadgroup(BOOKING_GROUP, consumer, {self.keys.requests: ">"}, count=1,
                                                block=block_ms or None)
            entry = _first(found)
        if entry is None:
            return None
        entry_id, fields = entry
        data = {_text(k): _text(v) for k, v in fields.items()}
        try:
            request = BookingRequest.model_validate_json(data["request"])
        except (KeyError, ValueError):
            log.error("dropping malformed booking queue entry %s", _text(entry_id))
            await self.redis.xack(self.keys.requests, BOOKING_GROUP, entry_id)
            return await self._take(consumer, 0)
        return Queued(_text(entry_id), request)

    async def done(self, item: Queued) -> None:
        """Finished: acknowledged and removed (the request itself stays in the ledger)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.keys.requests, BOOKING_GROUP, item.entry_id)
            pipe.xdel(self.keys.requests, item.entry_id)
            await pipe.execute()

    async def pending(self) -> int:
        info = await self._with_group(lambda: self.redis.xpending(self.keys.requests, BOOKING_GROUP))
        return int(info["pending"] if isinstance(info, dict) else info[0])


def _first(found: object) -> tuple[bytes | str, dict[bytes | str, bytes | str]] | None:
    """The first (id, fields) of an XREADGROUP answer, skipping ids of deleted entries."""
    for _stream, messages in found or []:  # type: ignore[attr-defined]
        for entry_id, fields in messages:
            if fields:
                return entry_id, fields
    return None


class RedisBookingLedger:
    def __init__(self, redis: Redis, keys: BookingKeys, ttl: timedelta = BOOKING_TTL) -> None:
        self.redis, self.keys, self.ttl = redis, keys, ttl

    async def _touch(self, *names: str) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.pexpire(name, int(self.ttl.total_seconds() * 1000))
            await pipe.execute()

    async def status(self, request_id: str) -> str | None:
        value = await self.redis.hget(self.keys.status, request_id)
        return None if value is None else _text(value)

    async def set_status(self, request_id: str, status: str) -> None:
        await self.redis.hset(self.keys.status, request_id, str(status))
        await self._touch(self.keys.status)

    async def plan(self, request_id: str) -> str | None:
        value = await self.redis.hget(self.keys.plans, request_id)
        return None if value is None else _text(value)

    async def save_plan(self, request_id: str, plan_json: str) -> str:
        await self.redis.hsetnx(self.keys.plans, request_id, plan_json)
        await self._touch(self.keys.plans)
        stored = await self.plan(request_id)
        assert stored is not None
        return stored

    async def step_done(self, request_id: str, step: str) -> bool:
        return bool(await self.redis.sismember(self.keys.steps(request_id), step))

    async def mark_step(self, request_id: str, step: str) -> None:
        await self.redis.sadd(self.keys.steps(request_id), step)
        await self._touch(self.keys.steps(request_id))

    async def request(self, request_id: str) -> BookingRequest | None:
        value = await self.redis.hget(self.keys.request_json, request_id)
        return None if value is None else BookingRequest.model_validate_json(value)

    async def save_request(self, request: BookingRequest) -> None:
        await self.redis.hset(self.keys.request_json, request.id, request.model_dump_json())
        await self._touch(self.keys.request_json)
