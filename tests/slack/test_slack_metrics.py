"""Slack Web API latency and status codes on /metrics, from the client the bot builds."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import aiohttp
import pytest
from redis.asyncio import Redis
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.service import run_service
from bot.settings import Settings
from services import telemetry
from services.telemetry import Telemetry
from testing.fake_slack import BOT_TOKEN, FakeSlack
from tests.conftest import TEST_REDIS_URL
from tests.observability.scrape import total, value
from tests.slack.test_service import _free_port, _wait_for


@pytest.fixture
def metrics() -> Iterator[Telemetry]:
    yield telemetry.install()
    telemetry.install()


async def test_calls_are_timed_and_counted_by_method_and_status(metrics: Telemetry, fake_slack: FakeSlack,
                                                                slack_client: AsyncWebClient) -> None:
    await slack_client.chat_postMessage(channel="C0TEAM0001", text="hello")
    fake_slack.fail("chat.update", status=500, times=10)  # more than the client retries
    with pytest.raises(SlackApiError):
        await slack_client.chat_update(channel="C0TEAM0001", ts="1.2", text="x")
    fake_slack.fail("auth.test", error="invalid_auth")
    with pytest.raises(SlackApiError):
        await slack_client.auth_test()

    calls = "adherence_slack_requests_total"
    assert value(metrics, calls, method="chat.postMessage", status="200", error="") == 1
    assert value(metrics, calls, method="chat.update", status="500", error="") == 1
    assert value(metrics, calls, method="auth.test", status="200", error="invalid_auth") == 1  # ok: false
    assert value(metrics, "adherence_slack_request_duration_seconds_count", method="chat.postMessage") == 1
    assert len(fake_slack.calls_to("chat.update")) == 4  # one call in the metrics, its retries inside it


async def test_socket_mode_serves_metrics_next_to_health(metrics: Telemetry, fake_slack: FakeSlack,
                                                         redis_client: Redis) -> None:
    port, prefix, stop = _free_port(), f"test-metrics-{uuid.uuid4().hex[:8]}", asyncio.Event()
    settings = Settings(slack_bot_token=BOT_TOKEN, slack_app_token="xapp-1-test", slack_api_url=fake_slack.api_url,
                        redis_url=TEST_REDIS_URL, redis_prefix=prefix, genesys_client_id=None, smtp_host=None,
                        bot_config=None)
    service = asyncio.create_task(run_service(settings, http=False, port=port, stop=stop))
    try:
        async with aiohttp.ClientSession() as session:
            await _wait_for(f"http://127.0.0.1:{port}/health", session, 200)
            async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                assert response.status == 200
                text = await response.text()
        assert total(text, "adherence_tick_duration_seconds_count") >= 1  # the first tick runs at start
        assert total(text, "adherence_agents_evaluated") > 0
        assert value(text, "adherence_slack_requests_total", method="apps.connections.open", status="200",
                     error="") == 1
        assert value(text, "adherence_booking_queue_depth") == 0
    finally:
        stop.set()
        assert await asyncio.wait_for(service, 20) == 0
        keys = [k async for k in redis_client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis_client.delete(*keys)
