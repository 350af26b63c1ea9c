"""The state-change callbacks of the Genesys source: pushed ones called at once, awaited ones run by
a small worker pool, one evaluation at a time per agent (changes queued meanwhile coalesce)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from services.adapters.genesys.live import LiveStateTable
from services.domain.model import AgentState
from services.ports import StateChanged

log = logging.getLogger(__name__)

StatePushed = Callable[[str, AgentState], None]


class StateCallbacks:
    def __init__(self, table: LiveStateTable) -> None:
        self.table = table
        self.enabled = False  # the source turns it on once started (no callbacks for the first load)
        self.awaited: list[StateChanged] = []
        self.pushed: list[StatePushed] = []
        self._queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._queued: set[tuple[str, str]] = set()
        self._in_flight: set[tuple[str, str]] = set()
        self._again: set[tuple[str, str]] = set()

    def workers(self, count: int) -> list[asyncio.Task[None]]:
        return [asyncio.create_task(self._worker(), name=f"genesys-callbacks-{i}") for i in range(count)]

    def notify(self, agent_id: str) -> None:
        """Hand the new state to the pushed callbacks now; queue an evaluation of this agent for the
        awaited ones (repeated changes before it runs coalesce into one)."""
        if not self.enabled or not (self.awaited or self.pushed):
            return
        mu_id = self.table.unit_of(agent_id)
        if mu_id is None:
            return
        state = self.table.get(agent_id) if self.pushed else None
        if state is not None:
            for pushed in self.pushed:
                try:
                    pushed(mu_id, state)
                except Exception:
                    log.exception("state-pushed callback failed for %s", agent_id)
        if not self.awaited:
            return
        key = (mu_id, agent_id)
        if key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    async def _worker(self) -> None:
        while True:
            key = await self._queue.get()
            self._queued.discard(key)
            if key in self._in_flight:
                self._again.add(key)  # the worker handling it re-queues it when done: one at a time per agent
                continue
            self._in_flight.add(key)
            try:
                await self._run(key)
            finally:
                self._in_flight.discard(key)
                if key in self._again:
                    self._again.discard(key)
                    self.notify(key[1])

    async def _run(self, key: tuple[str, str]) -> None:
        state = self.table.get(key[1])
        if state is None:
            return
        for callback in self.awaited:
            try:
                await callback(key[0], state)
            except Exception:
                log.exception("state-changed callback failed for %s", key[1])
