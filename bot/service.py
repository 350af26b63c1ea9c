"""``python -m bot run``: the long-running service, wired from the environment.

Source: Genesys Cloud when GENESYS_* are set, else the simulator on the real clock. Chat and email:
Slack and SMTP when configured, else the console. The monitor and the outbox run on APScheduler, and
between ticks the due-time waker evaluates what is due at its instant and delivery runs after each
commit that produced events;
Slack arrives over Socket Mode (default) or HTTP (``--http``); ``/health`` is always served.

SIGTERM/SIGINT stop it gracefully: no new tick or drain starts, the running one gets
``monitor.shutdown_grace`` (10 s) to finish, then the Slack connection, the web server, the Genesys
WebSockets and Redis are closed and the process exits 0. Whatever could not finish stays in the
outbox and is delivered on the next start.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from bot.container import load_config
from bot.metrics import StateGauges
from bot.scheduler import build_scheduler
from bot.service_build import ServiceCore, build_core, check_slack_mode
from bot.service_jobs import add_booking_jobs, add_digest_job, add_surplus_job, deliver_on_commit
from bot.service_slack import SlackSide, start_slack
from bot.settings import Settings
from bot.shutdown import GracefulJobs
from handlers.http import HealthChecks, build_web_app
from services.adapters.redis_keys import BookingKeys
from services.due_waker import DueWaker
from services.health import HealthPolicy, ServiceHealth
from services.heap import freeze_long_lived
from services.surplus import SurplusDesk

log = logging.getLogger(__name__)


async def run_service(settings: Settings, *, http: bool = False, port: int = 3000,
                      stop: asyncio.Event | None = None, ephemeral_state: bool = False) -> int:
    config = load_config(settings)
    check_slack_mode(settings, http)
    if stop is None:  # run until SIGINT/SIGTERM (tests pass their own event instead)
        stop = stop_on_signals()
    core = await build_core(settings, config, ephemeral_state=ephemeral_state)
    return await ServiceRun(core, http=http, port=port).run(stop)


def stop_on_signals() -> asyncio.Event:
    """An event SIGINT/SIGTERM set; installed before anything starts, so a signal during start-up is graceful too."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


