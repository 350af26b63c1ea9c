"""Jobs that a shutdown lets finish: one at a time, waited for within a grace period, then cancelled.

The monitor tick, the outbox drain and the drain after a Slack action all run through one
:class:`GracefulJobs`. On SIGTERM/SIGINT :meth:`GracefulJobs.stop` refuses new runs and waits up to
the grace period for the running one; only then is it cancelled. A cancelled delivery is not lost:
its outbox entry is acknowledged only after it was delivered, so it is retried on the next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]


class GracefulJobs:
    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._running: tuple[str, asyncio.Task[object]] | None = None
        self._stopping = False

    @property
    def stopping(self) -> bool:
        return self._stopping

    def guard(self, name: str, job: Job) -> Callable[[], Coroutine[Any, Any, None]]:
        """``job`` wrapped: skipped once stopping, never overlapping another guarded job."""

        async def run() -> None:
            if self._stopping:
                return
            try:
                async with self._lock:
                    if self._stopping:
                        return
                    task = asyncio.current_task()
                    assert task is not None
                    self._running = (name, task)
                    try:
                        await job()
                    finally:
                        self._running = None
            except asyncio.CancelledError:
                if not self._stopping:
                    raise
                # Shutdown ran out of grace (or the job was still queued): said once, no traceback.
                log.warning("%s cancelled at shutdown; undelivered work stays in the outbox for the next start",
                            name)

        return run

    async def stop(self, grace: float) -> bool:
        """Refuse new runs; wait up to ``grace`` seconds for the running job. False if it had to be cancelled."""
        self._stopping = True
        try:
            await asyncio.wait_for(self._lock.acquire(), grace)
            return True
        except TimeoutError:
            running = self._running
            if running is None:
                return True
            name, task = running
            log.warning("%s still running after the %.0fs shutdown grace; cancelling it", name, grace)
            task.cancel()
            await asyncio.wait({task}, timeout=5)
            return False
