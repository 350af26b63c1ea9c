"""HTTP serving: Slack's request URL (``/slack/events``) and ``/health``, on one aiohttp app.

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


def build_web_app(app: AsyncApp | None, health: HealthChecks | None, *, path: str = SLACK_PATH) -> web.Application:
    """``app`` None serves only ``/health`` (Socket Mode); both None is a configuration mistake."""
    if app is None and health is None:
        raise ValueError("build_web_app needs a Slack app, health checks, or both")
    web_app = web.Application()
    if app is not None:
        web_app.router.add_post(path, slack_handler(app))
    if health is not None:
        web_app.router.add_get("/health", health_handler(health))
    return web_app
