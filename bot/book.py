"""``python -m bot book``: book offline activities from the terminal through the same FCFS queue,
slot search and write-back as ``/book-meeting``."""

from __future__ import annotations

import argparse
import uuid
from datetime import UTC, datetime

from bot.container import build_source, load_config, simulated_day
from bot.redis_conn import connect_redis
from bot.settings import Settings
from services.adapters.simulated import day_start
from services.booking.cli import run_book
from services.clock import ManualClock, SystemClock
from services.ports import Clock


async def run_book_command(settings: Settings, args: argparse.Namespace) -> int:
    config = load_config(settings)
    redis, where = await connect_redis(settings.redis_url, cluster=settings.redis_cluster)
    clock: Clock
    if settings.has_genesys:
        clock = SystemClock()
    else:
        # The simulator plays one day: book as of the start of that day, so the day is still ahead.
        clock = ManualClock(day_start(config.simulator, simulated_day(datetime.now(UTC).date())))
    source = await build_source(settings, config, clock)
    # A demo run books into its own keys, so running it twice shows the same thing twice.
    prefix = f"{settings.redis_prefix}-bookdemo-{uuid.uuid4().hex[:6]}" if args.demo else settings.redis_prefix
    print(f"State: {where}; WFM: {source.description}; now {clock.now():%Y-%m-%d %H:%M} UTC")
    try:
        if source.genesys is not None:
            await source.genesys.start()
        return await run_book(args, source=source.workforce, org=config, clock=clock, redis=redis, prefix=prefix)
    finally:
        await source.stop()
        await redis.aclose()
