"""Redis stores of tentative holds and of changes to booked activities (cancel, reschedule).

Outcomes are written with ``SET NX``: of two clicks (or a click and the hold timeout) exactly one
wins and the other reads what happened. Every key has a TTL (``BOOKING_TTL``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from redis.asyncio import Redis

from services.adapters.redis_keys import BOOKING_TTL, BookingKeys
from services.booking.model import AttendanceMark, ChangeOutcome, Hold, HoldOutcome


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# Keep a hold unless its outcome is already recorded (a hold decided once is never revived).
_ADD_HOLD = """
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])  -- a re-delivered request keeps its first expiry
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
"""


class RedisHolds:
    def __init__(self, redis: Redis, keys: BookingKeys, ttl: timedelta = BOOKING_TTL) -> None:
        self.redis, self.keys, self.ttl_ms = redis, keys, int(ttl.total_seconds() * 1000)
        self._add = redis.register_script(_ADD_HOLD)

    async def add(self, hold: Hold) -> bool:
        added = await self._add(keys=[self.keys.holds, self.keys.hold_due, self.keys.hold_outcome(hold.request_id)],
                                args=[hold.request_id, hold.model_dump_json(), hold.expires_at.timestamp(),
                                      self.ttl_ms])
        return bool(added)

    async def get(self, request_id: str) -> Hold | None:
        raw = await self.redis.hget(self.keys.holds, request_id)
        return None if raw is None else Hold.model_validate_json(raw)

    async def _all(self) -> list[Hold]:
        return [Hold.model_validate_json(v) for v in (await self.redis.hgetall(self.keys.holds)).values()]

    async def active(self, mu_id: str | None, now: datetime) -> Sequence[Hold]:
        return [h for h in await self._all() if mu_id in (None, h.mu_id) and h.expires_at > now]

    async def due(self, now: datetime) -> Sequence[Hold]:
        ids = [_text(i) for i in await self.redis.zrangebyscore(self.keys.hold_due, "-inf", now.timestamp())]
        if not ids:
            return []
        return [Hold.model_validate_json(r) for r in await self.redis.hmget(self.keys.holds, ids) if r is not None]

    async def claim(self, outcome: HoldOutcome) -> bool:
        return bool(await self.redis.set(self.keys.hold_outcome(outcome.request_id), outcome.model_dump_json(),
                                         nx=True, px=self.ttl_ms))

    async def outcome(self, request_id: str) -> HoldOutcome | None:
        raw = await self.redis.get(self.keys.hold_outcome(request_id))
        return None if raw is None else HoldOutcome.model_validate_json(raw)

    async def release(self, request_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.holds, request_id)
            pipe.zrem(self.keys.hold_due, request_id)
            await pipe.execute()


class RedisChanges:
    def __init__(self, redis: Redis, keys: BookingKeys, ttl: timedelta = BOOKING_TTL) -> None:
        self.redis, self.keys, self.ttl_ms = redis, keys, int(ttl.total_seconds() * 1000)

    async def add_booking(self, requester: str, request_id: str, first_start: datetime) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self.keys.mine(requester), {request_id: first_start.timestamp()})
            pipe.pexpire(self.keys.mine(requester), self.ttl_ms)
            await pipe.execute()

    async def bookings_of(self, requester: str) -> Sequence[str]:
        return [_text(i) for i in await self.redis.zrange(self.keys.mine(requester), 0, -1)]

    async def remove_booking(self, requester: str, request_id: str) -> None:
        await self.redis.zrem(self.keys.mine(requester), request_id)

    async def revision(self, request_id: str) -> int:
        raw = await self.redis.hget(self.keys.revisions, request_id)
        return 0 if raw is None else int(_text(raw))

    async def set_revision(self, request_id: str, revision: int) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.revisions, request_id, revision)
            pipe.pexpire(self.keys.revisions, self.ttl_ms)
            await pipe.execute()

    async def claim(self, outcome: ChangeOutcome) -> bool:
        key = self.keys.change_outcome(outcome.request_id, outcome.revision)
        return bool(await self.redis.set(key, outcome.model_dump_json(), nx=True, px=self.ttl_ms))

    async def update(self, outcome: ChangeOutcome) -> None:
        await self.redis.set(self.keys.change_outcome(outcome.request_id, outcome.revision),
                             outcome.model_dump_json(), px=self.ttl_ms)

    async def outcome(self, request_id: str, revision: int) -> ChangeOutcome | None:
        raw = await self.redis.get(self.keys.change_outcome(request_id, revision))
        return None if raw is None else ChangeOutcome.model_validate_json(raw)

    async def forget(self, request_id: str, revision: int) -> None:
        await self.redis.delete(self.keys.change_outcome(request_id, revision))


# Set one attendee's mark unless it already says the same (the first marker stays); return the old one.
_MARK = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old and cjson.decode(old)['attended'] == cjson.decode(ARGV[2])['attended'] then return old end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return old
"""


class RedisAttendance:
    def __init__(self, redis: Redis, keys: BookingKeys, ttl: timedelta = BOOKING_TTL) -> None:
        self.redis, self.keys, self.ttl_ms = redis, keys, int(ttl.total_seconds() * 1000)
        self._mark = redis.register_script(_MARK)

    async def mark(self, request_id: str, mark: AttendanceMark) -> AttendanceMark | None:
        old = await self._mark(keys=[self.keys.attendance(request_id)],
                               args=[mark.agent_id, mark.model_dump_json(), self.ttl_ms])
        return None if old is None else AttendanceMark.model_validate_json(old)

    async def marks(self, request_id: str) -> Mapping[str, AttendanceMark]:
        raw = await self.redis.hgetall(self.keys.attendance(request_id))
        return {_text(k): AttendanceMark.model_validate_json(v) for k, v in raw.items()}

    async def expect(self, request_id: str, after: datetime) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self.keys.attendance_due, {request_id: after.timestamp()})
            pipe.pexpire(self.keys.attendance_due, self.ttl_ms)
            await pipe.execute()

    async def take_due(self, now: datetime) -> Sequence[str]:
        due = [_text(i) for i in await self.redis.zrangebyscore(self.keys.attendance_due, "-inf", now.timestamp())]
        # ZREM answers 1 to one caller only: each register is given out once.
        return [rid for rid in due if await self.redis.zrem(self.keys.attendance_due, rid)]


class RedisExternalIds:
    def __init__(self, redis: Redis, keys: BookingKeys, system: str, ttl: timedelta = BOOKING_TTL) -> None:
        self.redis, self.name, self.ttl_ms = redis, keys.external_ids(system), int(ttl.total_seconds() * 1000)

    async def get(self, key: str) -> str | None:
        raw = await self.redis.hget(self.name, key)
        return None if raw is None else _text(raw)

    async def put(self, key: str, value: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.name, key, value)
            pipe.pexpire(self.name, self.ttl_ms)
            await pipe.execute()

    async def pop(self, key: str) -> str | None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(self.name, key)
            pipe.hdel(self.name, key)
            raw, _ = await pipe.execute()
        return None if raw is None else _text(raw)
