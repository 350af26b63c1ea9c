"""The CLI reads its settings from the environment: each test starts from one without the bot's variables."""

from __future__ import annotations

import os

import pytest

BOT_VARIABLES = ("BOT_CONFIG", "REDIS_URL", "REDIS_PREFIX", "LOG_LEVEL")
PREFIXES = ("SLACK_", "GENESYS_", "SMTP_", "GRAPH_")


def bot_free_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in BOT_VARIABLES and not k.startswith(PREFIXES)}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in list(os.environ):
        if key in BOT_VARIABLES or key.startswith(PREFIXES):
            monkeypatch.delenv(key)
    return monkeypatch
