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
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web
from pydantic import SecretStr
from slack_bolt.async_app import AsyncApp

from bot.booking_wiring import BookingStack
from bot.container import (
    ChatWiring,
    build_booking,
    build_chat,
    build_digest_mailer,
    build_mailer,
    build_source,
    build_surplus,
    build_teams,
    load_config,
    searching_coaching,
)
from bot.metrics import StateGauges
from bot.redis_conn import EPHEMERAL, connect_redis, ephemeral_redis
from bot.scheduler import build_scheduler
from bot.settings import Settings
from bot.shutdown import GracefulJobs
from handlers.app import build_app
from handlers.booking import BookingHandlerDeps, SlackProgressNotifier
from handlers.booking.notifier import SlackAttendancePrompt
from handlers.booking.optimise import optimise_command
from handlers.deps import HandlerDeps
from handlers.digest_notifier import SlackDigestNotifier
from handlers.http import HealthChecks, build_web_app
from handlers.socket_mode import socket_connected, socket_mode_handler
from handlers.surplus import SlackSurplusNotifier
from services.adapters.booking.console import ConsoleNotifier
from services.adapters.booking.optimise_store import RedisOptimiseStore
from services.adapters.booking.redis_stores import RedisTemplates
from services.adapters.redis.digest import RedisAuditHistory, RedisDigestLedger
from services.adapters.redis.history import RedisAdherenceHistory
from services.adapters.redis.neutral import RedisNeutralWindows
from services.adapters.redis.replicas import RedisReplicaRegistry
from services.adapters.redis.store import RedisStore
from services.adapters.redis_keys import BookingKeys
from services.booking.attendance import AttendanceDesk
from services.booking.holds import HoldDesk
from services.booking.intake import BookingIntake
from services.booking.optimise import OptimiseUpcoming
from services.booking.ports import ProgressNotifier
from services.booking.recurring import RecurringTemplates
from services.booking.targeting import Targeting
from services.clock import SystemClock
from services.config import ConfigError, OrgConfig
from services.digest import DigestNotifier, WeeklyDigests
from services.dispatch import OutboxDispatcher
from services.domain.model import Person
from services.due_waker import DueWaker
from services.health import HealthPolicy, ServiceHealth
from services.heap import freeze_long_lived
from services.incident_actions import IncidentActions
from services.monitor import Monitor
from services.neutral import NeutralDesk
from services.queries import AdherenceQueries
from services.replicas import UnitOwnership, default_replica_id
from services.surplus import SurplusDesk

log = logging.getLogger(__name__)


