"""HTTP mode: /slack/events behind Bolt's signature check (forged or stale -> 401), and /health."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, cast

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from handlers.app import build_app
from handlers.deps import HandlerDeps
from handlers.http import HealthChecks, build_web_app
from services.clock import ManualClock
from services.health import HealthReport
from testing.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack import signed
from tests.slack.samples import T0


async def serve(app: web.Application) -> TestServer:
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


@pytest.fixture
async def slack_server(fake_slack: FakeSlack) -> AsyncIterator[TestServer]:
    deps = HandlerDeps(actions=cast(Any, None), queries=cast(Any, None), clock=ManualClock(T0))
    app = build_app(deps, signing_secret=signed.SIGNING_SECRET, token=BOT_TOKEN, api_url=fake_slack.api_url)
    server = await serve(build_web_app(app, None))
    yield server
    await server.close()


def help_command(fake: FakeSlack) -> str:
    return signed.command_body(signed.slash_command(command="/adherence", text="help", user_id="U1",
                                                    response_url=fake.response_url()))


async def post(server: TestServer, body: str, headers: dict[str, str]) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.post(server.make_url("/slack/events"), data=body,
                                                                 headers=headers) as response:
        return response.status, await response.text()


async def test_a_correctly_signed_request_is_served(slack_server: TestServer, fake_slack: FakeSlack) -> None:
    body = help_command(fake_slack)
    status, _ = await post(slack_server, body, signed.signed_headers(
        body, content_type="application/x-www-form-urlencoded"))
    assert status == 200
    posts = await fake_slack.wait_for("webhook")
    assert "How to use /adherence" in posts[0]["text"]


@pytest.mark.parametrize("tamper", ["wrong secret", "stale", "altered body", "no headers"])
async def test_forged_or_stale_signatures_get_401(slack_server: TestServer, fake_slack: FakeSlack,
                                                  tamper: str) -> None:
    body = help_command(fake_slack)
    form = "application/x-www-form-urlencoded"
    headers = {
        "wrong secret": signed.signed_headers(body, content_type=form, secret="guessed"),
        "stale": signed.signed_headers(body, content_type=form, timestamp=int(time.time()) - 6 * 60),
        "altered body": signed.signed_headers(body.replace("help", "team"), content_type=form),
        "no headers": {"content-type": form},
    }[tamper]
    status, text = await post(slack_server, body, headers)
    assert (status, text) == (401, '{"error": "invalid request"}')
    assert fake_slack.webhook_posts == []


async def test_without_a_signing_secret_http_requests_are_refused(fake_slack: FakeSlack) -> None:
    deps = HandlerDeps(actions=cast(Any, None), queries=cast(Any, None), clock=ManualClock(T0))
    app = build_app(deps, signing_secret=None, token=BOT_TOKEN, api_url=fake_slack.api_url)
    server = await serve(build_web_app(app, None))
    try:
        body = help_command(fake_slack)
        for secret in ("", "secret", signed.SIGNING_SECRET):
            headers = signed.signed_headers(body, content_type="application/x-www-form-urlencoded", secret=secret)
            assert (await post(server, body, headers))[0] == 401
    finally:
        await server.close()


class Probe:
    """What the health use case answers (tests/monitor/test_health.py covers how it decides)."""

    def __init__(self, healthy: bool | None) -> None:
        self.healthy = healthy

    async def check(self) -> HealthReport:
        if self.healthy is None:
            raise ConnectionError("redis down")
        reasons = () if self.healthy else ("no unit has committed a tick for 60s (limit 45s)",)
        return HealthReport(self.healthy, reasons, {"status": "ok" if self.healthy else "degraded",
                                                    "reasons": list(reasons)})


@pytest.mark.parametrize(("healthy", "status", "reason"), [
    (True, 200, None),
    (False, 503, "no unit has committed a tick for 60s (limit 45s)"),
    (None, 503, "health check failed: ConnectionError"),
])
async def test_health_answers_503_with_the_reasons(healthy: bool | None, status: int, reason: str | None) -> None:
    server = await serve(build_web_app(None, HealthChecks(Probe(healthy).check)))
    try:
        async with aiohttp.ClientSession() as session, session.get(server.make_url("/health")) as response:
            body = await response.json()
            assert response.status == status
    finally:
        await server.close()
    assert body["status"] == ("ok" if status == 200 else "degraded")
    assert body["reasons"] == ([reason] if reason else [])


def test_a_web_app_needs_something_to_serve() -> None:
    with pytest.raises(ValueError, match="needs a Slack app"):
        build_web_app(None, None)
