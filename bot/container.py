"""The composition root's shared wiring: config, chat and email adapters for every command."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TextIO

import httpx
from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient

from bot.booking_wiring import BookingStack, build_stack
from bot.settings import Settings
from presentation.blocks.renderer import BlockKitRenderer
from services import log_context
from services.adapters.booking.graph import GraphRoomCalendar
from services.adapters.booking.invites import ConsoleInviteSender, SmtpInviteSender
from services.adapters.booking.redis_changes import RedisExternalIds
from services.adapters.booking.redis_stores import RedisActivityLog
from services.adapters.email.digest import ConsoleDigestMailer, SmtpDigestMailer
from services.adapters.email.mailer import ConsoleMailer, SmtpMailer, SmtpSettings
from services.adapters.genesys import GenesysSource
from services.adapters.genesys.activities import GenesysActivityWriter
from services.adapters.genesys.exception_writer import GenesysExceptionWriter
from services.adapters.genesys.forecast import GenesysDemand
from services.adapters.genesys.intraday import GenesysFloorSignals
from services.adapters.genesys.people import GenesysPeopleSchedules
from services.adapters.redis.surplus import RedisSurplusStore
from services.adapters.redis_keys import BookingKeys
from services.adapters.simulated import SimulatedContactCenter
from services.adapters.simulated.wfm import SimulatedWfmWriter
from services.adapters.slack.chat import SlackChat
from services.adapters.slack.client import make_web_client
from services.adapters.slack.config_directory import ConfigDirectory
from services.adapters.slack.console import ConsoleChat
from services.adapters.slack.directory import SlackDirectory
from services.adapters.teams.webhook import TeamsWebhookChat
from services.booking.coaching import SearchingCoachingPort
from services.booking.config import BookingConfig
from services.booking.demand import DemandSource
from services.booking.ports import ActivityWriter, InviteSender, ProgressNotifier, RoomCalendar
from services.config import OrgConfig, load_org_config
from services.domain.model import AgentState
from services.monitor import Monitor
from services.ports import (
    ChatDirectory,
    ChatPort,
    Clock,
    CoachingPort,
    EmailPort,
    ExceptionWriter,
    WorkforceSource,
)
from services.surplus import DemandRequirement, SurplusDesk, SurplusNotifier

Printer = Callable[[str], None]


def load_config(settings: Settings) -> OrgConfig:
    return load_org_config(settings.bot_config)


@dataclass(frozen=True)
class ChatWiring:
    chat: ChatPort
    directory: ChatDirectory
    client: AsyncWebClient | None  # None: console only
    description: str


def configured_slack_ids(config: OrgConfig) -> dict[str, str]:
    """Person id -> Slack user id, for the people the config names one for."""
    return {pid: p.slack_user_id for pid, p in config.people.items() if p.slack_user_id}


def build_chat(settings: Settings, config: OrgConfig, redis: Redis, printer: Printer | None = None) -> ChatWiring:
    renderer = BlockKitRenderer()
    if settings.slack_bot_token is None:
        return ChatWiring(ConsoleChat(renderer, printer=printer), ConfigDirectory(configured_slack_ids(config)), None,
                          "console (no SLACK_BOT_TOKEN set)")
    client = make_web_client(settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url)
    directory = SlackDirectory(client, overrides=configured_slack_ids(config), redis=redis,
                               prefix=settings.redis_prefix)
    return ChatWiring(SlackChat(client, directory, renderer), directory, client,
                      f"Slack ({settings.slack_api_url or 'slack.com'})")


def build_mailer(settings: Settings, printer: Printer | None = None) -> tuple[EmailPort, str]:
    if not settings.smtp_host:
        return ConsoleMailer(printer=printer), "console (no SMTP_HOST set)"
    smtp = SmtpSettings(host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_from,
                        starttls=settings.smtp_starttls, use_tls=settings.smtp_tls,
                        username=settings.smtp_username, password=settings.smtp_password)
    return SmtpMailer(smtp), f"SMTP {settings.smtp_host}:{settings.smtp_port}"


def build_digest_mailer(settings: Settings) -> SmtpDigestMailer | ConsoleDigestMailer:
    """The weekly digest's email: by the same SMTP relay as the escalation emails, else printed."""
    if not settings.smtp_host:
        return ConsoleDigestMailer()
    return SmtpDigestMailer(SmtpSettings(host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_from,
                                         starttls=settings.smtp_starttls, use_tls=settings.smtp_tls,
                                         username=settings.smtp_username, password=settings.smtp_password))


def build_teams(config: OrgConfig) -> TeamsWebhookChat | None:
    """Microsoft Teams for tier 1, when any team has a ``teams_webhook``."""
    webhooks = config.teams_webhooks()
    return TeamsWebhookChat(webhooks) if webhooks else None


@dataclass
class SourceWiring:
    """The WFM + presence source, its coaching port and exception write-back, with their lifecycle."""

    workforce: WorkforceSource
    coaching: CoachingPort
    exception_writer: ExceptionWriter | None
    description: str
    genesys: GenesysSource | None = None

    async def start(self, monitor: Monitor) -> None:
        if self.genesys is None:
            return
        await self.genesys.start()

        def evaluate_now(mu_id: str, state: AgentState) -> None:
            with log_context.bound(mu_id=mu_id, agent_id=state.agent_id):
                monitor.push(mu_id, state)  # coalesced per agent, committed in micro-batches (monitor.push_batch)

        # Called as each change is applied (no queue, no task switch): push only records the state.
        self.genesys.on_state_pushed(evaluate_now)

    async def stop(self) -> None:
        if self.genesys is not None:
            await self.genesys.close()

    @property
    def feed_down_since(self) -> Callable[[], datetime | None] | None:
        """For /health: since when the live feed is down (None: the simulator has no feed to lose)."""
        return self.genesys.feed_down_since if self.genesys is not None else None


