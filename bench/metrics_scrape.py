"""Cost of the metrics: one ``/metrics`` scrape (state gauges read from Redis + exposition) and the
per-tick recording calls, at N agents with open incidents and an undelivered outbox.

    python bench/metrics_scrape.py --agents 10000 [--scrapes 20]

Prints one JSON line. The monitor runs ``--minutes`` of ticks first (5 % of agents Away, so their
incidents open and the 5-minute tier fires into the outbox, which nothing drains).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import timeit
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis

from bench.monitor_tick import T0, TICK, SyntheticSource, percentile
from bot.metrics import StateGauges
from services import telemetry
from services.adapters.redis.store import RedisStore
from services.adapters.redis_keys import BookingKeys
from services.clock import ManualClock
from services.config import OrgConfig
from services.domain.escalation import EventKind
from services.monitor import Monitor


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--scrapes", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=6.0, help="simulated minutes of ticks before scraping")
    args = parser.parse_args()

    redis = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), decode_responses=True)
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    clock = ManualClock(T0)
    source = SyntheticSource(args.agents, 0.05, clock, 1)
    store = RedisStore(redis, prefix)
    monitor = Monitor(source=source, store=store, config=OrgConfig(), clock=clock, replica_id="bench")
    metrics = telemetry.install()
    try:
        events = []
        while clock.now() <= T0 + TICK * int(args.minutes * 60 / TICK.total_seconds()):
            report = await monitor.tick()
            events += report.events
            source.advance()
            clock.advance(TICK)
        gauges = StateGauges(store, lambda: monitor.units, BookingKeys(prefix))
        times, size = [], 0
        for _ in range(args.scrapes):
            started = time.perf_counter()
            await gauges.refresh()
            size = len(metrics.exposition())
            times.append((time.perf_counter() - started) * 1000)
        mu_id = next(iter(monitor.units))

        async def record() -> None:  # what one tick of one unit adds: the timer and the evaluated/tier calls
            async with telemetry.unit_tick(mu_id):
                telemetry.unit_evaluated(mu_id, args.agents, ())

        loop_runs = 2000
        started = time.perf_counter()
        for _ in range(loop_runs):
            await record()
        per_tick_us = (time.perf_counter() - started) / loop_runs * 1e6
        fired = [e for e in events if e.kind is EventKind.TIER_FIRED][:1]
        per_tier_us = timeit.timeit(lambda: telemetry.tiers_fired(mu_id, fired), number=2000) / 2000 * 1e6
        result: dict[str, Any] = {
            "agents": args.agents,
            "open_incidents": sum(s.value for s in _samples(metrics, "adherence_incidents_open")),
            "outbox_backlog": sum(s.value for s in _samples(metrics, "adherence_outbox_backlog")),
            "scrape_ms_p50": round(statistics.median(times), 1),
            "scrape_ms_p95": round(percentile(times, 0.95), 1),
            "exposition_bytes": size,
            "recording_us_per_unit_tick": round(per_tick_us, 1),
            "recording_us_per_tier_event": round(per_tier_us, 2),
        }
        print(json.dumps(result))
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def _samples(metrics: telemetry.Telemetry, name: str) -> list[Any]:
    return [s for family in metrics.registry.collect() if family.name == name for s in family.samples]


if __name__ == "__main__":
    asyncio.run(main())
