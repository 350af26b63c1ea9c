"""Two ``python -m bot run`` processes on a real Redis Cluster, against the fake Genesys, the fake
Slack Web API and a real SMTP server, on the real clock with a 1 s tick and tiers at 4/8/12 s.
(The owner is killed once tier 1 is delivered: 4 s before tier 2 is due; the lease is 3 ticks.)

An agent goes Away; the replica that owns the agent's unit fires and delivers tier 1, and is then
killed with SIGKILL mid-violation. The other replica takes the unit over when the dead one's lease
runs out and fires tiers 2 and 3. Every tier is delivered exactly once, counted where it lands:
one Slack card, one email, one coaching appointment, and one ``tier_fired`` per tier in the audit.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP
from redis.asyncio import Redis

from services.adapters.redis.codec import event_from_json
from services.adapters.redis.store import RedisStore
from services.adapters.redis_keys import UnitKeys, replicas_key
from services.domain.rendezvous import owner_of
from testing.fake_genesys import FakeActivity, FakeGenesys
from testing.fake_slack import BOT_TOKEN, FakeSlack
from tests.cluster.conftest import CLUSTER_URL
from tests.email.smtp_server import Inbox, serve
from tests.slack.signed import SIGNING_SECRET

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
ROOT = Path(__file__).resolve().parents[2]
AGENT, UNIT = "agent-a1-1", "mu-a"
TIER_DONE = re.compile(r":tier_fired:(\d+)$")
LIVE_PAIR = re.compile(r"live replicas: [^,\s]+, [^,\s]+")

CONFIG = """
[monitor]
tick = "1s"

[[tiers]]
after = "4s"
action = "chat_card"

[[tiers]]
after = "8s"
action = "email"

[[tiers]]
after = "12s"
action = "coaching"

[storm]
enabled = false

[people.sup-a1]
name = "Sam Supervisor"
email = "sam@example.com"
slack_user_id = "U0SUP0001"

[people.ops-a]
name = "Olga Ops"
email = "olga@example.com"

[management_units.mu-a]
ops_managers = ["ops-a"]

[management_units.mu-a.teams.team-a1]
supervisors = ["sup-a1"]
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _world(fake: FakeGenesys) -> None:
    """Two units, one team each, agents on queue from an hour ago for the next eight hours."""
    fake.add_business_unit("bu-1", "Contact centre", "UTC")
    now = datetime.now(UTC).replace(microsecond=0)
    for mu_id, team in ((UNIT, "team-a1"), ("mu-b", "team-b1")):
        fake.add_unit(mu_id, "bu-1", f"Unit {mu_id}")
        fake.add_team(team, f"Team {team}")
        fake.add_user(f"sup-{team[5:]}", "", name=f"Supervisor {team}", team_id=None)
        for i in (1, 2):
            agent = f"agent-{team[5:]}-{i}"
            fake.add_user(agent, mu_id, name=f"Agent {agent}", team_id=team, manager_id=f"sup-{team[5:]}",
                          presence="On Queue", routing="IDLE")
            fake.set_activities(agent, [FakeActivity(now - timedelta(hours=1), 540, "ac-onq")])


