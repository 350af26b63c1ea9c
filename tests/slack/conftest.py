"""Fixtures for the Slack tests: the fake Slack Web API and a client pointed at it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from services.adapters.slack.client import RetryPolicy, make_web_client
from testing.fake_slack import BOT_TOKEN, FakeSlack

os.environ.setdefault("SKIP_SLACK_SDK_WARNING", "1")


class RecordingSleep:
    """Stands in for asyncio.sleep inside the retry handlers: records the wait, returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack(users_by_email={"sam@example.com": "U0SUP0001", "olga@example.com": "U0OPS0001"},
                           user_names={"U0SUP0001": "Sam Supervisor", "U0OPS0001": "Olga Ops"}).start()
    yield fake
    await fake.stop()


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def slack_client(fake_slack: FakeSlack, sleeps: RecordingSleep) -> AsyncWebClient:
    return make_web_client(BOT_TOKEN, base_url=fake_slack.api_url, policy=RetryPolicy(), sleep=sleeps)
