"""``python -m bot digest --since 7d``: the weekly digest of every unit, printed in the terminal.

Read from the Redis at REDIS_URL (the audit stream and the out-of-adherence seconds) with the WFM
source's roster and schedules; nothing is sent.
"""

from __future__ import annotations

from datetime import timedelta

from bot.container import build_source, load_config
from bot.redis_conn import connect_redis
from bot.settings import Settings
from services.adapters.redis.digest import RedisAuditHistory
from services.adapters.redis.store import RedisStore
from services.clock import SystemClock
from services.digest import WeeklyDigests, render_text
from services.routing import apply_org_routing


async def run_digest(settings: Settings, since: timedelta) -> int:
    config = load_config(settings)
    clock = SystemClock()
    redis, _where = await connect_redis(settings.redis_url, cluster=settings.redis_cluster)
    source = await build_source(settings, config, clock)
    try:
        units = await source.workforce.management_units()
        rosters = [apply_org_routing(await source.workforce.roster(mu.id), config) for mu in units]
        digests = WeeklyDigests(audit=RedisAuditHistory(redis, settings.redis_prefix),
                                board=RedisStore(redis, settings.redis_prefix), source=source.workforce,
                                rosters=lambda: rosters, clock=clock, config=config.digest)
        for digest in await digests.build_all(since):
            print(render_text(digest))
            print()
    finally:
        await source.stop()
        await redis.aclose()
    return 0
