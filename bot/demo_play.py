"""How the demo plays its day: on APScheduler against an accelerated clock (``make demo``), or stepped.

Both run the same jobs as the service (monitor tick, the surplus desk, the outbox drain). Stepped mode
owns its clock: the loop moves it on one tick interval after each tick, so simulated time goes as fast
as the machine allows and every run of a seed produces the same output (for tests and CI)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.demo_surplus import DemoSurplus
from bot.scheduler import build_scheduler
from services.clock import AcceleratedClock, ManualClock
from services.dispatch import OutboxDispatcher
from services.monitor import Monitor, TickReport


@dataclass(frozen=True, slots=True)
class DemoJobs:
    monitor: Monitor
    dispatcher: OutboxDispatcher
    surplus: DemoSurplus
    record: Callable[[TickReport, Monitor], None]  # the narrator's

    async def tick(self) -> None:
        self.record(await self.monitor.tick(), self.monitor)
        await self.surplus.tick(list(self.monitor.units))
        await self.drain()

    async def drain(self) -> None:
        await self.dispatcher.drain(list(self.monitor.units))


async def play_accelerated(jobs: DemoJobs, clock: AcceleratedClock, end: datetime, every: timedelta) -> None:
    """The service's tick and outbox jobs on APScheduler, every ``every`` real seconds, until ``end``
    (simulated); then what is left is delivered. How many ticks fit depends on the machine."""
    busy = asyncio.Lock()  # held while a job runs, so the end of the demo waits for it instead of cancelling it

    def guarded(job: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            async with busy:
                await job()
        return run

    scheduler = build_scheduler(tick=guarded(jobs.tick), drain=guarded(jobs.drain), tick_every=every,
                                drain_every=every)
    scheduler.start()
    try:
        while clock.now() < end:
            await asyncio.sleep(min(0.2, max(0.01, (end - clock.now()).total_seconds() / clock.speed)))
    finally:
        scheduler.pause()
        async with busy:  # shutting down cancels running jobs: let the one in progress finish first
            scheduler.shutdown(wait=False)
    await jobs.drain()  # delivers what is left


async def play_stepped(jobs: DemoJobs, clock: ManualClock, end: datetime, tick: timedelta) -> None:
    """Tick (monitor, surplus, outbox), then move the clock on one ``tick``, until ``end``: no wall clock,
    so the number of ticks, and what they produce, is the same on any machine."""
    while clock.now() < end:
        await jobs.tick()
        clock.advance(tick)
        await asyncio.sleep(0)  # let whatever waits on the clock (clock.sleep_until) run before the next tick
    await jobs.drain()  # delivers what is left
