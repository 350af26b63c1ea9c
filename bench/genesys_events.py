"""Genesys events benchmark: state changes from the Notification WebSocket into evaluations.

    python bench/genesys_events.py [--agents 5000] [--units 10] [--rounds 2] [--path evaluate|monitor]
                                   [--topics auto|user]

``--topics auto`` (the product default): each unit's management-unit adherence topic (one topic per
unit; the fake permits it); ``user``: one topic per agent (the fallback, and what worked before; it
stops at 20 channels x 1,000 topics, so ``--agents 50000 --topics user`` leaves 30,000 agents to REST).

``--path monitor``: each change goes through the wired path instead of a bare ``evaluate``: handed to
``Monitor.push`` by ``GenesysSource.on_state_pushed`` as bot/container.py wires it (coalesced per
agent, committed in micro-batches by the Lua commit on the real Redis at ``REDIS_URL``, default DB
15); the time runs until the last batch is committed.

The fake Genesys (testing/fake_genesys) runs in its own process so that its cost is not
counted against the adapter. The adapter starts (token, structure, channels, subscriptions, REST
reconciliation), then the fake changes every agent's presence ``rounds`` times (Away, On Queue, ...)
and pushes each change on the agent's topic. Every change that reaches ``on_state_changed`` is
evaluated with ``services.domain.adherence.evaluate``.

Prints one JSON line: ``agents``, ``events_per_s`` (changes pushed / time from the first push to the
last evaluation), ``cpu_us_per_event`` / ``fake_cpu_us_per_event`` (each process's CPU during the
burst per change: comparable on a shared machine), ``start_to_first_evaluation_s`` (from
``start()`` to the first evaluation of a pushed change), ``peak_rss_mb`` (adapter process), plus
the baseline measured in the same run: one REST poll of every agent's presence + routing (what a
poll-based monitor does each cycle).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import resource
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis

from bot.redis_connection import make_client
from services.adapters.genesys.client import ClientOptions
from services.adapters.genesys.source import GenesysSource, SourceOptions
from services.adapters.redis.store import RedisStore
from services.clock import SystemClock
from services.config import OrgConfig
from services.domain.adherence import Status, evaluate
from services.domain.model import AgentSchedule, AgentState
from services.heap import freeze_long_lived
from services.monitor import Monitor


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---- the fake, in its own process ---------------------------------------------------------------------------

def run_fake(conn: Connection, agents: int, units: int) -> None:
    asyncio.run(_fake_main(conn, agents, units))


async def _fake_main(conn: Connection, agents: int, units: int) -> None:
    from testing.fake_genesys import FakeActivity, FakeGenesys

    fake = FakeGenesys(SystemClock())
    await fake.start()
    now = datetime.now(UTC)
    plan = [FakeActivity(now - timedelta(hours=2), 8 * 60, "ac-onq")]
    fake.add_business_unit("bu-1", "Bench BU", "UTC")
    ids: list[str] = []
    for u in range(units):
        mu_id = f"mu-{u:02d}"
        fake.add_unit(mu_id, "bu-1")
        for i in range(agents // units + (1 if u < agents % units else 0)):
            team = f"team-{u:02d}-{i // 100:02d}"
            if team not in fake.teams:
                fake.add_team(team)
            agent = f"agent-{u:02d}-{i:05d}"
            fake.add_user(agent, mu_id, team_id=team, presence="On Queue", routing="IDLE")
            fake.set_activities(agent, plan)
            ids.append(agent)
    conn.send((fake.api_url, fake.login_url, fake.client_id, fake.client_secret))
    loop = asyncio.get_running_loop()
    while True:
        command, arg = await loop.run_in_executor(None, conn.recv)
        if command == "burst":
            started, cpu_started = time.perf_counter(), time.process_time()
            pushed = 0
            for round_ in range(arg):
                presence = "Away" if round_ % 2 == 0 else "On Queue"
                for agent in ids:
                    await fake.set_presence(agent, presence)
                    pushed += 1
            conn.send((pushed, time.perf_counter() - started, _rss_mb(), time.process_time() - cpu_started))
        elif command == "stop":
            break
    await fake.stop()


# ---- the adapter under test ------------------------------------------------------------------------------------

class CountingStore(RedisStore):
    """The real store, counting the commits (one per micro-batch and unit on the pushed path)."""

    commits: int = 0

    async def commit(self, mu_id: str, **kwargs: Any) -> Any:
        self.commits += 1
        return await super().commit(mu_id, **kwargs)


@dataclass
class _Counter:
    """What reaches the listener: evaluated (bare) or handed to ``Monitor.push`` (wired), timed, and settled
    once every agent shows the final presence of the burst."""

    clock: SystemClock
    config: OrgConfig
    agents: int
    rounds: int
    schedules: dict[str, AgentSchedule] = field(default_factory=dict)
    monitor: Monitor | None = None
    evaluated: int = 0
    non_adherent: int = 0
    first_at: float | None = None
    last_at: float = 0.0
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    last_seen: dict[str, str] = field(default_factory=dict)
    final: int = 0  # agents whose last seen presence is final_presence

    def __post_init__(self) -> None:
        self.rules = self.config.rules_for(None)  # once, not per event
        self.stale_after = self.config.monitor.stale_after
        self.final_presence = "AWAY" if self.rounds % 2 == 1 else "ON_QUEUE"

    def on_change(self, mu_id: str, state: AgentState) -> None:
        if self.monitor is not None:
            self.monitor.push(mu_id, state)  # the wired path: evaluated and committed in micro-batches
        else:
            now = self.clock.now()
            schedule = self.schedules.get(state.agent_id)
            result = evaluate(state.agent_id, schedule.activity_at(now) if schedule else None, state, now,
                              self.rules, stale_after=self.stale_after)
            self.non_adherent += result.status is Status.NON_ADHERENT
        self.evaluated += 1
        stamp = time.perf_counter()
        if self.first_at is None:
            self.first_at = stamp
        self.last_at = stamp
        # Agents whose last seen presence is the final one, counted as they change (not rescanned per
        # event: the bench must not add a cost that grows with the roster to every event).
        final_presence = self.final_presence
        before = self.last_seen.get(state.agent_id)
        seen = self.last_seen[state.agent_id] = state.presence.value if state.presence else "?"
        self.final += (seen == final_presence) - (before == final_presence)
        if self.final == self.agents and self.evaluated >= self.agents * (self.rounds - 1):
            self.settled.set()

    async def on_change_awaited(self, mu_id: str, state: AgentState) -> None:
        self.on_change(mu_id, state)

    def lost(self) -> int:
        """Agents whose last change never reached an evaluation."""
        return (sum(1 for v in self.last_seen.values() if v != self.final_presence)
                + self.agents - len(self.last_seen))


async def _wired_monitor(source: GenesysSource, config: OrgConfig,
                         clock: SystemClock) -> tuple[Monitor, CountingStore, Redis]:
    redis = make_client(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"))  # the bot's client
    store = CountingStore(redis, prefix=f"bench-events-{uuid.uuid4().hex[:8]}")
    monitor = Monitor(source=source, store=store, config=config, clock=clock, replica_id="bench")
    await monitor.tick()  # rosters, schedules and a first full evaluation, before the burst
    store.commits = 0
    freeze_long_lived()  # as bot/service.py does after its first tick
    return monitor, store, redis


async def _drain(source: GenesysSource, monitor: Monitor, store: CountingStore, redis: Redis,
                 counter: _Counter) -> int:
    """Commit the last batch (the time includes every commit), count from the board, clean up: the commits."""
    await monitor.flush_pushed()
    counter.last_at = time.perf_counter()
    boards = [await store.statuses(mu.id) for mu in await source.management_units()]
    counter.non_adherent = sum(value.startswith("NON_ADHERENT") for board in boards for value in board.values())
    keys = [k async for k in redis.scan_iter(match=f"{store.prefix}:*", count=1000)]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()
    return store.commits


async def measure(conn: Connection, agents: int, rounds: int, path: str = "evaluate",
                  topics: str = "auto") -> dict[str, Any]:
    api_url, login_url, client_id, secret = conn.recv()
    clock = SystemClock()
    source = GenesysSource.from_settings(
        client_id=client_id, client_secret=secret, api_url=api_url, login_url=login_url, config=OrgConfig(),
        clock=clock, options=SourceOptions(maintenance_every=3600.0, start_timeout=120.0,
                                           unit_topics=topics != "user"),
        client_options=ClientOptions(max_concurrency=10))
    config = OrgConfig()
    counter = _Counter(clock, config, agents, rounds)
    if path == "monitor":
        source.on_state_pushed(counter.on_change)  # as bot/container.py wires Monitor.push: called, not queued
    else:
        source.on_state_changed(counter.on_change_awaited)
    started = time.perf_counter()
    await source.start()
    start_s = time.perf_counter() - started
    window = (clock.now() - timedelta(hours=1), clock.now() + timedelta(hours=8))
    for mu in await source.management_units():
        counter.schedules.update(await source.schedules(mu.id, *window))
    wired = await _wired_monitor(source, config, clock) if path == "monitor" else None
    counter.monitor = wired[0] if wired else None

    burst_started, cpu_started = time.perf_counter(), time.process_time()
    conn.send(("burst", rounds))
    pushed, push_s, fake_rss, fake_cpu_s = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    with contextlib.suppress(TimeoutError):  # reported as "settled": false
        await asyncio.wait_for(counter.settled.wait(), timeout=120)
    commits = await _drain(source, *wired, counter) if wired else 0
    elapsed = counter.last_at - burst_started
    cpu_s = time.process_time() - cpu_started
    baseline_started = time.perf_counter()  # after the burst: not counted in the time to first evaluation
    ok = await source.reconcile(list(counter.schedules))
    baseline_s = time.perf_counter() - baseline_started
    channels = len(source.hub.channels)
    subscribed = sum(len(c.permitted) for c in source.hub.channels)
    lost = counter.lost()  # after the baseline and before close, as the count always was
    await source.close()
    conn.send(("stop", 0))
    return {
        "path": path,
        "commits": commits,
        "agents": agents,
        "events_per_s": round(pushed / elapsed, 1) if elapsed > 0 else None,
        "start_to_first_evaluation_s": round((counter.first_at or time.perf_counter()) - started, 3),
        "peak_rss_mb": round(_rss_mb(), 1),
        "events_pushed": pushed,
        "evaluations": counter.evaluated,
        "coalesced": agents * rounds - counter.evaluated,
        "non_adherent_evaluations": counter.non_adherent,
        "settled": counter.settled.is_set(),
        "start_s": round(start_s, 3),
        "channels": channels,
        "topics": topics,
        "topics_subscribed": subscribed,
        "unit_topic_units": len(source.topic_choice.unit),
        "lost": lost,  # agents whose last change never reached an evaluation
        "fake_push_per_s": round(pushed / push_s, 1),
        # CPU per event of each process, whatever else runs on the machine: the two cores' worth.
        "cpu_us_per_event": round(cpu_s / pushed * 1e6, 1),
        "fake_cpu_us_per_event": round(fake_cpu_s / pushed * 1e6, 1),
        "baseline_rest_poll_s": round(baseline_s, 3) if ok else None,
        "baseline_rest_poll_agents_per_s": round(agents / baseline_s, 1) if ok else None,
        "fake_peak_rss_mb": round(fake_rss, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=5000)
    parser.add_argument("--units", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--path", choices=("evaluate", "monitor"), default="evaluate")
    parser.add_argument("--topics", choices=("auto", "user"), default="auto")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    fake = context.Process(target=run_fake, args=(theirs, args.agents, args.units), daemon=True)
    fake.start()
    try:
        result = asyncio.run(measure(ours, args.agents, args.rounds, args.path, args.topics))
    finally:
        fake.join(timeout=10)
        if fake.is_alive():
            fake.terminate()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
