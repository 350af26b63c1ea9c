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
from dataclasses import dataclass, field
from datetime import timedelta

from services.booking.model import BookingRequest, WorkItem, WorkOutcome
from services.booking.ports import Queued


@dataclass
class _Pending:
    consumer: str
    taken_at: float


@dataclass
class QueueState:
    """The stream and its consumer group: what survives a restart (Redis's part)."""

    submitted: set[str] = field(default_factory=set)
    entries: list[Queued] = field(default_factory=list)
    read_upto: int = 0  # entries[:read_upto] were handed to a consumer
    pending: dict[str, _Pending] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


class MemoryRequestQueue:
    """A restarted process makes a new queue over the same ``state``."""

    def __init__(self, state: QueueState | None = None, *, reclaim_after: timedelta = timedelta(minutes=2),
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.state = state or QueueState()
        self.reclaim_s, self._monotonic = reclaim_after.total_seconds(), monotonic

    async def submit(self, request: BookingRequest) -> bool:
        if request.id in self.state.submitted:
            return False
        self.state.submitted.add(request.id)
        self.state.entries.append(Queued(f"{len(self.state.entries) + 1}-0", request))
        self.state.arrived.set()
        return True

    async def take(self, consumer: str, block_ms: int = 0) -> Queued | None:
        now = self._monotonic()
        for item in self._in_order():  # 1. this consumer's unfinished request
            if self.state.pending[item.entry_id].consumer == consumer:
                return item
        for item in self._in_order():  # 2. one a dead consumer left long enough ago
            if now - self.state.pending[item.entry_id].taken_at >= self.reclaim_s:
                self.state.pending[item.entry_id] = _Pending(consumer, now)
                return item
        if self.state.read_upto == len(self.state.entries) and block_ms:  # 3. the next new one, waiting for it
            self.state.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.state.arrived.wait(), timeout=block_ms / 1000)
        if self.state.read_upto == len(self.state.entries):
            return None
        item = self.state.entries[self.state.read_upto]
        self.state.read_upto += 1
        self.state.pending[item.entry_id] = _Pending(consumer, self._monotonic())
        return item

    async def done(self, item: Queued) -> None:
        self.state.pending.pop(item.entry_id, None)

    async def pending(self) -> int:
        return len(self.state.pending)

    def _in_order(self) -> list[Queued]:
        return [item for item in self.state.entries[:self.state.read_upto] if item.entry_id in self.state.pending]


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
        self._outcomes: dict[str, WorkOutcome] = {}

    async def add(self, item: WorkItem) -> None:
        self._items[item.request.id] = item

    async def items(self) -> Sequence[WorkItem]:
        return sorted(self._items.values(), key=lambda i: (i.added_at.timestamp(), i.request.id))

    async def get(self, request_id: str) -> WorkItem | None:
        return self._items.get(request_id)

    async def remove(self, request_id: str) -> None:
        self._items.pop(request_id, None)

    async def resolve(self, request_id: str, outcome: WorkOutcome) -> WorkItem | None:
        # No await between the check and the write: atomic on the event loop, as the Lua script is in Redis.
        item = self._items.pop(request_id, None)
        if item is not None:
            self._outcomes[request_id] = outcome
        return item

    async def outcome(self, request_id: str) -> WorkOutcome | None:
        return self._outcomes.get(request_id)
