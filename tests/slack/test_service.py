"""``python -m bot run --http`` as a whole: the composition root wires the monitor, the outbox, the
Slack app and /health; forged requests get 401, signed ones are answered."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.service import run_service
from bot.settings import Settings
from services.config import ConfigError
from testing.fake_slack import BOT_TOKEN, FakeSlack
from tests.conftest import TEST_REDIS_URL
from tests.slack.signed import SIGNING_SECRET, command_body, signed_headers, slash_command


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _wait_for(url: str, session: aiohttp.ClientSession, status: int, timeout: float = 20) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            async with session.get(url) as response:
                body: dict[str, object] = await response.json()
                last = body
                if response.status == status:
                    return body
        except aiohttp.ClientConnectionError as error:
            last = error
        await asyncio.sleep(0.1)  # waiting for a server to come up, not for simulated time to pass
    raise AssertionError(f"{url} never answered {status}: {last}")


async def test_the_http_service_serves_health_and_refuses_forged_requests(fake_slack: FakeSlack,
                                                                          redis_client: Redis) -> None:
    port, prefix, stop = _free_port(), f"test-svc-{uuid.uuid4().hex[:8]}", asyncio.Event()
    settings = Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=fake_slack.api_url, redis_url=TEST_REDIS_URL, redis_prefix=prefix,
                        genesys_client_id=None, smtp_host=None, bot_config=None)
    service = asyncio.create_task(run_service(settings, http=True, port=port, stop=stop))
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            health = await _wait_for(f"{base}/health", session, 200)
            assert health["status"] == "ok"
            assert fake_slack.calls_to("auth.test"), "health must check the Slack connection"

            body = command_body(slash_command(command="/adherence", text="help", user_id="U0SUP0001",
                                              response_url=fake_slack.response_url()))
            forged = signed_headers(body, content_type="application/x-www-form-urlencoded", secret="not-the-secret")
            async with session.post(f"{base}/slack/events", data=body, headers=forged) as response:
                assert response.status == 401
            genuine = signed_headers(body, content_type="application/x-www-form-urlencoded")
            async with session.post(f"{base}/slack/events", data=body, headers=genuine) as response:
                assert response.status == 200
            # Booking is wired too: /book-meeting opens its modal (not the "isn't set up" reply).
            book = command_body(slash_command(command="/book-meeting", text="", user_id="U0SUP0001",
                                              response_url=fake_slack.response_url("book")))
            headers = signed_headers(book, content_type="application/x-www-form-urlencoded")
            async with session.post(f"{base}/slack/events", data=book, headers=headers) as response:
                assert response.status == 200
            opened = await fake_slack.wait_for("views.open")
            assert opened[0].body["view"]["type"] == "modal"
    finally:
        stop.set()
        assert await asyncio.wait_for(service, 20) == 0
        keys = [k async for k in redis_client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis_client.delete(*keys)


async def test_socket_mode_without_an_app_token_is_a_clear_error(fake_slack: FakeSlack) -> None:
    settings = Settings(slack_bot_token=BOT_TOKEN, slack_api_url=fake_slack.api_url, redis_url=TEST_REDIS_URL,
                        slack_app_token=None)
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        await run_service(settings, http=False, port=_free_port(), stop=asyncio.Event())


async def test_http_mode_without_a_signing_secret_is_a_clear_error(fake_slack: FakeSlack) -> None:
    settings = Settings(slack_bot_token=BOT_TOKEN, slack_api_url=fake_slack.api_url, redis_url=TEST_REDIS_URL,
                        slack_signing_secret=None)
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        await run_service(settings, http=True, port=_free_port(), stop=asyncio.Event())
