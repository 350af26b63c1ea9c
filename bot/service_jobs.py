"""The service's scheduled jobs besides the tick and the drain (booking templates and holds, surplus,
the weekly digest, attendance prompts), and the delivery right after a commit.

Each job that touches shared state runs through the run's :class:`GracefulJobs`, so a shutdown lets
it finish instead of cancelling it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.container import build_digest_mailer, build_surplus
from bot.service_build import ServiceCore
from bot.shutdown import GracefulJobs
from handlers.booking.notifier import SlackAttendancePrompt
from handlers.digest_notifier import SlackDigestNotifier
from handlers.surplus import SlackSurplusNotifier
from services.adapters.redis.digest import RedisAuditHistory, RedisDigestLedger
from services.adapters.redis.history import RedisAdherenceHistory
from services.booking.attendance import AttendanceDesk
from services.booking.holds import HoldDesk
from services.booking.intake import BookingIntake
from services.clock import SystemClock
from services.digest import DigestNotifier, WeeklyDigests
from services.monitor import Monitor
from services.surplus import SurplusDesk

log = logging.getLogger(__name__)


def add_booking_jobs(scheduler: AsyncIOScheduler, jobs: GracefulJobs, core: ServiceCore) -> None:
    """Recurring templates queue their new periods (hourly, at once on start); unbooked holds expire."""
    scheduler.add_job(jobs.guard("booking templates", _templates_job(core.intake, core.clock)), "interval", hours=1,
                      id="booking-templates", max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
    scheduler.add_job(_holds_job(core.bookings.holds), "interval", minutes=1, id="booking-holds", max_instances=1,
                      coalesce=True)


def add_surplus_job(scheduler: AsyncIOScheduler, jobs: GracefulJobs, core: ServiceCore) -> SurplusDesk | None:
    """Training in surplus (docs/surplus.md): offers go by Slack DM, so it needs Slack and a unit that has it on."""
    config, client = core.config, core.chat.client
    if client is None or not (config.surplus.enabled or any(u.enabled for u in config.surplus.units.values())):
        return None
    surplus = build_surplus(core.settings, config, core.redis, core.source.workforce, core.clock, core.bookings,
                            SlackSurplusNotifier(client, core.source.workforce))
    scheduler.add_job(jobs.guard("surplus", _surplus_job(surplus, core.monitor)), "interval", minutes=1,
                      id="surplus", max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
    if config.surplus.watch_every:  # between the minute's evaluations: a sudden loss is recalled for at once
        scheduler.add_job(jobs.guard("surplus watch", _surplus_watch_job(surplus, core.monitor)), "interval",
                          seconds=config.surplus.watch_every.total_seconds(), id="surplus-watch", max_instances=1,
                          coalesce=True)
    return surplus


def add_digest_job(scheduler: AsyncIOScheduler, core: ServiceCore) -> None:
    """The weekly digest: every 15 minutes, send what is due (each unit's day and time, in its zone) once."""
    notifiers: list[DigestNotifier] = [build_digest_mailer(core.settings)]
    if core.chat.client is not None:
        notifiers.insert(0, SlackDigestNotifier(core.chat.client, core.chat.directory))
    monitor, prefix = core.monitor, core.prefix
    digests = WeeklyDigests(audit=RedisAuditHistory(core.redis, prefix), board=core.store,
                            source=core.source.workforce, rosters=lambda: [u.roster for u in monitor.units.values()],
                            clock=core.clock, config=core.config.digest, ledger=RedisDigestLedger(core.redis, prefix),
                            notifiers=notifiers, history=RedisAdherenceHistory(core.redis, prefix))
    scheduler.add_job(digests.send_due, "cron", minute="*/15", id="weekly-digest", max_instances=1, coalesce=True)


def add_attendance_job(scheduler: AsyncIOScheduler, attendance: AttendanceDesk, prompt: SlackAttendancePrompt) -> None:
    scheduler.add_job(_attendance_job(attendance, prompt), "interval", minutes=5, id="booking-attendance",
                      max_instances=1, coalesce=True)


async def deliver_on_commit(monitor: Monitor, drain: Callable[[], Awaitable[None]], stop: asyncio.Event) -> None:
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


def _surplus_watch_job(desk: SurplusDesk, monitor: Monitor) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        for mu_id in monitor.owned_units():
            await desk.watch(mu_id)

    return run


def _holds_job(holds: HoldDesk) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        released = await holds.expire_due()
        if released:
            log.info("released %d tentative hold(s) that were not booked in time", len(released))

    return run
