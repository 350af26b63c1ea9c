"""``python -m bot run``: the long-running service, wired from the environment.

Source: Genesys Cloud when GENESYS_* are set, else the simulator on the real clock. Chat and email:
Slack and SMTP when configured, else the console. The monitor and the outbox run on APScheduler.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.container import load_config
from bot.redis_conn import connect_redis
from bot.scheduler import build_scheduler
from bot.settings import Settings
from services.adapters.console import ConsoleChat, ConsoleMailer
from services.adapters.redis.store import RedisStore
from services.adapters.simulated import SimulatedContactCenter
from services.clock import SystemClock
from services.dispatch import OutboxDispatcher
from services.monitor import Monitor

log = logging.getLogger(__name__)


async def run_service(settings: Settings, *, http: bool = False, port: int = 3000) -> int:
    config = load_config(settings)
    clock = SystemClock()
    redis, where = await connect_redis(settings.redis_url)
    log.info("state: %s", where)
    if settings.has_genesys:
        log.error("Genesys credentials are set, but this build has no Genesys adapter wired yet")
        return 2
    sim = SimulatedContactCenter.build(config.simulator, clock)
    log.info("WFM source: the simulated contact center (no GENESYS_* credentials set)")
    if settings.has_slack:
        log.warning("SLACK_BOT_TOKEN is set, but this build renders cards to the console")
    store = RedisStore(redis, prefix=settings.redis_prefix)
    monitor = Monitor(source=sim, store=store, config=config, clock=clock)
    dispatcher = OutboxDispatcher(store=store, chat=ConsoleChat(), email=ConsoleMailer(), coaching=sim,
                                  rosters=monitor.roster, clock=clock, config=config)
    await monitor.start()

    async def tick() -> None:
        await monitor.tick()
        await dispatcher.drain(list(monitor.units))

    async def drain() -> None:
        await dispatcher.drain(list(monitor.units))

    scheduler = build_scheduler(tick=tick, drain=drain, tick_every=config.monitor.tick,
                                drain_every=config.monitor.tick)
    scheduler.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("monitoring every %s; Ctrl-C to stop", config.monitor.tick)
    await stop.wait()
    scheduler.shutdown(wait=False)
    await redis.aclose()
    return 0
