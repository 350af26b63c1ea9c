"""Redis stores of the booking side: manual work queue, attendance registers, recurring templates,
the (simulated) WFM activity log, and the built-in room calendar."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from services.adapters.redis_keys import BOOKING_TTL, BookingKeys
from services.booking.model import Register, WorkItem, WorkOutcome
from services.booking.ports import OfflineActivity, RoomBooking, RoomTaken, Span
from services.booking.recurring import Template
from services.domain.states import ActivityCategory


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class _Base:
    def __init__(self, redis: Redis, keys: BookingKeys, ttl: timedelta = BOOKING_TTL) -> None:
        self.redis, self.keys, self.ttl = redis, keys, ttl

    @property
    def _ttl_ms(self) -> int:
        return int(self.ttl.total_seconds() * 1000)


# Take a work item out and record what was done with it, in one step (first click wins).
_RESOLVE = """
local item = redis.call('HGET', KEYS[1], ARGV[1])
if not item then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3])
return item
"""


class RedisWorkQueue(_Base):
    def __init__(self, redis: Redis, keys: BookingKeys, ttl: timedelta = BOOKING_TTL) -> None:
        super().__init__(redis, keys, ttl)
        self._resolve = redis.register_script(_RESOLVE)

    async def add(self, item: WorkItem) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.work, item.request.id, item.model_dump_json())
            pipe.zadd(self.keys.work_order, {item.request.id: item.added_at.timestamp()})
            pipe.pexpire(self.keys.work, self._ttl_ms)
            pipe.pexpire(self.keys.work_order, self._ttl_ms)
            await pipe.execute()

    async def items(self) -> Sequence[WorkItem]:
        ids = [_text(i) for i in await self.redis.zrange(self.keys.work_order, 0, -1)]
        if not ids:
            return []
        raw = await self.redis.hmget(self.keys.work, ids)
        return [WorkItem.model_validate_json(r) for r in raw if r is not None]

    async def get(self, request_id: str) -> WorkItem | None:
        raw = await self.redis.hget(self.keys.work, request_id)
        return None if raw is None else WorkItem.model_validate_json(raw)

    async def remove(self, request_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.work, request_id)
            pipe.zrem(self.keys.work_order, request_id)
            await pipe.execute()

    async def resolve(self, request_id: str, outcome: WorkOutcome) -> WorkItem | None:
        raw = await self._resolve(keys=[self.keys.work, self.keys.work_order, self.keys.work_outcome(request_id)],
                                  args=[request_id, outcome.model_dump_json(), self._ttl_ms])
        return None if raw is None else WorkItem.model_validate_json(raw)

    async def outcome(self, request_id: str) -> WorkOutcome | None:
        raw = await self.redis.get(self.keys.work_outcome(request_id))
        return None if raw is None else WorkOutcome.model_validate_json(raw)


class RedisRegisters(_Base):
    async def save(self, register: Register) -> None:
        await self.redis.hset(self.keys.registers, register.request_id, register.model_dump_json())
        await self.redis.pexpire(self.keys.registers, self._ttl_ms)

    async def get(self, request_id: str) -> Register | None:
        raw = await self.redis.hget(self.keys.registers, request_id)
        return None if raw is None else Register.model_validate_json(raw)

    async def mark_attended(self, request_id: str, agent_ids: Sequence[str]) -> Register | None:
        register = await self.get(request_id)
        if register is None:
            return None
        known = {a for a, _ in register.attendees}
        attended = tuple(dict.fromkeys([*register.attended, *(a for a in agent_ids if a in known)]))
        updated = register.model_copy(update={"attended": attended})
        await self.save(updated)
        return updated


class RedisTemplates(_Base):
    async def save(self, template: Template) -> None:
        await self.redis.hset(self.keys.templates, template.id, template.model_dump_json())
        await self.redis.pexpire(self.keys.templates, self._ttl_ms)

    async def templates(self) -> Sequence[Template]:
        raw = await self.redis.hgetall(self.keys.templates)
        return [Template.model_validate_json(v) for _, v in sorted(raw.items(), key=lambda kv: _text(kv[0]))]


def _activity_json(activity: OfflineActivity) -> str:
    return json.dumps({"key": activity.key, "mu_id": activity.mu_id, "name": activity.name,
                       "category": activity.category.value, "code_id": activity.code_id,
                       "start": activity.start.isoformat(), "end": activity.end.isoformat(),
                       "attendees": list(activity.attendees), "facilitator": activity.facilitator})


def _activity(raw: bytes | str) -> OfflineActivity:
    data = json.loads(raw)
    return OfflineActivity(key=data["key"], mu_id=data["mu_id"], name=data["name"],
                           category=ActivityCategory(data["category"]), code_id=data["code_id"],
                           start=datetime.fromisoformat(data["start"]), end=datetime.fromisoformat(data["end"]),
                           attendees=tuple(data["attendees"]), facilitator=data["facilitator"])


class RedisActivityLog(_Base):
    """The WFM write-back of the simulator: activities kept in Redis and overlaid on the schedules."""

    async def write_activity(self, activity: OfflineActivity) -> str:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(self.keys.activities(activity.mu_id), activity.key, _activity_json(activity))
            pipe.zadd(self.keys.activity_starts(activity.mu_id), {activity.key: activity.start.timestamp()}, nx=True)
            pipe.hset(self.keys.activity_index, activity.key, activity.mu_id)
            for name in (self.keys.activities(activity.mu_id), self.keys.activity_starts(activity.mu_id),
                         self.keys.activity_index):
                pipe.pexpire(name, self._ttl_ms)
            await pipe.execute()
        return activity.key

    async def cancel_activity(self, key: str) -> None:
        mu_id = await self.redis.hget(self.keys.activity_index, key)
        if mu_id is None:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.activities(_text(mu_id)), key)
            pipe.zrem(self.keys.activity_starts(_text(mu_id)), key)
            pipe.hdel(self.keys.activity_index, key)
            await pipe.execute()

    async def activities(self, mu_id: str, start: datetime, end: datetime) -> Sequence[OfflineActivity]:
        # Activities are at most a day long: look back a day from the window's start.
        keys = [_text(k) for k in await self.redis.zrangebyscore(
            self.keys.activity_starts(mu_id), (start - timedelta(days=1)).timestamp(), end.timestamp())]
        if not keys:
            return []
        raw = await self.redis.hmget(self.keys.activities(mu_id), keys)
        found = [_activity(r) for r in raw if r is not None]
        return [a for a in found if a.end > start and a.start < end]


# Book a room only if no other booking overlaps; the same key again is a no-op (idempotent).
_BOOK_ROOM = """
local entries = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2])
for _, entry in ipairs(entries) do
  local s, e, key = string.match(entry, '^([^|]+)|([^|]+)|(.*)$')
  if key == ARGV[3] then return 1 end
  if tonumber(e) > tonumber(ARGV[1]) then return 'taken:' .. key end