class ServiceRun:
    """One run of the built service: start its parts in order, serve until asked to stop, then stop
    them in the reverse order, each within the shutdown grace."""

    def __init__(self, core: ServiceCore, *, http: bool, port: int) -> None:
        self.core, self.http, self.port = core, http, port
        self.jobs = GracefulJobs()  # one job at a time; shutdown waits for the running one instead of cancelling it
        self.drain = self.jobs.guard("outbox drain", self._drain_outbox)
        self.tick = self.jobs.guard("monitor tick", self._tick_and_drain)
        tick_every = core.config.monitor.tick
        self.scheduler = build_scheduler(tick=self.tick, drain=self.drain, tick_every=tick_every,
                                         drain_every=tick_every)
        self.stop_workers = asyncio.Event()  # the booking worker, the due-time waker and the commit delivery
        self.workers: list[asyncio.Task[None]] = []
        self.slack = SlackSide()
        self.web: web.AppRunner | None = None

    async def run(self, stop: asyncio.Event) -> int:
        await self.core.source.start(self.core.monitor)
        await self.core.monitor.start()
        stopping = asyncio.create_task(stop.wait())
        first = await self._first_tick(stopping)
        surplus = self._start_scheduler()
        self._start_workers()
        self.slack = await start_slack(self.core, self.scheduler, http=self.http, surplus=surplus,
                                       after_action=self.drain)
        await self._serve_http()
        await stopping
        await self._stop(first)
        return 0

    async def _drain_outbox(self) -> None:
        await self.core.dispatcher.drain(self.core.monitor.owned_units())

    async def _tick_and_drain(self) -> None:
        await self.core.monitor.tick()
        await self.core.dispatcher.drain(self.core.monitor.owned_units())

    async def _first_tick(self, stopping: asyncio.Task[bool]) -> asyncio.Task[None]:
        """A first tick at once (the heartbeat is fresh as soon as /health answers), unless asked to stop."""
        first = asyncio.create_task(self.tick())
        await asyncio.wait({first, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if first.done():
            first.result()  # a first tick that failed outright (Redis unreachable) stops the start, as before
            # Rosters, schedules and tracks are loaded: keep full collections off them from now on.
            log.debug("%d long-lived objects frozen out of garbage collection", freeze_long_lived())
        return first

    def _start_scheduler(self) -> SurplusDesk | None:
        add_booking_jobs(self.scheduler, self.jobs, self.core)
        surplus = add_surplus_job(self.scheduler, self.jobs, self.core)
        add_digest_job(self.scheduler, self.core)
        self.scheduler.start()
        return surplus

    def _start_workers(self) -> None:
        """The booking queue's worker; tiers at their instant (not the tick's), and their cards handed to
        Slack/SMTP at once."""
        monitor, clock = self.core.monitor, self.core.clock
        waker = DueWaker(monitor, clock, max_wait=self.core.config.monitor.tick,
                         guard=lambda job: self.jobs.guard("due instants", job)())
        self.workers = [
            asyncio.create_task(self.core.bookings.service.run(f"booking-{monitor.replica_id}", self.stop_workers)),
            asyncio.create_task(waker.run(self.stop_workers)),
            asyncio.create_task(deliver_on_commit(monitor, self.drain, self.stop_workers)),
        ]

    async def _serve_http(self) -> None:
        """/health and /metrics always; /slack/events too with --http."""
        core, monitor = self.core, self.core.monitor
        monitor_config = core.config.monitor
        health = ServiceHealth(
            heartbeats=core.store, clock=core.clock, replica_id=monitor.replica_id,
            feed_down_since=core.source.feed_down_since, slack=self.slack.ok,
            policy=HealthPolicy(tick=monitor_config.tick, stale_after=monitor_config.stale_after,
                                max_outbox_age=monitor_config.health_outbox_age))
        gauges = StateGauges(core.store, lambda: monitor.units, BookingKeys(core.prefix))
        slack_app = self.slack.app if self.http else None
        self.web = web.AppRunner(build_web_app(slack_app, HealthChecks(health.check), metrics=gauges.refresh))
        await self.web.setup()
        await web.TCPSite(self.web, "0.0.0.0", self.port).start()
        log.info("serving %s/health and /metrics on port %d; monitoring every %s; Ctrl-C to stop",
                 "/slack/events and " if slack_app else "", self.port, monitor_config.tick)

    async def _stop(self, first: asyncio.Task[None]) -> None:
        grace = self.core.grace
        log.info("stopping: letting the running tick and deliveries finish (grace %.0fs)", grace)
        finished = await self.jobs.stop(grace)
        if first.done() and not first.cancelled() and first.exception() is not None:
            log.error("the first tick failed: %s", first.exception())
        self.scheduler.shutdown(wait=False)  # nothing of ours is running any more; queued runs return at once
        await self._stop_workers(grace)
        try:
            await asyncio.wait_for(self.core.monitor.close(), grace)  # pushed live states not yet committed
        except Exception:
            log.warning("pushed live states could not be committed at shutdown; the next tick re-reads them",
                        exc_info=True)
        await self.slack.close()
        if self.web is not None:
            await self.web.cleanup()
        await self.core.source.stop()  # closes the Genesys WebSockets
        await self.core.ownership.leave()  # the other replicas take this one's units at their next tick
        await self.core.redis.aclose()
        log.info("stopped%s", "" if finished else " (unfinished deliveries stay in the outbox)")

    async def _stop_workers(self, grace: float) -> None:
        self.stop_workers.set()
        worker, *timers = self.workers
        try:
            await asyncio.wait_for(worker, grace)
        except TimeoutError:
            log.warning("the booking worker did not stop within %.0fs; its request stays queued", grace)
        await asyncio.gather(*timers)
