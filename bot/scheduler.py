"""The in-process loop: APScheduler jobs for the monitor tick and the outbox."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)


def build_scheduler(*, tick: Callable[[], Awaitable[object]], drain: Callable[[], Awaitable[object]],
                    tick_every: timedelta, drain_every: timedelta) -> AsyncIOScheduler:
    """One tick job (never overlapping, missed runs coalesced) and one outbox job."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(tick, "interval", seconds=tick_every.total_seconds(), id="monitor-tick",
                      max_instances=1, coalesce=True, misfire_grace_time=max(1, int(tick_every.total_seconds())))
    scheduler.add_job(drain, "interval", seconds=drain_every.total_seconds(), id="outbox-drain",
                      max_instances=1, coalesce=True, misfire_grace_time=max(1, int(drain_every.total_seconds())))
    return scheduler
