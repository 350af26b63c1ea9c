"""Tier timing benchmark: how late each tier fires against its threshold, in real time.

    python bench/tier_timing.py [--agents 100] [--out 20] [--spread 10] [--redis redis://127.0.0.1:6379/15]

A real-time run on the real clock and a real Redis: the service's own pieces (the monitor ticking every
15 s, the due-time waker, delivery woken by each commit, the outbox dispatcher) with accelerated tiers
(card at 2 s, email at 4 s, coaching at 6 s). ``--out`` agents go out at random instants over
``--spread`` seconds, pushed as live state changes; the tick (15 s) cannot explain on-time firing.
Prints one JSON line: ``lateness_ms_p50/p99/max`` of every tier's firing (the committed event's
instant) against its threshold, and ``handoff_ms_*`` from the threshold to the moment the card, email
or coaching request was handed to the chat/SMTP/coaching port.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis

from bot.service_jobs import deliver_on_commit
from services.adapters.redis.store import RedisStore
from services.clock import SystemClock
from services.config import parse_org_config
from services.dispatch import OutboxDispatcher
from services.domain.escalation import IncidentEvent
from services.domain.model import (
    ManagementUnit,
    Person,
    ScheduledActivity,
    Team,
)
from services.domain.states import ActivityCategory, Presence, RoutingStatus
from services.due_waker import DueWaker
from services.monitor import Monitor
from services.ports import CoachingRequest, IncidentView, MessageRef, StormView
from testing.workforce import MemoryWorkforce

TIERS_S = (2.0, 4.0, 6.0)
CONFIG = {"monitor": {"tick": "15s"},
          "tiers": [{"after": "2s", "action": "chat_card"}, {"after": "4s", "action": "email"},
                    {"after": "6s", "action": "coaching"}]}


class PushSource(MemoryWorkforce):
    """One unit, everyone on queue all day; agents go out when the benchmark pushes it (each read
    confirms what the source holds, as a push source does)."""

    def __init__(self, agents: int, clock: SystemClock) -> None:
        super().__init__(clock)
        self.add_unit(ManagementUnit("mu-1", "Unit", ops_manager_ids=("ops",)))
        self.people.update({"sup": Person("sup", "Sup"), "ops": Person("ops", "Ops")})
        team_ids = [f"t{t}" for t in range(max(1, agents // 10))]
        for t, team_id in enumerate(team_ids):
            self.add_team(Team(team_id, f"Team {t}", "mu-1", ("sup",)))
        now = clock.now()
        day = [ScheduledActivity(now - timedelta(hours=1), now + timedelta(hours=8), ActivityCategory.ON_QUEUE_WORK)]
        for i in range(agents):
            self.add_agent(f"a{i}", day, team_ids[i % len(team_ids)], name=f"Agent {i}")
            self.set_state(f"a{i}", Presence.ON_QUEUE, RoutingStatus.IDLE, since=now - timedelta(minutes=30))


class HandOffs:
    """Chat, email and coaching ports that only note when each delivery was handed to them."""

    def __init__(self, clock: SystemClock) -> None:
        self.clock = clock
        self.at: list[tuple[str, str, datetime]] = []

    async def post_incident_card(self, view: IncidentView) -> MessageRef:
        self.at.append(("chat_card", view.incident.agent_id, self.clock.now()))
        return MessageRef("D1", uuid.uuid4().hex)

    async def update_incident_card(self, ref: MessageRef, view: IncidentView, event: object) -> None:
        return None

    async def post_storm_card(self, view: StormView) -> MessageRef:
        return MessageRef("C1", uuid.uuid4().hex)

    async def update_storm_card(self, ref: MessageRef, view: StormView) -> None:
        return None

    async def send_escalation_email(self, view: IncidentView) -> None:
        self.at.append(("email", view.incident.agent_id, self.clock.now()))

    async def create_coaching_appointment(self, request: CoachingRequest) -> str:
        self.at.append(("coaching", request.agent_id, self.clock.now()))
        return request.idempotency_key


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 1), "p99": round(p99, 1), "max": round(ordered[-1], 1)}


async def run(agents: int, out: int, spread: float, url: str, *, waker: bool) -> dict[str, float | int]:
    redis = Redis.from_url(url, decode_responses=True)
    prefix = f"bench-tiers-{uuid.uuid4().hex[:8]}"
    clock = SystemClock()
    config = parse_org_config(CONFIG)
    source = PushSource(agents, clock)
    store = RedisStore(redis, prefix=prefix)
    monitor = Monitor(source=source, store=store, config=config, clock=clock, replica_id="bench")
    ports = HandOffs(clock)
    dispatcher = OutboxDispatcher(store=store, chat=ports, email=ports, coaching=ports, rosters=monitor.roster,
                                  clock=clock, config=config, consumer="bench")
    busy = asyncio.Lock()

    async def drain() -> None:
        async with busy:
            await dispatcher.drain(["mu-1"])

    async def guarded(job: Callable[[], Awaitable[object]]) -> object:
        async with busy:
            return await job()

    async def ticking(stop: asyncio.Event) -> None:
        while not stop.is_set():
            async with busy:
                await monitor.tick()
                await dispatcher.drain(["mu-1"])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=config.monitor.tick.total_seconds())

    await monitor.start()
    stop = asyncio.Event()
    started = time.monotonic()
    tasks = [asyncio.create_task(ticking(stop))]
    if waker:  # else the baseline: tiers fire and cards are delivered on ticks only (before the due-time index)
        tasks += [asyncio.create_task(DueWaker(monitor, clock, max_wait=config.monitor.tick, guard=guarded).run(stop)),
                  asyncio.create_task(deliver_on_commit(monitor, drain, stop))]
    rng = random.Random(11)
    leaving = sorted((rng.uniform(0.5, spread), f"a{i}") for i in rng.sample(range(agents), out))
    events: list[IncidentEvent] = []
    for offset, agent_id in leaving:
        await asyncio.sleep(max(0.0, started + offset - time.monotonic()))
        now = clock.now()
        source.set_state(agent_id, Presence.AWAY, RoutingStatus.OFF_QUEUE, since=now)
        events += await monitor.on_state_change("mu-1", source.current_states("mu-1")[agent_id])
    settle = 2.0 if waker else 2.0 + 2 * config.monitor.tick.total_seconds()  # every delivery, on ticks
    await asyncio.sleep(max(0.0, started + spread + TIERS_S[-1] + settle - time.monotonic()))
    stop.set()
    await asyncio.gather(*tasks)

    lateness, handoff = await _timings(store, ports)
    keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()
    late, hand = percentiles(lateness), percentiles(handoff)
    return {
        "tiers_fired": len(lateness), "handed_off": len(handoff),
        "lateness_ms_p50": late["p50"], "lateness_ms_p99": late["p99"], "lateness_ms_max": late["max"],
        "handoff_ms_p50": hand["p50"], "handoff_ms_p99": hand["p99"], "handoff_ms_max": hand["max"],
    }


async def _timings(store: RedisStore, ports: HandOffs) -> tuple[list[float], list[float]]:
    """Milliseconds after its threshold that each tier fired (from the audit) and was handed off."""
    lateness, thresholds = [], {}
    for entry in await store.audit("mu-1", count=100_000):
        if entry["kind"] != "tier_fired":
            continue
        body = json.loads(entry["event"])
        incident, tier = body["incident"], body["tier"]
        threshold = datetime.fromisoformat(incident["started_at"]) + timedelta(seconds=TIERS_S[tier["index"]])
        thresholds[(tier["action"], incident["agent_id"])] = threshold
        lateness.append((datetime.fromisoformat(tier["at"]) - threshold).total_seconds() * 1000)
    handoff = [(when - thresholds[(what, agent_id)]).total_seconds() * 1000
               for what, agent_id, when in ports.at if (what, agent_id) in thresholds]
    return lateness, handoff


async def main(agents: int, out: int, spread: float, url: str) -> dict[str, object]:
    started = datetime.now(UTC).isoformat(timespec="seconds")
    timed = await run(agents, out, spread, url, waker=True)
    baseline = await run(agents, out, spread, url, waker=False)
    return {"bench": "tier_timing", "agents": agents, "out": out, "tiers_s": list(TIERS_S), "tick_s": 15.0,
            "tiers_expected": out * 3, **timed, "baseline_tick_only": baseline, "started": started}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--out", type=int, default=20, help="agents that go out (at random instants)")
    parser.add_argument("--spread", type=float, default=10.0, help="seconds over which they go out")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.agents, args.out, args.spread, args.redis))))
