"""The service's Slack side: the Bolt app with every listener's use cases, reached over Socket Mode
(default) or HTTP (``--http``, served by the run's web server), and what ``/health`` asks of it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from pydantic import SecretStr
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.booking_wiring import BookingStack
from bot.container import ChatWiring
from bot.service_build import ServiceCore
from bot.service_jobs import add_attendance_job
from handlers.app import build_app
from handlers.booking import BookingHandlerDeps
from handlers.booking.notifier import SlackAttendancePrompt
from handlers.booking.optimise import optimise_command
from handlers.deps import HandlerDeps
from handlers.socket_mode import socket_connected, socket_mode_handler
from services.adapters.booking.optimise_store import RedisOptimiseStore
from services.adapters.redis.history import RedisAdherenceHistory
from services.adapters.redis_keys import BookingKeys
from services.booking.attendance import AttendanceDesk
from services.booking.optimise import OptimiseUpcoming
from services.booking.targeting import Targeting
from services.config import OrgConfig
from services.domain.model import Person
from services.incident_actions import IncidentActions
from services.neutral import NeutralDesk
from services.queries import AdherenceQueries
from services.surplus import SurplusDesk

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class SlackSide:
    """The app (None: no Slack configured, the console stands in), its Socket Mode connection, and the
    ``/health`` check of the connection (None: nothing to check)."""

    app: AsyncApp | None = None
    socket: AsyncSocketModeHandler | None = None
    ok: Check | None = None

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close_async()  # type: ignore[no-untyped-call]


async def start_slack(core: ServiceCore, scheduler: AsyncIOScheduler, *, http: bool, surplus: SurplusDesk | None,
                      after_action: Callable[[], Awaitable[None]]) -> SlackSide:
    """Build the app and, for Socket Mode, connect it; over HTTP the web server serves it."""
    client = core.chat.client
    if client is None:
        return SlackSide()
    app = await _build_app(core, client, scheduler, surplus=surplus, after_action=after_action)
    if http:
        return SlackSide(app, None, _authenticated(app))
    socket = socket_mode_handler(app, _secret(core.settings.slack_app_token) or "")
    await socket.connect_async()  # type: ignore[no-untyped-call]

    async def connected() -> bool:
        return await socket_connected(socket)

    return SlackSide(app, socket, connected)


async def _build_app(core: ServiceCore, client: AsyncWebClient, scheduler: AsyncIOScheduler, *,
                     surplus: SurplusDesk | None, after_action: Callable[[], Awaitable[None]]) -> AsyncApp:
    monitor, config, chat, clock = core.monitor, core.config, core.chat, core.clock
    actions = IncidentActions(store=core.store, rosters=monitor.roster, directory=chat.directory, clock=clock,
                              shift_ends=monitor.shift_end, reasons=config.explanation_reasons_for)
    queries = AdherenceQueries(monitor=monitor, store=core.store, directory=chat.directory, clock=clock)
    schedulers = await scheduler_ids(config, core.bookings, chat)
    bookings = core.bookings
    attendance = AttendanceDesk(bookings.registers, bookings.attendance, bookings.service.ledger, bookings.data,
                                chat.directory, clock, schedulers=schedulers)
    add_attendance_job(scheduler, attendance, SlackAttendancePrompt(client))
    optimiser = _optimiser(core, schedulers)
    desk = NeutralDesk(store=core.neutral, rosters=lambda: [u.roster for u in monitor.units.values()],
                       directory=chat.directory, clock=clock)
    deps = HandlerDeps(actions, queries, clock, booking=_booking_deps(core, schedulers, attendance, optimiser),
                       after_action=after_action, neutral=desk, surplus=surplus)
    return build_app(deps, signing_secret=_secret(core.settings.slack_signing_secret), token=None, client=client)


def _optimiser(core: ServiceCore, schedulers: frozenset[str]) -> OptimiseUpcoming:
    bookings = core.bookings
    written = bookings.service.writeback
    return OptimiseUpcoming(
        data=bookings.data, config=bookings.config, ledger=bookings.service.ledger, activities=written.activities,
        rooms=written.rooms, invites=written.invites, clock=core.clock, schedulers=frozenset(schedulers),
        store=RedisOptimiseStore(core.redis, BookingKeys(core.prefix)), changes=bookings.changes.store,
        registers=bookings.registers, attendance=bookings.attendance)


def _booking_deps(core: ServiceCore, schedulers: frozenset[str], attendance: AttendanceDesk,
                  optimiser: OptimiseUpcoming) -> BookingHandlerDeps:
    bookings, config, units = core.bookings, core.config, core.source.workforce.management_units
    return BookingHandlerDeps(
        service=core.intake, rosters=bookings.data, units=units, config=bookings.config,
        clock=core.clock, registers=bookings.registers, schedulers=schedulers,
        trainers={p: config.people[p].name for p in bookings.config.trainers if p in config.people},
        holds=bookings.holds, changes=bookings.changes, attendance=attendance,
        targeting=Targeting(RedisAdherenceHistory(core.redis, core.prefix), core.clock),
        optimise=optimise_command(optimiser, units), optimiser=optimiser)


async def scheduler_ids(config: OrgConfig, bookings: BookingStack, chat: ChatWiring) -> frozenset[str]:
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


def _authenticated(app: AsyncApp) -> Check:
    async def check() -> bool:
        response = await app.client.auth_test()
        return bool(response.get("ok"))

    return check


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