async def build_source(settings: Settings, config: OrgConfig, clock: Clock) -> SourceWiring:
    if settings.has_genesys:
        source = GenesysSource.from_settings(
            client_id=settings.genesys_client_id or "", client_secret=settings.genesys_client_secret or "",
            region=settings.genesys_region, api_url=settings.genesys_api_url, login_url=settings.genesys_login_url,
            config=config, clock=clock)
        where = settings.genesys_api_url or settings.genesys_region
        return SourceWiring(source, source.coaching(), GenesysExceptionWriter(source), f"Genesys Cloud ({where})",
                            source)
    sim = SimulatedContactCenter.build(config.simulator, clock)
    return SourceWiring(sim, sim, None, "simulated contact center (no GENESYS_* credentials set)")


def build_booking(settings: Settings, config: OrgConfig, redis: Redis, source: WorkforceSource, clock: Clock, *,
                  notifier: ProgressNotifier, out: TextIO | None = None, booking: BookingConfig | None = None,
                  genesys: GenesysSource | None = None) -> tuple[BookingStack, str]:
    """The booking use cases: activities written to Genesys when it is the source (else kept in Redis
    for the simulator), rooms in Microsoft Graph when GRAPH_* are set (else Redis), invites by SMTP
    when SMTP_HOST is set (else printed)."""
    booking = booking or config.booking
    invites: InviteSender
    if settings.smtp_host:
        invites = SmtpInviteSender(host=settings.smtp_host, port=settings.smtp_port, username=settings.smtp_username,
                                   password=settings.smtp_password, start_tls=settings.smtp_starttls,
                                   use_tls=settings.smtp_tls)
    else:
        invites = ConsoleInviteSender(out)
    rooms: RoomCalendar | None = None
    calendars: GraphRoomCalendar | None = None  # facilitators' mailboxes, free/busy through the same app
    where = "rooms in Redis"
    if settings.has_graph and settings.graph_client_secret is not None:
        mailboxes = {room_id: room.mailbox for location in booking.locations.values()
                     for room_id, room in location.rooms.items() if room.mailbox}
        graph = GraphRoomCalendar(httpx.AsyncClient(timeout=20), tenant_id=settings.graph_tenant_id or "",
                                  client_id=settings.graph_client_id or "", client_secret=settings.graph_client_secret,
                                  mailboxes=mailboxes, clock=clock, graph_url=settings.graph_url,
                                  login_url=settings.graph_login_url,
                                  ids=RedisExternalIds(redis, BookingKeys(settings.redis_prefix), "graph"))
        rooms = calendars = graph
        where = f"rooms and facilitators' free/busy in Microsoft Graph ({len(mailboxes)} room mailboxes)"
    activities: ActivityWriter | None = None
    demand: GenesysDemand | None = None
    people: GenesysPeopleSchedules | None = None
    if genesys is not None:
        local = RedisActivityLog(redis, BookingKeys(settings.redis_prefix))
        activities = GenesysActivityWriter(genesys.coaching(), local,
                                           RedisExternalIds(redis, BookingKeys(settings.redis_prefix), "genesys"))
        demand = GenesysDemand(genesys.client, clock, structure=genesys.structure)
        genesys.on_forecast_changed(demand.forecast_changed)
        genesys.on_schedule_changed(demand.schedule_changed)
        people = GenesysPeopleSchedules(genesys.client, clock, structure=genesys.structure, search=genesys.search)
        where += "; activities written to Genesys; demand from the Genesys short-term forecasts"
    stack = build_stack(redis=redis, source=source, org=config, clock=clock, notifier=notifier, invites=invites,
                        prefix=settings.redis_prefix, config=booking, rooms=rooms, activities=activities,
                        demand=demand, calendars=calendars, people=people)
    return stack, where


def build_surplus(settings: Settings, config: OrgConfig, redis: Redis, source: WorkforceSource, clock: Clock,
                  stack: BookingStack, notifier: SurplusNotifier, *, demand: DemandSource | None = None,
                  prefix: str | None = None) -> SurplusDesk:
    """Training in surplus (docs/surplus.md): the booking's WFM writer and demand; on the simulator the
    written activity is also applied to the agent's schedule and behaviour."""
    writer: ActivityWriter = stack.data.activities or RedisActivityLog(redis, BookingKeys(settings.redis_prefix))
    if isinstance(source, SimulatedContactCenter):
        writer = SimulatedWfmWriter(writer, source)
    demand = demand or stack.data.demand
    # With Genesys, the intraday figures and waiting contacts of the same planning groups refine the requirement.
    signals = GenesysFloorSignals(demand.client, demand, clock) if isinstance(demand, GenesysDemand) else None
    return SurplusDesk(source=source, requirement=DemandRequirement(source, demand),
                       store=RedisSurplusStore(redis, prefix or settings.redis_prefix), writer=writer,
                       notifier=notifier, config=config.surplus, items=dict(config.booking.self_paced), clock=clock,
                       signals=signals)


def searching_coaching(inner: CoachingPort, stack: BookingStack) -> CoachingPort:
    """The coaching tier books through the slot search (supervisor free, least harm within N days)."""
    return SearchingCoachingPort(inner, stack.data, stack.config)


def simulated_day(today: date) -> date:
    """The day the simulator plays: today, or the next Monday on a weekend (meeting types book on weekdays)."""
    return today + timedelta(days=(7 - today.weekday()) % 7) if today.weekday() >= 5 else today