async def _until(what: str, predicate: Callable[[], object], timeout: float,
                 procs: list[asyncio.subprocess.Process]) -> None:
    """Poll real servers while real processes work (the bots run on the real clock)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        dead = [p.pid for p in procs if p.returncode is not None and p.returncode != -signal.SIGKILL]
        if dead or time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f"; bot process(es) {dead} exited" if dead else ""))
        await asyncio.sleep(0.2)


@pytest.fixture
async def servers() -> AsyncIterator[tuple[FakeGenesys, FakeSlack, Inbox]]:
    fake = await FakeGenesys().start()
    _world(fake)
    slack = await FakeSlack().start()
    inbox = Inbox()
    smtp, smtp_port = await serve(lambda: SMTP(inbox, hostname="mail.test"))
    inbox.port = smtp_port  # type: ignore[attr-defined]
    try:
        yield fake, slack, inbox
    finally:
        smtp.close()
        await slack.stop()
        await fake.stop()


def _replica_env(servers: tuple[FakeGenesys, FakeSlack, Inbox], prefix: str, config: Path) -> dict[str, str]:
    """What a replica reads: the cluster, the fakes' addresses and credentials, the unit's config."""
    fake, slack, inbox = servers
    return {**os.environ, "REDIS_URL": CLUSTER_URL, "REDIS_CLUSTER": "1", "REDIS_PREFIX": prefix,
            "BOT_CONFIG": str(config), "PYTHONUNBUFFERED": "1",
            "GENESYS_CLIENT_ID": fake.client_id, "GENESYS_CLIENT_SECRET": fake.client_secret,
            "GENESYS_API_URL": fake.api_url, "GENESYS_LOGIN_URL": fake.login_url,
            "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack.api_url, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(inbox.port), "SMTP_STARTTLS": "false"}  # type: ignore[attr-defined]


async def _stop(procs: list[asyncio.subprocess.Process]) -> None:
    """SIGTERM the replicas still running, SIGKILL one that does not stop within 20 s."""
    for proc in procs:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            proc.kill()


async def test_a_replica_killed_mid_violation_loses_no_tier_and_repeats_none(
        cluster_client: Redis, cluster_prefix: str, servers: tuple[FakeGenesys, FakeSlack, Inbox],
        tmp_path: Path) -> None:
    fake, slack, inbox = servers
    config = tmp_path / "bot.toml"
    config.write_text(CONFIG)
    env = _replica_env(servers, cluster_prefix, config)
    logs = [tmp_path / f"replica{i}.log" for i in (1, 2)]
    procs = []
    for log in logs:
        with log.open("wb") as out:
            procs.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--http", "--port", str(_free_port()),
                cwd=ROOT, env=env, stdout=out, stderr=asyncio.subprocess.STDOUT))
    by_pid = {p.pid: p for p in procs}
    keys = UnitKeys(cluster_prefix, UNIT)

    async def live() -> list[str]:
        return [str(m) for m in await cluster_client.zrange(replicas_key(cluster_prefix), 0, -1)]

    async def tiers_delivered() -> list[str]:
        """Tier indexes whose outbox entry is done (step keys, ``...:tier_fired:0:card``, are not counted)."""
        # One key per delivery (each with its TTL); the unit's hash tag keeps them on one node.
        tiers = []
        async for key in cluster_client.scan_iter(match=keys.delivered("*")):
            if match := TIER_DONE.search(str(key)):
                tiers.append(match.group(1))
        return sorted(tiers)

    async def both_live() -> bool:
        return len(await live()) == 2

    try:
        await _until("both replicas registered", both_live, 60, procs)

        def each_sees_both() -> bool:  # logged by the refresh that splits the units between them
            return all(LIVE_PAIR.search(log.read_text()) for log in logs)

        await _until("each replica seeing the other", each_sees_both, 30, procs)
        replicas = await live()
        owner_pid = int(str(owner_of(UNIT, replicas)).rsplit(":", 1)[1])
        assert owner_pid in by_pid

        await fake.set_presence(AGENT, "Away")

        async def first_tier_done() -> bool:
            return "0" in await tiers_delivered()

        await _until("tier 1 delivered", first_tier_done, 30, procs)
        by_pid[owner_pid].send_signal(signal.SIGKILL)  # mid-violation: tiers 2 and 3 are still to come
        await by_pid[owner_pid].wait()
        assert await tiers_delivered() == ["0"]

        await _until("the coaching appointment", lambda: fake.appointments, 60, procs)
        await _until("the email", lambda: inbox.messages, 10, procs)
        await asyncio.sleep(3)  # three more ticks: nothing may arrive twice
    finally:
        await _stop(procs)
    output = "\n".join(f"--- {log.name}\n{log.read_text()}" for log in logs)

    cards = [m for msgs in slack.messages.values() for m in msgs if m.thread_ts is None]
    assert len(cards) == 1, output
    assert len(inbox.messages) == 1, output
    assert len(fake.appointments) == 1, output
    audit = await RedisStore(cluster_client, cluster_prefix).audit(UNIT)
    fired = [event_from_json(entry["event"]) for entry in audit if entry.get("kind") == "tier_fired"]
    assert sorted(e.tier.index for e in fired if e.tier) == [0, 1, 2], output  # each tier once, none twice
    assert await tiers_delivered() == ["0", "1", "2"], output
    survivor = next(i for i, p in enumerate(procs) if p.pid != owner_pid)
    assert procs[survivor].returncode == 0, output
    assert "now monitors 2 of 2 unit(s)" in logs[survivor].read_text(), output  # it took the dead one's unit
    assert "Traceback" not in output, output