end
local entry = ARGV[1] .. '|' .. ARGV[2] .. '|' .. ARGV[3]
redis.call('ZADD', KEYS[1], ARGV[1], entry)
redis.call('HSET', KEYS[2], ARGV[3], ARGV[5] .. '|' .. entry)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
"""


class RedisRoomCalendar(_Base):
    """Rooms from the config, bookings in Redis (the default when Microsoft Graph is not configured)."""

    def __init__(self, redis: Redis, keys: BookingKeys, ttl: timedelta = BOOKING_TTL) -> None:
        super().__init__(redis, keys, ttl)
        self._book = redis.register_script(_BOOK_ROOM)

    async def busy(self, room_ids: Sequence[str], start: datetime, end: datetime) -> Mapping[str, Sequence[Span]]:
        out: dict[str, list[Span]] = {}
        for room_id in room_ids:
            entries = await self.redis.zrangebyscore(self.keys.room(room_id), "-inf", f"({int(end.timestamp())}")
            spans = []
            for entry in entries:
                s, e, _key = _text(entry).split("|", 2)
                if int(e) > start.timestamp():
                    spans.append((datetime.fromtimestamp(int(s), UTC), datetime.fromtimestamp(int(e), UTC)))
            out[room_id] = spans
        return out

    async def book(self, booking: RoomBooking) -> str:
        result = await self._book(keys=[self.keys.room(booking.room_id), self.keys.room_index],
                                  args=[int(booking.start.timestamp()), int(booking.end.timestamp()), booking.key,
                                        self._ttl_ms, booking.room_id])
        text = _text(result) if isinstance(result, bytes | str) else str(result)
        if text.startswith("taken:"):
            raise RoomTaken(f"{booking.room_id} is booked by {text.removeprefix('taken:')}")
        return booking.key

    async def cancel(self, key: str) -> None:
        found = await self.redis.hget(self.keys.room_index, key)
        if found is None:
            return
        room_id, entry = _text(found).split("|", 1)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.room(room_id), entry)
            pipe.hdel(self.keys.room_index, key)
            await pipe.execute()
