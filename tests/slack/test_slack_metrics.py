"""Slack Web API latency and status codes on /metrics, from the client the bot builds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from services import telemetry
from services.telemetry import Telemetry
from tests.observability.scrape import value
from tests.slack.fake_slack import FakeSlack


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

    assert value(metrics, "adherence_slack_requests_total", method="chat.postMessage", status="200") == 1
    assert value(metrics, "adherence_slack_requests_total", method="chat.update", status="500") == 1
    assert value(metrics, "adherence_slack_requests_total", method="auth.test", status="200") == 1  # ok: false
    assert value(metrics, "adherence_slack_request_duration_seconds_count", method="chat.postMessage") == 1
    assert len(fake_slack.calls_to("chat.update")) == 4  # one call in the metrics, its retries inside it
