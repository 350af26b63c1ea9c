"""``LOG_FORMAT=json``: one JSON object a line, carrying the ids of what it is about; secrets never
appear. In process (a tick and a delivery on real Redis) and as a real ``python -m bot run``."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.logs import REDACTED, configure_logging, secret_values
from bot.settings import Settings
from services import log_context
from services.domain.states import Presence, RoutingStatus
from testing.fake_slack import FakeSlack
from tests.conftest import TEST_REDIS_URL
from tests.monitor.test_monitor_on_redis import Rig, at
from tests.slack.signed import command_body, signed_headers, slash_command

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The root logger writing JSON to a buffer at DEBUG; pytest's own handlers put back afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging("DEBUG", "json", ["s3cr3t-value"], stream=stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        logging.captureWarnings(False)


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


async def test_tick_and_delivery_lines_carry_their_ids(json_log: io.StringIO, redis_client: Redis,
                                                       redis_prefix: str) -> None:
    rig = Rig(redis_client, redis_prefix)
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE, since=at(0))
    await rig.run_until(5)
    logging.getLogger("bot.test").info("after the run")

    lines = _lines(json_log.getvalue())  # every line parses
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    ticks = [line for line in lines if line["message"].startswith("tick of mu-1 took")]
    assert len(ticks) == 21 and all(line["mu_id"] == "mu-1" for line in ticks)  # 0:00 to 5:00 every 15 s
    delivered = [line for line in lines if line["message"].startswith("delivered ")]
    assert delivered, "the card delivery is logged"
    incident = delivered[0]["message"].split()[1].split(":")[0]
    assert {(d["mu_id"], d["agent_id"], d["incident_id"]) for d in delivered} == {("mu-1", "a0", incident)}
    last = lines[-1]
    assert last["message"] == "after the run"
    assert not {"mu_id", "agent_id", "incident_id"} & set(last), "a delivery's ids do not outlive the drain"


def test_a_secret_is_redacted_wherever_it_is_logged(json_log: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    log.warning("token is %s", "s3cr3t-value")
    try:
        raise RuntimeError("failed with s3cr3t-value inside")
    except RuntimeError:
        log.exception("boom")
    text = json_log.getvalue()
    assert "s3cr3t-value" not in text
    assert text.count(REDACTED) == 3  # the message, the exception's message and its traceback line
    assert len(_lines(text)) == 2


def test_the_text_format_shows_the_ids_too() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging("INFO", "text", ["s3cr3t-value"], stream=stream)
        log_context.focus(mu_id="mu-9", agent_id="a7")
        logging.getLogger("bot.test").info("hello s3cr3t-value")
    finally:
        log_context.focus()
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        logging.captureWarnings(False)
    assert stream.getvalue().rstrip().endswith(f"bot.test: hello {REDACTED} [mu_id=mu-9 agent_id=a7]")


def test_secret_values_are_the_secret_settings_and_the_redis_password() -> None:
    settings = Settings(slack_bot_token="xoxb-1-abc", smtp_password="mail-pass",
                        redis_url="redis://:p%40ss-word@host:6379/0")
    assert set(secret_values(settings)) == {"xoxb-1-abc", "mail-pass", "p@ss-word"}


def test_an_unknown_log_format_is_refused_naming_the_key() -> None:
    result = _run_cli(["check"], {"LOG_FORMAT": "yaml"})
    assert result[0] == 2
    assert "LOG_FORMAT" in result[2]


def _run_cli(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    import subprocess

    done = subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**_clean_env(), **env}, timeout=60)
    return done.returncode, done.stdout, done.stderr


def _clean_env() -> dict[str, str]:
    """This environment without any bot setting (a developer's own SLACK_*/GENESYS_* stay out)."""
    prefixes = ("SLACK_", "GENESYS_", "SMTP_", "GRAPH_", "REDIS_", "BOT_", "LOG_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
async def test_a_real_run_logs_json_with_ids_and_no_secret(redis_client: Redis) -> None:
    secrets = {"SLACK_BOT_TOKEN": f"xoxb-{uuid.uuid4().hex}", "SLACK_SIGNING_SECRET": uuid.uuid4().hex,
               "SLACK_APP_TOKEN": f"xapp-{uuid.uuid4().hex}", "SMTP_PASSWORD": f"smtp-{uuid.uuid4().hex}"}
    fake = await FakeSlack(token=secrets["SLACK_BOT_TOKEN"]).start()
    port, prefix = _free_port(), f"test-logs-{uuid.uuid4().hex[:8]}"
    env = {**_clean_env(), **secrets, "SLACK_API_URL": fake.api_url, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": "9",
           "SMTP_USERNAME": "bot", "REDIS_URL": TEST_REDIS_URL, "REDIS_PREFIX": prefix,
           "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--http", "--port", str(port), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    trigger = f"{uuid.uuid4().hex[:10]}.trigger"
    try:
        async with aiohttp.ClientSession() as session:
            await _until_up(session, f"http://127.0.0.1:{port}/health", process)
            fields = slash_command(command="/adherence", text="help", user_id="U0SUP0001",
                                   response_url=fake.response_url())
            body = command_body({**fields, "trigger_id": trigger})
            headers = signed_headers(body, content_type="application/x-www-form-urlencoded",
                                     secret=secrets["SLACK_SIGNING_SECRET"])
            async with session.post(f"http://127.0.0.1:{port}/slack/events", data=body, headers=headers) as response:
                assert response.status == 200
            await _until(lambda: bool(fake.webhook_posts), "the /adherence help answer")
            async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                metrics = await response.text()
        assert "adherence_tick_duration_seconds_count" in metrics
        assert 'adherence_slack_requests_total{error="",method="auth.test",status="200"}' in metrics
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 30)
        await fake.stop()
        keys = [k async for k in redis_client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis_client.delete(*keys)
    assert process.returncode == 0, err.decode()[-3000:]

    text = out.decode() + err.decode()
    for name, value in secrets.items():
        assert value not in text, f"{name} appears in the log"
    lines = _lines(text)  # every line of both streams is one JSON object
    assert len(lines) > 10
    ticks = [line for line in lines if line["message"].startswith("tick of ")]
    assert ticks and all(line.get("mu_id") == line["message"].split()[2] for line in ticks)
    handled = [line for line in lines if line.get("request_id") == trigger]
    assert handled, "lines logged while handling the slash command carry its trigger id"
    assert not [line for line in lines if line["message"].startswith("monitoring") and "request_id" in line]


async def _until_up(session: aiohttp.ClientSession, url: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise AssertionError(f"the bot exited with {process.returncode}")
        try:
            async with session.get(url) as response:
                if response.status in (200, 503):
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)  # waiting for a process to start, not for simulated time
    raise AssertionError(f"{url} never answered")


async def _until(predicate: Any, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
