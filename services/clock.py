"""Clocks: the only place that reads real time. Everything else is handed a clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime) -> None:
        delay = (when - self.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)


class ManualClock:
    """A clock tests and benchmarks move by hand."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start
        self._sleepers: list[asyncio.Future[None]] = []

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        self._wake()
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when
        self._wake()

    async def sleep_until(self, when: datetime) -> None:
        """Returns once the clock has been moved to ``when`` or later (never by wall-clock time)."""
        while self._now < when:
            waiter = asyncio.get_running_loop().create_future()
            self._sleepers.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._sleepers:
                    self._sleepers.remove(waiter)

    def _wake(self) -> None:
        for waiter in self._sleepers:
            if not waiter.done():
                waiter.set_result(None)
        self._sleepers = []


class AcceleratedClock:
    """Simulated time that runs ``speed`` times faster than real time from ``start``."""

    def __init__(self, start: datetime, speed: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._start, self.speed, self._monotonic = start, speed, monotonic
        self._origin = monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(self._monotonic() - self._origin) * self.speed)

    async def sleep_until(self, when: datetime) -> None:
        delay = (when - self.now()).total_seconds() / self.speed
        if delay > 0:
            await asyncio.sleep(delay)
