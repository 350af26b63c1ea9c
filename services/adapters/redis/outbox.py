"""The monitor's outbox in Redis: one stream per unit read by the ``dispatch`` consumer group, with
delivered marks, retry state and parked entries (``RedisOutbox``, a part of ``RedisStore``).

An entry leaves the stream only once delivered (or given up, into the audit trail); a backlog
beyond ``backlog_warn`` is logged, never cut.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from services.adapters.redis.codec import event_from_json, event_to_json
from services.adapters.redis_keys import UnitKeys
from services.ports import OutboxEntry

log = logging.getLogger(__name__)

OUTBOX_GROUP = "dispatch"

# Delivered: mark it (its own key, with TTL), forget its retry state, and remove the entry from the
# stream. An emptied outbox may expire; the next commit that queues something makes it persistent.
_ACK = """
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
redis.call('DEL', KEYS[3])
redis.call('XACK', KEYS[1], ARGV[4], ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
if redis.call('XLEN', KEYS[1]) == 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return 1
"""


class RedisOutbox:
    """The outbox methods of ``RedisStore`` (a dataclass that provides these attributes)."""

    redis: Redis
    audit_ttl: timedelta
    backlog_warn: int
    _groups: set[str]

    def keys(self, mu_id: str) -> UnitKeys:
        raise NotImplementedError

    @property
    def _ttl_s(self) -> int:
        raise NotImplementedError

    def _register_outbox_scripts(self) -> None:
        self._ack_script = self.redis.register_script(_ACK)

    async def ensure_outbox_group(self, mu_id: str, *, force: bool = False) -> None:
        if mu_id in self._groups and not force:
            return
        try:
            await self.redis.xgroup_create(self.keys(mu_id).outbox, OUTBOX_GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._groups.add(mu_id)

    async def read_outbox(self, mu_id: str, consumer: str, count: int = 200,
                          claim_idle: timedelta = timedelta(seconds=60)) -> list[OutboxEntry]:
        """This consumer's pending entries first (in order), then any abandoned by a dead consumer,
        then new ones. A group that vanished (Redis emptied, or the idle outbox expired) is recreated."""
        await self.ensure_outbox_group(mu_id)
        try:
            rows = await self._read_rows(mu_id, consumer, count, claim_idle)
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            log.warning("outbox group of %s was gone; recreating it", mu_id)
            await self.ensure_outbox_group(mu_id, force=True)
            rows = await self._read_rows(mu_id, consumer, count, claim_idle)
        seen: set[str] = set()
        out: list[OutboxEntry] = []
        for entry_id, fields in sorted(rows, key=lambda row: _stream_id(row[0])):
            if entry_id in seen or not fields:
                continue
            seen.add(entry_id)
            try:
                out.append(OutboxEntry(entry_id, event_from_json(fields["event"])))
            except (KeyError, ValueError):
                log.error("parking unreadable outbox entry %s of %s in the audit trail", entry_id, mu_id)
                await self._park(mu_id, entry_id, {"kind": "unreadable_outbox_entry", "entry": entry_id, **fields})
        return out

    async def _read_rows(self, mu_id: str, consumer: str, count: int,
                         claim_idle: timedelta) -> list[tuple[str, dict[str, str]]]:
        # The three reads in one round trip (every drain makes it, for every unit, mostly to find nothing);
        # Redis still runs them in this order. A failed one (NOGROUP) raises from execute().
        key = self.keys(mu_id).outbox
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xreadgroup(OUTBOX_GROUP, consumer, {key: "0"}, count=count)
            pipe.xautoclaim(key, OUTBOX_GROUP, consumer, min_idle_time=int(claim_idle.total_seconds() * 1000),
                            count=count)
            pipe.xreadgroup(OUTBOX_GROUP, consumer, {key: ">"}, count=count)
            pending, (_, abandoned, _), fresh = await pipe.execute()
        return [*_rows(pending), *abandoned, *_rows(fresh)]

    async def was_delivered(self, mu_id: str, delivery_key: str) -> bool:
        return bool(await self.redis.exists(self.keys(mu_id).delivered(delivery_key)))

    async def mark_delivered(self, mu_id: str, entry: OutboxEntry, when: datetime) -> None:
        """Delivered: recorded (so a replay repeats nothing) and removed from the outbox."""
        keys = self.keys(mu_id)
        await self._ack_script(keys=[keys.outbox, keys.delivered(entry.delivery_key), keys.retry(entry.entry_id)],
                               args=[entry.entry_id, when.isoformat(), self._ttl_s, OUTBOX_GROUP])

    async def mark_step_delivered(self, mu_id: str, key: str, when: datetime) -> None:
        await self.redis.set(self.keys(mu_id).delivered(key), when.isoformat(), ex=self._ttl_s)


    async def retry_state(self, mu_id: str, entry_id: str) -> tuple[int, datetime | None]:
        body = await self.redis.get(self.keys(mu_id).retry(entry_id))
        if not body:
            return 0, None
        data = json.loads(body)
        return int(data["attempts"]), datetime.fromisoformat(data["next_at"])

    async def schedule_retry(self, mu_id: str, entry_id: str, attempts: int, next_at: datetime) -> None:
        await self.redis.set(self.keys(mu_id).retry(entry_id),
                             json.dumps({"attempts": attempts, "next_at": next_at.isoformat()}), ex=self._ttl_s)

    async def give_up(self, mu_id: str, entry: OutboxEntry) -> None:
        """Park an entry that kept failing: out of the outbox, into the audit trail."""
        await self._park(mu_id, entry.entry_id, {
            "kind": "delivery_failed", "incident": entry.event.incident.id, "agent": entry.event.incident.agent_id,
            "event": event_to_json(entry.event)})

    async def _park(self, mu_id: str, entry_id: str, audit: Mapping[str, str]) -> None:
        keys = self.keys(mu_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            fields: dict[Any, Any] = dict(audit)
            pipe.xadd(keys.audit, fields, minid=self._audit_minid(), approximate=False)
            pipe.pexpire(keys.audit, int(self.audit_ttl.total_seconds() * 1000))
            pipe.delete(keys.retry(entry_id))
            pipe.xack(keys.outbox, OUTBOX_GROUP, entry_id)
            pipe.xdel(keys.outbox, entry_id)
            await pipe.execute()

    async def outbox_backlog(self, mu_id: str, now: datetime | None = None) -> tuple[int, timedelta | None]:
        """Undelivered entries of a unit and the age of the oldest (two cheap reads: XLEN and the first
        entry). Delivered entries are deleted, so the stream's length is the backlog. Logged at WARNING
        when at or above ``backlog_warn``: the bound reports, it never cuts."""
        key = self.keys(mu_id).outbox
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xlen(key)
            pipe.xrange(key, count=1)
            count, first = await pipe.execute()
        age: timedelta | None = None
        now = now or datetime.now(UTC)
        if first:
            _, fields = first[0]
            try:
                age = max(timedelta(0), now - event_from_json(fields["event"]).at)
            except (KeyError, ValueError):
                age = None
        if count >= self.backlog_warn:
            log.warning("outbox of %s holds %d undelivered entries (bound %d), the oldest %s old: deliveries "
                        "are failing or slower than incidents arrive; nothing is dropped", mu_id, count,
                        self.backlog_warn, age)
        return int(count), age


    def _audit_minid(self) -> int:
        """Audit entries older than ``audit_ttl`` (by their id's time) are trimmed on the next write."""
        return max(0, int((time.time() - self.audit_ttl.total_seconds()) * 1000))


def _rows(response: Any) -> list[tuple[str, dict[str, str]]]:
    rows: list[tuple[str, dict[str, str]]] = []
    for _stream, entries in response or []:
        rows.extend(entries)
    return rows


def _stream_id(entry_id: str) -> tuple[int, int]:
    millis, _, seq = entry_id.partition("-")
    return int(millis), int(seq or 0)

