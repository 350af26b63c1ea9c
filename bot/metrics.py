"""What ``/metrics`` reads from Redis at each scrape: outbox backlog, open incidents, booking queue.

These describe shared state, not this process's work, so they are read when asked for (the same
figure on every replica) rather than counted as things happen.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from services import telemetry
from services.adapters.redis.store import OUTBOX_GROUP, RedisStore
from services.adapters.redis_keys import BOOKING_GROUP, BookingKeys

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StreamBacklog:
    count: int  # entries not acknowledged by the group: pending (taken) + never taken (lag)
    oldest_age: float | None  # seconds since the oldest of them was added; None when there are none


async def stream_backlog(redis: Redis, stream: str, group: str, now: float | None = None) -> StreamBacklog:
    """Backlog of a consumer group from XPENDING and XINFO GROUPS; entry ids carry their add time."""
    try:
        pending = await redis.xpending(stream, group)
        groups = await redis.xinfo_groups(stream)
    except ResponseError:  # no stream or no group yet: nothing waits
        return StreamBacklog(0, None)
    info = next((g for g in groups if _text(g.get("name")) == group), None)
    lag = int((info or {}).get("lag") or 0)
    oldest: list[int] = []
    if pending.get("pending") and pending.get("min"):
        oldest.append(_millis(pending["min"]))
    if lag and info is not None:  # the first entry after what the group has read
        after = _text(info.get("last-delivered-id") or "0-0")
        first = await redis.xrange(stream, min=f"({after}", count=1)
        if first:
            oldest.append(_millis(first[0][0]))
    count = int(pending.get("pending") or 0) + lag
    now_ms = (time.time() if now is None else now) * 1000
    age = max(0.0, (now_ms - min(oldest)) / 1000) if oldest else None
    return StreamBacklog(count, age)


class StateGauges:
    """Refreshes the shared-state gauges; ``units()`` names the units this process monitors."""

    def __init__(self, store: RedisStore, units: Callable[[], Iterable[str]], booking_keys: BookingKeys | None = None
                 ) -> None:
        self.store, self.units, self.booking_keys = store, units, booking_keys

    async def refresh(self) -> None:
        for mu_id in list(self.units()):
            await self._unit(mu_id)
        if self.booking_keys is not None:
            queue = await stream_backlog(self.store.redis, self.booking_keys.requests, BOOKING_GROUP)
            telemetry.set_booking_queue(queue.count)

    async def _unit(self, mu_id: str) -> None:
        count, age = telemetry.backlog_parts(await self.store.outbox_backlog(mu_id))
        if count and age is None:  # the store gives no age: read it (and the count) from the stream
            exact = await stream_backlog(self.store.redis, self.store.keys(mu_id).outbox, OUTBOX_GROUP)
            count, age = exact.count, exact.oldest_age
        telemetry.set_outbox(mu_id, count, age)
        telemetry.set_open_incidents(mu_id, (await self.store.load_tracks(mu_id)).values())


def _millis(entry_id: object) -> int:
    return int(_text(entry_id).split("-", 1)[0])


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
