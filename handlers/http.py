"""HTTP serving: Slack's request URL (``/slack/events``), ``/health`` and ``/metrics``, on one aiohttp app.

Signature checking is Bolt's: forged or stale (> 5 min) ``X-Slack-Signature`` gets 401. ``/health``
answers 200 when :class:`services.health.ServiceHealth` finds nothing wrong, else 503; either way
the JSON names every reason (see docs/slack.md).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from services import telemetry
from services.health import HealthReport
from services.telemetry import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"


@dataclass(frozen=True, slots=True)
class HealthChecks:
    #: The use case's check (``ServiceHealth.check``): healthy or not, the reasons, the JSON body.
    check: Callable[[], Awaitable[HealthReport]]


def slack_handler(app: AsyncApp) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        response = await app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    return handle


def health_handler(checks: HealthChecks) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        try:
            report = await checks.check()
        except Exception as error:
            log.warning("health check failed", exc_info=True)
            body = {"status": "degraded", "reasons": [f"health check failed: {type(error).__name__}"]}
            return web.json_response(body, status=503)
        if not report.healthy:
            log.warning("health: degraded: %s", "; ".join(report.reasons))
        return web.json_response(report.body, status=200 if report.healthy else 503)

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
