"""Wakes the monitor at the earliest due instant of the units this replica owns, not only at the tick.

One asyncio task per process (``bot/service.py``): it reads the earliest instant in the due-time
index, sleeps on the injected clock until then (a ``ManualClock`` wakes it when a test moves it, never
wall-clock time), or until a commit moved an instant (``Monitor.due_changed``), and runs
``Monitor.run_due``. The tick stays the full reconciliation; this only makes what is due on time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from services.monitor import Monitor
from services.ports import SleepingClock

log = logging.getLogger(__name__)

#: After an instant that could not be moved on (claimed by a replica that died, a failed commit), wait
#: this long before trying it again instead of spinning; the next tick re-evaluates everyone anyway.
RETRY_AFTER = timedelta(seconds=1)


class DueWaker:
    def __init__(self, monitor: Monitor, clock: SleepingClock, *, max_wait: timedelta,
                 guard: Callable[[Callable[[], Awaitable[object]]], Awaitable[object]] | None = None) -> None:
        self.monitor, self.clock, self.max_wait = monitor, clock, max_wait
        self._guard = guard  # e.g. the service's shutdown lock around each evaluation
        self._stuck_at: datetime | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set: wait for the next due instant, evaluate what is due, again."""
        while not stop.is_set():
            try:
                await self.step(stop)
            except Exception:
                log.exception("due-time waker failed; retrying in %s", RETRY_AFTER)
                await self._wait(self.clock.now() + RETRY_AFTER, stop)

    async def step(self, stop: asyncio.Event | None = None) -> None:
        """One wait (until the earliest instant, a moved instant, ``max_wait`` or ``stop``) and, if an
        instant has come, one ``run_due``."""
        self.monitor.due_changed.clear()  # before the read: a commit after it wakes the wait below
        now = self.clock.now()
        earliest = await self.monitor.next_due_at()
        if earliest is not None and earliest <= now and earliest != self._stuck_at:
            await self._run_due()
            after = await self.monitor.next_due_at()
            self._stuck_at = earliest if after is not None and after <= earliest else None
            return
        if earliest is not None and earliest == self._stuck_at:
            target = now + RETRY_AFTER
            self._stuck_at = None
        else:
            target = now + self.max_wait if earliest is None else min(earliest, now + self.max_wait)
        await self._wait(target, stop)

    async def _run_due(self) -> None:
        if self._guard is None:
            await self.monitor.run_due()
        else:
            await self._guard(self.monitor.run_due)

    async def _wait(self, until: datetime, stop: asyncio.Event | None) -> None:
        waits = [asyncio.ensure_future(self.clock.sleep_until(until)),
                 asyncio.ensure_future(self.monitor.due_changed.wait())]
        if stop is not None:
            waits.append(asyncio.ensure_future(stop.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
            for task in waits:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
