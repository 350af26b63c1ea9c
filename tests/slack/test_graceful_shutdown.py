"""Issue 8, point 8: SIGTERM lets the running delivery finish, then the service exits 0 without a traceback.

``python -m bot run --http`` runs as a real subprocess against the fake Slack (in this process) and
the real Redis. A card is waiting in the outbox; Slack answers ``chat.postMessage`` slowly; SIGTERM
arrives while the post is in flight. The card is posted once, the process exits 0, and the log has
no traceback. A restart does not post it again. With a grace shorter than the delivery, the entry
stays in the outbox for the next start.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from services.adapters.redis.store import RedisStore
from services.adapters.simulated import SimulatedContactCenter
from services.clock import SystemClock
from services.config import OrgConfig
from services.domain.escalation import DEFAULT_POLICY, EventKind, FiredTier, Incident, IncidentEvent, TierAction
from services.routing import apply_org_routing
from testing.fake_slack import BOT_TOKEN, FakeSlack
from tests.conftest import TEST_REDIS_URL
from tests.slack.signed import SIGNING_SECRET

ROOT = Path(__file__).resolve().parents[2]
# The simulator runs on the real clock: with one tier a day away, the only delivery is the test's own card.
QUIET = '[[tiers]]\nafter = "23h"\naction = "chat_card"\n'


def _config(tmp_path: Path, monitor: str = "") -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(f"[monitor]\n{monitor}\n{QUIET}")
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def prefix(redis_client: Redis) -> AsyncIterator[str]:
    name = f"test-stop-{uuid.uuid4().hex[:8]}"
    yield name
    keys = [k async for k in redis_client.scan_iter(match=f"{name}:*")]
    if keys:
        await redis_client.delete(*keys)


async def _queue_a_card(fake_slack: FakeSlack, redis_client: Redis, prefix: str) -> str:
    """A chat tier fired for a simulated agent, committed to the outbox as the monitor would."""
    clock = SystemClock()
    config = OrgConfig()
    sim = SimulatedContactCenter.build(config.simulator, clock)
    mu = (await sim.management_units())[0]
    roster = apply_org_routing(await sim.roster(mu.id), config)
    agent = next(iter(roster.agents.values()))
    for person in roster.supervisors_of(agent.id):
        fake_slack.users_by_email[person.email.lower()] = "U0SUP0001"
    now = clock.now()
    fired = FiredTier(index=0, action=TierAction.CHAT_CARD, at=now)
    incident = Incident(id=f"{mu.id}.{agent.id}.{int(now.timestamp())}", mu_id=mu.id, agent_id=agent.id,
                        team_id=agent.team_id, started_at=now - timedelta(minutes=6), policy=DEFAULT_POLICY,
                        fired=(fired,), presence="AWAY", routing="OFF_QUEUE", category="OnQueueWork")
    store = RedisStore(redis_client, prefix)
    await store.commit(mu.id, changes=[], events=[IncidentEvent(EventKind.TIER_FIRED, incident, now, tier=fired)])
    return mu.id


async def _start(port: int, prefix: str, fake_slack: FakeSlack, log: Path,
                 config: Path) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GENESYS_", "SMTP_", "SLACK_", "GRAPH_", "BOT_CONFIG"))}
    env.update(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake_slack.api_url,
               REDIS_URL=TEST_REDIS_URL, REDIS_PREFIX=prefix, LOG_LEVEL="INFO", PYTHONUNBUFFERED="1")
    env["BOT_CONFIG"] = str(config)
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", "--http", "--port",
                                                    str(port), cwd=ROOT, env=env, stdout=out, stderr=out)


async def _healthy(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(f"http://127.0.0.1:{port}/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.2)  # waiting for a process to start, not for simulated time
    raise AssertionError("the service never became healthy")


async def _terminate(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(process.wait(), 40)


def _clean(log: Path) -> str:
    text = log.read_text()
    assert "Traceback" not in text, text
    assert "CancelledError" not in text, text
    return text


async def test_sigterm_during_a_delivery_finishes_it_and_exits_0(fake_slack: FakeSlack, redis_client: Redis,
                                                                 prefix: str, tmp_path: Path) -> None:
    mu_id = await _queue_a_card(fake_slack, redis_client, prefix)
    fake_slack.slow("chat.postMessage", 2.0)
    log, port, config = tmp_path / "service.log", _free_port(), _config(tmp_path)
    process = await _start(port, prefix, fake_slack, log, config)
    try:
        await fake_slack.wait_for("chat.postMessage", timeout=60)  # in flight: answered 2 s from now
        assert await _terminate(process) == 0
    finally:
        if process.returncode is None:
            process.kill()
    text = _clean(log)
    assert "stopping" in text and "stopped" in text
    [post] = fake_slack.calls_to("chat.postMessage")
    assert len(fake_slack.messages[post.body["channel"]]) == 1
    assert (await RedisStore(redis_client, prefix).outbox_backlog(mu_id))[0] == 0

    process = await _start(port, prefix, fake_slack, log, config)  # a restart delivers nothing again
    try:
        await _healthy(port)
        assert await _terminate(process) == 0
    finally:
        if process.returncode is None:
            process.kill()
    _clean(log)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


async def test_a_delivery_longer_than_the_grace_stays_in_the_outbox(fake_slack: FakeSlack, redis_client: Redis,
                                                                    prefix: str, tmp_path: Path) -> None:
    mu_id = await _queue_a_card(fake_slack, redis_client, prefix)
    config = _config(tmp_path, 'shutdown_grace = "1s"')
    fake_slack.slow("chat.postMessage", 30.0)
    log, port = tmp_path / "service.log", _free_port()
    process = await _start(port, prefix, fake_slack, log, config)
    try:
        await fake_slack.wait_for("chat.postMessage", timeout=60)
        started = time.monotonic()
        assert await _terminate(process) == 0
        assert time.monotonic() - started < 15  # the grace, not the 30 s delivery
    finally:
        if process.returncode is None:
            process.kill()
    text = _clean(log)
    assert "cancelled at shutdown" in text
    assert (await RedisStore(redis_client, prefix).outbox_backlog(mu_id))[0] == 1  # kept for the next start
