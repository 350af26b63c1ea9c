"""The service's parts, built from the settings and the config, not started yet (``bot/service.py`` runs them).

Building only connects to Redis (an unreachable REDIS_URL stops the service here, unless
``--ephemeral-state``) and constructs: nothing ticks, listens or delivers until the run starts it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.booking_wiring import BookingStack
from bot.container import (
    ChatWiring,
    SourceWiring,
    build_booking,
    build_chat,
    build_mailer,
    build_source,
    build_teams,
    searching_coaching,
)
from bot.redis_conn import EPHEMERAL, connect_redis, ephemeral_redis
from bot.settings import Settings
from handlers.booking import SlackProgressNotifier
from services.adapters.booking.console import ConsoleNotifier
from services.adapters.booking.redis_stores import RedisTemplates
from services.adapters.redis.neutral import RedisNeutralWindows
from services.adapters.redis.replicas import RedisReplicaRegistry
from services.adapters.redis.store import RedisStore
from services.adapters.redis_keys import BookingKeys
from services.booking.intake import BookingIntake
from services.booking.ports import ProgressNotifier
from services.booking.recurring import RecurringTemplates
from services.clock import SystemClock
from services.config import ConfigError, OrgConfig
from services.dispatch import OutboxDispatcher
from services.monitor import Monitor
from services.replicas import UnitOwnership, default_replica_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceCore:
    """What every run has, with or without Slack: state, source, monitor, booking and the outbox."""

    settings: Settings
    config: OrgConfig
    clock: SystemClock
    redis: Redis
    source: SourceWiring
    store: RedisStore
    ownership: UnitOwnership
    neutral: RedisNeutralWindows
    monitor: Monitor
    chat: ChatWiring
    bookings: BookingStack
    intake: BookingIntake
    dispatcher: OutboxDispatcher

    @property
    def prefix(self) -> str:
        return self.settings.redis_prefix

    @property
    def grace(self) -> float:
        """Seconds the running tick and deliveries get to finish at shutdown (``monitor.shutdown_grace``)."""
        return self.config.monitor.shutdown_grace.total_seconds()


def check_slack_mode(settings: Settings, http: bool) -> None:
    """Each way of reaching Slack needs its own secret: refused before anything is built."""
    if settings.has_slack and http and settings.slack_signing_secret is None:
        raise ConfigError("--http needs SLACK_SIGNING_SECRET (Slack signs every request with it)")
    if settings.has_slack and not http and settings.slack_app_token is None:
        raise ConfigError("Socket Mode needs SLACK_APP_TOKEN (xapp-…); or run with --http and SLACK_SIGNING_SECRET")


async def build_core(settings: Settings, config: OrgConfig, *, ephemeral_state: bool = False) -> ServiceCore:
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
    return ServiceCore(settings=settings, config=config, clock=clock, redis=redis, source=source, store=store,
                       ownership=ownership, neutral=neutral, monitor=monitor, chat=chat, bookings=bookings,
                       intake=intake, dispatcher=dispatcher)