async def run_service(settings: Settings, *, http: bool = False, port: int = 3000,
                      stop: asyncio.Event | None = None, ephemeral_state: bool = False) -> int:
    config = load_config(settings)
    if settings.has_slack and http and settings.slack_signing_secret is None:
        raise ConfigError("--http needs SLACK_SIGNING_SECRET (Slack signs every request with it)")
    if settings.has_slack and not http and settings.slack_app_token is None:
        raise ConfigError("Socket Mode needs SLACK_APP_TOKEN (xapp-…); or run with --http and SLACK_SIGNING_SECRET")
    if stop is None:  # run until SIGINT/SIGTERM (tests pass their own event instead)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):  # installed first: a signal during start-up is graceful too
            loop.add_signal_handler(sig, stop.set)
    grace = config.monitor.shutdown_grace.total_seconds()
    clock = SystemClock()
    # No silent stand-in: without --ephemeral-state an unreachable REDIS_URL stops the service here.
    redis, where = ((ephemeral_redis(), EPHEMERAL) if ephemeral_state
                    else await connect_redis(settings.redis_url, cluster=settings.redis_cluster))
    source = await build_source(settings, config, clock)
    store = RedisStore(redis, prefix=settings.redis_prefix)
    # Replicas share the units (rendezvous hash over the live replicas); a dead one's move after 3 ticks.
    replica_id = default_replica_id()
    ownership = UnitOwnership(RedisReplicaRegistry(redis, settings.redis_prefix), replica_id,
                              lease=config.monitor.tick * 3)
    neutral = RedisNeutralWindows(redis, settings.redis_prefix)
    monitor = Monitor(source=source.workforce, store=store, config=config, clock=clock, replica_id=replica_id,
                      ownership=ownership, neutral=neutral)
    chat = build_chat(settings, config, redis)
    mailer, mail_where = build_mailer(settings)
    notifier: ProgressNotifier = SlackProgressNotifier(chat.client) if chat.client else ConsoleNotifier()
    bookings, rooms_where = build_booking(settings, config, redis, source.workforce, clock, notifier=notifier,
                                           genesys=source.genesys)
    templates = RecurringTemplates(RedisTemplates(redis, BookingKeys(settings.redis_prefix)), bookings.service,
                                   bookings.data, notifier, bookings.config.recurring_period)
    intake = BookingIntake(bookings.service, templates, period=bookings.config.recurring_period)
    dispatcher = OutboxDispatcher(store=store, chat=chat.chat, email=mailer,
                                  coaching=searching_coaching(source.coaching, bookings),
                                  rosters=monitor.roster, clock=clock, config=config, consumer=replica_id,
                                  exception_writer=source.exception_writer, teams=build_teams(config))
    log.info("state: %s; WFM: %s; chat: %s; email: %s; booking: %s", where, source.description, chat.description,
             mail_where, rooms_where)
    await source.start(monitor)
    await monitor.start()

    jobs = GracefulJobs()  # one job at a time; shutdown waits for the running one instead of cancelling it

    async def drain_outbox() -> None:
        await dispatcher.drain(monitor.owned_units())

    async def tick_and_drain() -> None:
        await monitor.tick()
        await dispatcher.drain(monitor.owned_units())

    drain = jobs.guard("outbox drain", drain_outbox)
    tick = jobs.guard("monitor tick", tick_and_drain)
    # A first tick at once (the heartbeat is fresh as soon as /health answers), unless asked to stop.
    first = asyncio.create_task(tick())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({first, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if first.done():
        first.result()  # a first tick that failed outright (Redis unreachable) stops the start, as before
        # Rosters, schedules and tracks are loaded: keep full collections off them from now on.
        log.debug("%d long-lived objects frozen out of garbage collection", freeze_long_lived())
    scheduler = build_scheduler(tick=tick, drain=drain, tick_every=config.monitor.tick,
                                drain_every=config.monitor.tick)
    scheduler.add_job(jobs.guard("booking templates", _templates_job(intake, clock)), "interval", hours=1,
                      id="booking-templates", max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
    scheduler.add_job(_holds_job(bookings.holds), "interval", minutes=1, id="booking-holds", max_instances=1,
                      coalesce=True)
    # Training in surplus (docs/surplus.md): offers go by Slack DM, so it needs Slack and a unit that has it on.
    surplus = None
    if chat.client is not None and (config.surplus.enabled or any(u.enabled for u in config.surplus.units.values())):
        surplus = build_surplus(settings, config, redis, source.workforce, clock, bookings,
                                SlackSurplusNotifier(chat.client, source.workforce))
        scheduler.add_job(jobs.guard("surplus", _surplus_job(surplus, monitor)), "interval", minutes=1,
                          id="surplus", max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
    # The weekly digest: every 15 minutes, send what is due (each unit's day and time, in its zone) once.
    digest_notifiers: list[DigestNotifier] = [build_digest_mailer(settings)]
    if chat.client is not None:
        digest_notifiers.insert(0, SlackDigestNotifier(chat.client, chat.directory))
    digests = WeeklyDigests(audit=RedisAuditHistory(redis, settings.redis_prefix), board=store,
                            source=source.workforce, rosters=lambda: [u.roster for u in monitor.units.values()],
                            clock=clock, config=config.digest, ledger=RedisDigestLedger(redis, settings.redis_prefix),
                            notifiers=digest_notifiers,
                            history=RedisAdherenceHistory(redis, settings.redis_prefix))
    scheduler.add_job(digests.send_due, "cron", minute="*/15", id="weekly-digest", max_instances=1, coalesce=True)
    scheduler.start()
    stop_worker = asyncio.Event()
    worker = asyncio.create_task(bookings.service.run(f"booking-{monitor.replica_id}", stop_worker))

    # Tiers at their instant (not the tick's), and their cards handed to Slack/SMTP at once.
    waker = DueWaker(monitor, clock, max_wait=config.monitor.tick,
                     guard=lambda job: jobs.guard("due instants", job)())
    timers = [asyncio.create_task(waker.run(stop_worker)), asyncio.create_task(_deliver_on_commit(monitor, drain,
                                                                                                   stop_worker))]

    slack_ok: Callable[[], Awaitable[bool]] | None = None  # None: no Slack configured (console)
    slack_app = None
    socket = None
    if chat.client is not None:
        actions = IncidentActions(store=store, rosters=monitor.roster, directory=chat.directory, clock=clock,
                                  shift_ends=monitor.shift_end, reasons=config.explanation_reasons_for)
        queries = AdherenceQueries(monitor=monitor, store=store, directory=chat.directory, clock=clock)
        schedulers = await _scheduler_ids(config, bookings, chat)
        attendance = AttendanceDesk(bookings.registers, bookings.attendance, bookings.service.ledger, bookings.data,
                                    chat.directory, clock, schedulers=schedulers)
        scheduler.add_job(_attendance_job(attendance, SlackAttendancePrompt(chat.client)), "interval", minutes=5,
                          id="booking-attendance", max_instances=1, coalesce=True)
        written = bookings.service.writeback
        optimiser = OptimiseUpcoming(
            data=bookings.data, config=bookings.config, ledger=bookings.service.ledger, activities=written.activities,
            rooms=written.rooms, invites=written.invites, clock=clock, schedulers=frozenset(schedulers),
            store=RedisOptimiseStore(redis, BookingKeys(settings.redis_prefix)), changes=bookings.changes.store)
        booking_deps = BookingHandlerDeps(
            service=intake, rosters=bookings.data, units=source.workforce.management_units, config=bookings.config,
            clock=clock, registers=bookings.registers, schedulers=schedulers,
            trainers={p: config.people[p].name for p in bookings.config.trainers if p in config.people},
            holds=bookings.holds, changes=bookings.changes, attendance=attendance,
            targeting=Targeting(RedisAdherenceHistory(redis, settings.redis_prefix), clock),
            optimise=optimise_command(optimiser, source.workforce.management_units), optimiser=optimiser)
        desk = NeutralDesk(store=neutral, rosters=lambda: [u.roster for u in monitor.units.values()],
                           directory=chat.directory, clock=clock)
        slack_app = build_app(HandlerDeps(actions, queries, clock, booking=booking_deps, after_action=drain,
                                          neutral=desk, surplus=surplus),
                              signing_secret=_secret(settings.slack_signing_secret), token=None, client=chat.client)
        if http:
            slack_ok = _authenticated(slack_app)
        else:
            socket = socket_mode_handler(slack_app, _secret(settings.slack_app_token) or "")
            await socket.connect_async()  # type: ignore[no-untyped-call]
            handler = socket

            async def slack_ok_socket() -> bool:
                return await socket_connected(handler)

            slack_ok = slack_ok_socket

    health = ServiceHealth(
        heartbeats=store, clock=clock, replica_id=monitor.replica_id, feed_down_since=source.feed_down_since,
        slack=slack_ok, policy=HealthPolicy(tick=config.monitor.tick, stale_after=config.monitor.stale_after,
                                            max_outbox_age=config.monitor.health_outbox_age))
    gauges = StateGauges(store, lambda: monitor.units, BookingKeys(settings.redis_prefix))
    runner = web.AppRunner(build_web_app(slack_app if http else None, HealthChecks(health.check),
                                         metrics=gauges.refresh))
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", port).start()
    log.info("serving %s/health and /metrics on port %d; monitoring every %s; Ctrl-C to stop",
             "/slack/events and " if http and slack_app else "", port, config.monitor.tick)

    await stopping
    log.info("stopping: letting the running tick and deliveries finish (grace %.0fs)", grace)
    finished = await jobs.stop(grace)
    if first.done() and not first.cancelled() and first.exception() is not None:
        log.error("the first tick failed: %s", first.exception())
    scheduler.shutdown(wait=False)  # nothing of ours is running any more; queued runs return at once
    stop_worker.set()
    try:
        await asyncio.wait_for(worker, grace)
    except TimeoutError:
        log.warning("the booking worker did not stop within %.0fs; its request stays queued", grace)
    await asyncio.gather(*timers)
    try:
        await asyncio.wait_for(monitor.close(), grace)  # pushed live states not yet committed
    except Exception:
        log.warning("pushed live states could not be committed at shutdown; the next tick re-reads them",
                    exc_info=True)
    if socket is not None:
        await socket.close_async()  # type: ignore[no-untyped-call]
    await runner.cleanup()
    await source.stop()  # closes the Genesys WebSockets
    await ownership.leave()  # the other replicas take this one's units at their next tick
    await redis.aclose()
    log.info("stopped%s", "" if finished else " (unfinished deliveries stay in the outbox)")
    return 0


async def _deliver_on_commit(monitor: Monitor, drain: Callable[[], Awaitable[None]], stop: asyncio.Event) -> None:
    """Drain the outbox as soon as a commit produced events (a tier fired at its due instant, a pushed
    state change), not at the next tick."""
    while not stop.is_set():
        ready, stopping = asyncio.ensure_future(monitor.outbox_ready.wait()), asyncio.ensure_future(stop.wait())
        await asyncio.wait([ready, stopping], return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        stopping.cancel()
        if stop.is_set():
            return
        monitor.outbox_ready.clear()
        try:
            await drain()
        except Exception:
            log.exception("delivery after a commit failed; the next tick's drain retries it")


def _templates_job(intake: BookingIntake, clock: SystemClock) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        queued = await intake.run_templates(clock.now())
        if queued:
            log.info("recurring templates queued %d request(s) for new periods", len(queued))

    return run


def _attendance_job(attendance: AttendanceDesk, prompt: SlackAttendancePrompt) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        asked = await attendance.prompt_due(prompt)
        if asked:
            log.info("asked the facilitators of %d booking(s) to mark attendance", len(asked))

    return run


def _surplus_job(desk: SurplusDesk, monitor: Monitor) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        for mu_id in monitor.owned_units():  # each replica measures and offers for the units it ticks
            await desk.evaluate(mu_id)

    return run


def _holds_job(holds: HoldDesk) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        released = await holds.expire_due()
        if released:
            log.info("released %d tentative hold(s) that were not booked in time", len(released))

    return run


async def _scheduler_ids(config: OrgConfig, bookings: BookingStack, chat: ChatWiring) -> frozenset[str]:
    """Slack ids of ``[booking] schedulers`` (config id, else looked up by email); the use cases get them too."""
    ids = set(bookings.holds.schedulers)
    for key in bookings.config.schedulers:
        person = config.people[key]
        if person.slack_user_id:
            continue
        found = await chat.directory.user_id_for(Person(key, person.name, person.email))
        if found:
            ids.add(found)
        else:
            log.warning("scheduler %s has no slack_user_id and %s is not found in Slack", key, person.email)
    if not bookings.config.schedulers:
        log.warning("no [booking] schedulers configured: only requesters may cancel their own queued requests")
    bookings.holds.schedulers = bookings.changes.schedulers = frozenset(ids)
    return frozenset(ids)


async def _always_true() -> bool:
    return True


def _authenticated(app: AsyncApp) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        response = await app.client.auth_test()
        return bool(response.get("ok"))

    return check


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
