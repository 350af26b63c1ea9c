"""The booking queue, ledger and manual work queue in memory, with the semantics of their Redis
adapters (``services/adapters/booking/redis_queue.py``, ``redis_stores.py``).

The request queue is a consumer group over one stream: a request id is accepted once; ``take``
returns what this consumer took and never finished, then what another consumer left for
``reclaim_after``, then the next new request (waiting up to ``block_ms`` for one); ``done``
acknowledges. Idle times are measured on ``monotonic``, as Redis measures them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from services.booking.model import BookingRequest, WorkItem
from services.booking.ports import Queued


@dataclass
class _Pending:
    consumer: str
    taken_at: float


class MemoryRequestQueue:
    def __init__(self, *, reclaim_after: timedelta = timedelta(minutes=2),
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.reclaim_s, self._monotonic = reclaim_after.total_seconds(), monotonic
        self._submitted: set[str] = set()
        self._entries: list[Queued] = []
        self._read_upto = 0
        self._pending: dict[str, _Pending] = {}
        self._arrived = asyncio.Event()

    async def submit(self, request: BookingRequest) -> bool:
        if request.id in self._submitted:
            return False
        self._submitted.add(request.id)
        self._entries.append(Queued(f"{len(self._entries) + 1}-0", request))
        self._arrived.set()
        return True

    async def take(self, consumer: str, block_ms: int = 0) -> Queued | None:
        now = self._monotonic()
        for item in self._in_order():  # 1. this consumer's unfinished request
            if self._pending[item.entry_id].consumer == consumer:
                return item
        for item in self._in_order():  # 2. one a dead consumer left long enough ago
            if now - self._pending[item.entry_id].taken_at >= self.reclaim_s:
                self._pending[item.entry_id] = _Pending(consumer, now)
                return item
        if self._read_upto == len(self._entries) and block_ms:  # 3. the next new one, waiting for it
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout=block_ms / 1000)
        if self._read_upto == len(self._entries):
            return None
        item = self._entries[self._read_upto]
        self._read_upto += 1
        self._pending[item.entry_id] = _Pending(consumer, self._monotonic())
        return item

    async def done(self, item: Queued) -> None:
        self._pending.pop(item.entry_id, None)

    async def pending(self) -> int:
        return len(self._pending)

    def _in_order(self) -> list[Queued]:
        return [item for item in self._entries[:self._read_upto] if item.entry_id in self._pending]


class MemoryBookingLedger:
    def __init__(self) -> None:
        self._status: dict[str, str] = {}
        self._plans: dict[str, str] = {}
        self._steps: dict[str, set[str]] = {}
        self._requests: dict[str, BookingRequest] = {}

    async def status(self, request_id: str) -> str | None:
        return self._status.get(request_id)

    async def set_status(self, request_id: str, status: str) -> None:
        self._status[request_id] = str(status)

    async def plan(self, request_id: str) -> str | None:
        return self._plans.get(request_id)

    async def save_plan(self, request_id: str, plan_json: str) -> str:
        return self._plans.setdefault(request_id, plan_json)  # first writer wins

    async def step_done(self, request_id: str, step: str) -> bool:
        return step in self._steps.get(request_id, set())

    async def mark_step(self, request_id: str, step: str) -> None:
        self._steps.setdefault(request_id, set()).add(step)

    async def request(self, request_id: str) -> BookingRequest | None:
        return self._requests.get(request_id)

    async def save_request(self, request: BookingRequest) -> None:
        self._requests[request.id] = request


class MemoryWorkQueue:
    """Requests waiting for a person, oldest first (by ``added_at``, then id, as the sorted set orders)."""

    def __init__(self) -> None:
        self._items: dict[str, WorkItem] = {}

    async def add(self, item: WorkItem) -> None:
        self._items[item.request.id] = item

    async def items(self) -> Sequence[WorkItem]:
        return sorted(self._items.values(), key=lambda i: (i.added_at.timestamp(), i.request.id))

    async def get(self, request_id: str) -> WorkItem | None:
        return self._items.get(request_id)

    async def remove(self, request_id: str) -> None:
        self._items.pop(request_id, None)
