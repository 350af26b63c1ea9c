"""Prometheus metrics: the metric objects and the one-line recording calls the code makes.

Every metric lives on one :class:`Telemetry` per process (its own ``CollectorRegistry``, not the
library's global one), so a test installs a fresh one with :func:`install` and reads exactly what
its own run recorded. Use cases and adapters call the module functions (``tier_fired(...)``),
which record on the installed instance. ``services/domain`` never imports this module.

Gauges that describe shared state (outbox backlog, open incidents, booking queue depth) are set
from Redis when ``/metrics`` is scraped (see :mod:`bot.metrics`), so every replica reports the
same value: aggregate them with ``max``, not ``sum``.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter as Tally
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from services.domain.escalation import AgentTrack, EventKind, IncidentEvent

__all__ = ["CONTENT_TYPE_LATEST", "Telemetry", "current", "install"]

log = logging.getLogger(__name__)

#: Tick durations from a few milliseconds (small unit, warm cache) to past the tick (15 s by default).
TICK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: A path segment that is an id (uuid, number, Slack/Genesys id), replaced so labels stay few.
_ID_SEGMENT = re.compile(r"^(?=.*\d)[0-9A-Za-z_-]{6,}$|^\d+$")


class Telemetry:
    """All the bot's metrics on one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.tick_duration = Histogram("adherence_tick_duration_seconds",
                                       "Time to tick one management unit (ticks this replica evaluated)",
                                       ["mu_id"], buckets=TICK_BUCKETS, registry=r)
        self.ticks_not_claimed = Counter("adherence_ticks_not_claimed", "Unit ticks another replica had claimed",
                                         ["mu_id"], registry=r)
        self.agents_evaluated = Gauge("adherence_agents_evaluated", "Agents evaluated in the unit's last tick",
                                      ["mu_id"], registry=r)
        self.incidents_open = Gauge("adherence_incidents_open", "Incidents not closed, by status",
                                    ["mu_id", "status"], registry=r)
        self.tiers_fired = Counter("adherence_tiers_fired", "Escalation tiers fired, by action",
                                   ["mu_id", "action"], registry=r)
        self.outbox_backlog = Gauge("adherence_outbox_backlog", "Outbox entries not yet delivered",
                                    ["mu_id"], registry=r)
        self.outbox_oldest_age = Gauge("adherence_outbox_oldest_age_seconds",
                                       "Age of the oldest undelivered outbox entry (0 when empty)",
                                       ["mu_id"], registry=r)
        self.deliveries = Counter("adherence_deliveries", "Delivery steps completed, by channel",
                                  ["channel"], registry=r)
        self.delivery_failures = Counter("adherence_delivery_failures", "Delivery steps that failed, by channel",
                                         ["channel"], registry=r)
        self.slack_latency = Histogram("adherence_slack_request_duration_seconds", "Slack Web API call latency",
                                       ["method"], buckets=REQUEST_BUCKETS, registry=r)
        self.slack_requests = Counter("adherence_slack_requests",
                                      "Slack Web API calls, by HTTP status and Slack error code ('' when ok)",
                                      ["method", "status", "error"], registry=r)
        self.genesys_latency = Histogram("adherence_genesys_request_duration_seconds", "Genesys Cloud request latency",
                                         ["method", "route"], buckets=REQUEST_BUCKETS, registry=r)
        self.genesys_requests = Counter("adherence_genesys_requests", "Genesys Cloud requests, by HTTP status",
                                        ["method", "route", "status"], registry=r)
        self.genesys_events = Counter("adherence_genesys_events", "Notification events received, by topic",
                                      ["topic"], registry=r)
        # topic -> its labelled counter: the subscribed topics are a bounded set, and labelling costs more
        # than the increment on each of thousands of events a second.
        self.genesys_event_counters: dict[str, Counter] = {}
        self.genesys_channels = Gauge("adherence_genesys_channels_connected",
                                      "Genesys notification WebSocket channels connected", registry=r)
        self.booking_queue_depth = Gauge("adherence_booking_queue_depth",
                                         "Booking requests queued or in progress", registry=r)
        self.booking_outcomes = Counter("adherence_booking_outcomes", "Booking requests handled, by outcome",
                                        ["outcome"], registry=r)
        self.redis_state_lost = Counter("adherence_redis_state_lost",
                                        "Times this replica found Redis emptied (its epoch key gone)", registry=r)

    def names(self) -> set[str]:
        """Every series name this registry exposes, recorded yet or not (``_total``, ``_bucket``...)."""
        suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
                    "gauge": ("",)}
        return {metric.name + suffix for metric in self.registry.collect()
                for suffix in suffixes.get(metric.type, ("",))}

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


_current = Telemetry()
_evaluated: ContextVar[bool] = ContextVar("adherence_unit_evaluated", default=False)


def current() -> Telemetry:
    return _current


def install(telemetry: Telemetry | None = None) -> Telemetry:
    """Make ``telemetry`` (default: a fresh one) the process's; returns it."""
    global _current
    _current = telemetry or Telemetry()
    return _current


