"""HTTP serving: Slack's request URL (``/slack/events``), ``/health`` and ``/metrics``, on one aiohttp app.

Signature checking is Bolt's: forged or stale (> 5 min) ``X-Slack-Signature`` gets 401. ``/health``
answers 200 only when the monitor's heartbeat is fresh and Slack is connected, else 503, with JSON
that says which part is unhealthy.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from services import telemetry
from services.telemetry import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"


@dataclass(frozen=True, slots=True)
class HealthChecks:
    #: Seconds since the monitor's last heartbeat, or None if it never beat.
    heartbeat_age: Callable[[], Awaitable[float | None]]
    #: Whether Slack is reachable (Socket Mode connected, or the HTTP app authenticated).
    slack_connected: Callable[[], Awaitable[bool]]
    max_heartbeat_age: float = 60.0


def slack_handler(app: AsyncApp) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        response = await app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    return handle


def health_handler(checks: HealthChecks) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        try:
            age = await checks.heartbeat_age()
        except Exception:
            log.warning("health: could not read the monitor heartbeat", exc_info=True)
            age = None
        try:
            connected = await checks.slack_connected()
        except Exception:
            log.warning("health: could not check the Slack connection", exc_info=True)
            connected = False
        fresh = age is not None and age <= checks.max_heartbeat_age
        healthy = fresh and connected
        body = {
            "status": "ok" if healthy else "degraded",
            "monitor": {"heartbeat_age_seconds": None if age is None else round(age, 1), "fresh": fresh,
                        "max_age_seconds": checks.max_heartbeat_age},
            "slack": {"connected": connected},
        }
        return web.json_response(body, status=200 if healthy else 503)

    return handle


def metrics_handler(refresh: Callable[[], Awaitable[None]] | None) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Prometheus exposition of this process's registry; ``refresh`` first reads the shared-state gauges."""

    async def handle(request: web.Request) -> web.Response:
        if refresh is not None:
            try:
                await refresh()
            except Exception:  # the process's own counters are still worth serving
                log.warning("metrics: could not read the state gauges from Redis", exc_info=True)
        return web.Response(body=telemetry.current().exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return handle


def build_web_app(app: AsyncApp | None, health: HealthChecks | None, *, path: str = SLACK_PATH,
                  metrics: Callable[[], Awaitable[None]] | None = None) -> web.Application:
    """``app`` None serves only ``/health`` (Socket Mode); both None is a configuration mistake.
    ``/metrics`` is served next to ``/health``; ``metrics`` refreshes its state gauges per scrape."""
    if app is None and health is None:
        raise ValueError("build_web_app needs a Slack app, health checks, or both")
    web_app = web.Application()
    if app is not None:
        web_app.router.add_post(path, slack_handler(app))
    if health is not None:
        web_app.router.add_get("/health", health_handler(health))
        web_app.router.add_get("/metrics", metrics_handler(metrics))
    return web_app