# ---- recording calls (one line at each instrumentation point) ------------------------------------

@asynccontextmanager
async def unit_tick(mu_id: str) -> AsyncIterator[None]:
    """Time one unit's tick, when this replica evaluated it (:func:`unit_evaluated` called inside) or
    it failed (a slow failure is worth seeing); a tick another replica had claimed is only counted."""
    start = time.perf_counter()
    evaluated = _evaluated.set(False)
    failed = False
    try:
        yield
    except BaseException:
        failed = True
        raise
    finally:
        if failed or _evaluated.get():
            seconds = time.perf_counter() - start
            _current.tick_duration.labels(mu_id).observe(seconds)
            log.debug("tick of %s took %.1f ms", mu_id, seconds * 1000)
        else:
            _current.ticks_not_claimed.labels(mu_id).inc()
        _evaluated.reset(evaluated)


def unit_evaluated(mu_id: str, evaluated: int, events: Iterable[IncidentEvent]) -> None:
    _evaluated.set(True)
    _current.agents_evaluated.labels(mu_id).set(evaluated)
    tiers_fired(mu_id, events)


def tiers_fired(mu_id: str, events: Iterable[IncidentEvent]) -> None:
    for event in events:
        if event.kind is EventKind.TIER_FIRED and event.tier is not None:
            _current.tiers_fired.labels(mu_id, event.tier.action.value).inc()


def set_open_incidents(mu_id: str, tracks: Iterable[AgentTrack]) -> None:
    counts = Tally(t.incident.status.value for t in tracks if t.incident is not None and not t.incident.is_closed)
    for status in ("open", "acknowledged"):
        _current.incidents_open.labels(mu_id, status).set(counts.get(status, 0))


def redis_state_lost() -> None:
    _current.redis_state_lost.inc()


def set_outbox(mu_id: str, count: int, oldest_age: float | None) -> None:
    _current.outbox_backlog.labels(mu_id).set(count)
    _current.outbox_oldest_age.labels(mu_id).set(oldest_age or 0.0)


_COUNT_NAMES = ("count", "backlog", "pending", "size")
_AGE_NAMES = ("oldest_age", "oldest_age_seconds", "oldest_seconds", "age")


def backlog_parts(backlog: object) -> tuple[int, float | None]:
    """(entries, oldest age in seconds or None) of what a store reports as its outbox backlog: an int,
    a ``(count, age)`` pair, or a mapping/object with a count and an age (seconds or a timedelta)."""
    if isinstance(backlog, int):
        return backlog, None
    if isinstance(backlog, tuple) and len(backlog) == 2:
        return int(backlog[0] or 0), _seconds(backlog[1])

    def field(names: tuple[str, ...]) -> object:
        for name in names:
            value = backlog.get(name) if isinstance(backlog, dict) else getattr(backlog, name, None)
            if value is not None:
                return value
        return None

    count = field(_COUNT_NAMES)
    return int(count) if isinstance(count, int | float) else 0, _seconds(field(_AGE_NAMES))


def _seconds(age: object) -> float | None:
    if isinstance(age, timedelta):
        return age.total_seconds()
    return float(age) if isinstance(age, int | float) else None


@contextmanager
def delivery(step: str) -> Iterator[None]:
    """One delivery step (``card``, ``email``, ``coaching``, ``card-update``, ``storm-card``)."""
    try:
        yield
    except BaseException:
        _current.delivery_failures.labels(step).inc()
        raise
    _current.deliveries.labels(step).inc()


def slack_call(method: str, status: int | str, seconds: float, error: str = "") -> None:
    _current.slack_latency.labels(method).observe(seconds)
    _current.slack_requests.labels(method, str(status), error).inc()


_TOPIC_COUNTERS_MAX = 100_000


def genesys_event(topic: str) -> None:
    counters = _current.genesys_event_counters
    counter = counters.get(topic)
    if counter is None:  # folded to its route and labelled once per topic
        if len(counters) >= _TOPIC_COUNTERS_MAX:
            counters.clear()
        counter = counters[topic] = _current.genesys_events.labels(route_of(topic, sep="."))
    counter.inc()


def watch_genesys_channels(connected: Callable[[], float]) -> None:
    """``connected()`` is read at every scrape (the notification hub's live channel count)."""
    _current.genesys_channels.set_function(connected)


def booking_outcome(outcome: str) -> None:
    _current.booking_outcomes.labels(outcome).inc()


def set_booking_queue(depth: int) -> None:
    _current.booking_queue_depth.set(depth)


def route_of(path: str, *, sep: str = "/") -> str:
    """``/api/v2/users/5f3c.../presences`` -> ``/api/v2/users/{id}/presences`` (few label values)."""
    return sep.join("{id}" if _ID_SEGMENT.match(part) and part != "v2" else part for part in path.split(sep))


def genesys_request(method: str, path: str, status: int, seconds: float | None) -> None:
    route = route_of(path)
    if seconds is not None:
        _current.genesys_latency.labels(method, route).observe(seconds)
    _current.genesys_requests.labels(method, route, str(status)).inc()
