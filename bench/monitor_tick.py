"""Monitor tick benchmark: N agents evaluated and synced to real Redis per tick, against baselines.

    python bench/monitor_tick.py --agents 10000 [--changing 0.01] [--ticks 20] [--out-share 0.05]

Prints one JSON line. ``--changing`` is the share of agents whose live state changes per tick (the
others are confirmed unchanged). Measured: the monitor as configured (ticks between full sweeps
evaluate only what changed), then in the same run the full-evaluation path (``full_sweep = "0s"``,
every agent every tick: the behaviour before) on the same data, and the seed's loop shape (one store
read, and a write when changed, per agent). Compare ratios.

``peak_rss_mb`` is the process's peak over the whole run, when it holds both monitors' caches;
``monitor_peak_rss_mb`` is the peak before the full path's monitor ticks, with one monitor's data
(what the bot holds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import sys
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis
from redis.asyncio.connection import Connection, ConnectionPool

from services.adapters.redis.codec import track_from_json, track_to_json
from services.adapters.redis.store import RedisStore
from services.clock import ManualClock
from services.config import MonitorConfig, OrgConfig
from services.domain.adherence import evaluate
from services.domain.escalation import advance
from services.domain.model import AgentSchedule, ManagementUnit, Person, ScheduledActivity, Team
from services.domain.states import ActivityCategory, Presence, RoutingStatus
from services.monitor import Monitor
from testing.workforce import MemoryWorkforce

T0 = datetime(2026, 5, 18, 9, 0, tzinfo=UTC)
TICK = timedelta(seconds=15)
ROUNDTRIPS = 0


class CountingConnection(Connection):
    """Counts round trips: one per packed send (a pipeline or a script call is one)."""

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        global ROUNDTRIPS
        ROUNDTRIPS += 1
        await super().send_packed_command(command, check_health)


class SyntheticSource(MemoryWorkforce):
    """N agents over ``units`` units; ``out_share`` of them Away during on-queue work, the rest flapping
    on queue. Reports which agents changed (``ChangeReporting``) unless ``report_changes`` is off."""

    def __init__(self, agents: int, out_share: float, clock: ManualClock, units: int) -> None:
        super().__init__(clock, confirm_on_read=False, report_changes=True)
        rng = random.Random(7)
        self.people.update({"sup": Person("sup", "Sup"), "ops": Person("ops", "Ops")})
        per_unit = agents // units
        for u in range(units):
            mu = ManagementUnit(f"mu-{u}", f"Unit {u}", ops_manager_ids=("ops",))
            self.add_unit(mu)
            team_ids = [f"{mu.id}-t{t}" for t in range(max(1, per_unit // 15))]
            for t, team_id in enumerate(team_ids):
                self.add_team(Team(team_id, f"Team {t}", mu.id, ("sup",)))
            for i in range(per_unit):
                agent_id = f"{mu.id}-a{i}"
                start = T0 - timedelta(hours=2) + timedelta(minutes=rng.randrange(0, 60))
                self.add_agent(agent_id, [
                    ScheduledActivity(start, start + timedelta(hours=3), ActivityCategory.ON_QUEUE_WORK),
                    ScheduledActivity(start + timedelta(hours=3), start + timedelta(hours=3, minutes=15),
                                      ActivityCategory.BREAK),
                    ScheduledActivity(start + timedelta(hours=3, minutes=15), start + timedelta(hours=8),
                                      ActivityCategory.ON_QUEUE_WORK),
                ], team_ids[i % len(team_ids)], mu_id=mu.id, name=f"Agent {i}")
                out = rng.random() < out_share
                presence, routing = ((Presence.AWAY, RoutingStatus.OFF_QUEUE) if out
                                     else (Presence.ON_QUEUE, RoutingStatus.IDLE))
                self.set_state(agent_id, presence, routing, since=T0 - timedelta(minutes=1))
                self.observe(agent_id, T0)
        self._flip = 0

    def advance(self, changing: float = 0.25) -> None:
        """Flap ``changing`` of the agents between IDLE and INTERACTING (normal handling), a different
        slice each tick; the others are confirmed (observed now)."""
        now = self.clock.now()
        self._flip += 1
        for mu_id in self.units:
            states = self.current_states(mu_id)
            size = len(states)
            count = round(changing * size)
            first = (self._flip * count) % size if size else 0
            for index, (agent_id, state) in enumerate(list(states.items())):
                if state.presence is Presence.ON_QUEUE and (index - first) % size < count:
                    routing = (RoutingStatus.INTERACTING if state.routing is RoutingStatus.IDLE
                               else RoutingStatus.IDLE)
                    self.set_state(agent_id, state.presence, routing, since=now)
                else:
                    self.observe(agent_id, now)


async def naive_tick(redis: Redis, prefix: str, source: SyntheticSource,
                     schedules_by_mu: Mapping[str, Mapping[str, AgentSchedule]], config: OrgConfig,
                     now: datetime) -> None:
    """The seed's shape: for every agent, read its state from the store, evaluate, write it back."""
    for mu in source.units.values():
        roster, schedules = await source.roster(mu.id), schedules_by_mu[mu.id]
        states, rules, policy = await source.live_states(mu.id), config.rules_for(mu.id), config.policy_for(mu.id)
        key = f"{prefix}:naive:{mu.id}"
        for agent_id, agent in roster.agents.items():
            body = await redis.hget(key, agent_id)
            track = track_from_json(body) if body else None
            activity = schedules[agent_id].activity_at(now)
            evaluation = evaluate(agent_id, activity, states.get(agent_id), now, rules,
                                  stale_after=config.monitor.stale_after)
            new, _events = advance(track, evaluation, now, mu_id=mu.id, team_id=agent.team_id, policy=policy)
            if new is not track:
                if new is None:
                    await redis.hdel(key, agent_id)
                else:
                    await redis.hset(key, agent_id, track_to_json(new))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--units", type=int, default=1, help="management units the agents are spread over")
    parser.add_argument("--ticks", type=int, default=20)
    parser.add_argument("--out-share", type=float, default=0.05)
    parser.add_argument("--changing", type=float, default=0.25, help="share of agents changing state per tick")
    parser.add_argument("--full-ticks", type=int, default=5, help="ticks of the full-evaluation path; 0 skips")
    parser.add_argument("--baseline-ticks", type=int, default=3, help="0 skips the naive baseline")
    parser.add_argument("--compare-states", action="store_true",
                        help="the source reports no change set: the monitor compares every state")
    return parser.parse_args()


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _result(args: argparse.Namespace, times: list[float], trips: list[int], evaluated: list[int],
            full_times: list[float], naive_times: list[float], naive_trips: list[int],
            monitor_rss_mb: float) -> dict[str, Any]:
    result: dict[str, Any] = {
        "agents": args.agents,
        "units": args.units,
        "ticks": args.ticks,
        "changing": args.changing,
        "source_change_set": not args.compare_states,
        "evaluated_per_tick_p50": statistics.median(evaluated),
        "tick_ms_p50": round(statistics.median(times), 1),
        "tick_ms_p95": round(percentile(times, 0.95), 1),
        "redis_roundtrips_per_tick": max(trips),
        "peak_rss_mb": _peak_rss_mb(),
        "monitor_peak_rss_mb": monitor_rss_mb,
    }
    if full_times:
        result.update({
            "full_tick_ms_p50": round(statistics.median(full_times), 1),
            "full_tick_ms_p95": round(percentile(full_times, 0.95), 1),
            "speedup_vs_full": round(statistics.median(full_times) / statistics.median(times), 1),
        })
    if naive_times:
        result.update({
            "baseline_tick_ms_p50": round(statistics.median(naive_times), 1),
            "baseline_roundtrips_per_tick": max(naive_trips),
            "speedup_vs_baseline": round(statistics.median(naive_times) / statistics.median(times), 1),
        })
    return result


async def _naive_ticks(args: argparse.Namespace, redis: Redis, prefix: str, source: SyntheticSource,
                       config: OrgConfig, clock: ManualClock) -> tuple[list[float], list[int]]:
    """The seed's loop shape, ``--baseline-ticks`` times: its times and round trips."""
    global ROUNDTRIPS
    naive_times, naive_trips = [], []
    window = (clock.now() - timedelta(hours=12), clock.now() + timedelta(hours=36))
    schedules_by_mu = {mu_id: await source.schedules(mu_id, *window) for mu_id in source.units}
    for _ in range(args.baseline_ticks):
        source.advance(args.changing)
        ROUNDTRIPS = 0
        started = time.perf_counter()
        await naive_tick(redis, prefix, source, schedules_by_mu, config, clock.now())
        naive_times.append((time.perf_counter() - started) * 1000)
        naive_trips.append(ROUNDTRIPS)
        clock.advance(TICK)
    return naive_times, naive_trips


async def main() -> None:
    args = _arguments()
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    pool = ConnectionPool.from_url(url, decode_responses=True, connection_class=CountingConnection)
    redis = Redis(connection_pool=pool)
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    clock = ManualClock(T0)
    config = OrgConfig()
    source = SyntheticSource(args.agents, args.out_share, clock, args.units)
    source.report_changes = not args.compare_states
    monitor = Monitor(source=source, store=RedisStore(redis, prefix), config=config, clock=clock, replica_id="bench")
    full_config = OrgConfig(monitor=MonitorConfig(full_sweep=timedelta(0)))
    full = Monitor(source=source, store=RedisStore(redis, f"{prefix}-full"), config=full_config, clock=clock,
                   replica_id="bench-full")

    async def measure(tick_monitor: Monitor, ticks: int) -> tuple[list[float], list[int], list[int]]:
        global ROUNDTRIPS
        times, trips, evaluated = [], [], []
        for _ in range(ticks):
            source.advance(args.changing)
            ROUNDTRIPS = 0
            started = time.perf_counter()
            report = await tick_monitor.tick()
            times.append((time.perf_counter() - started) * 1000)
            trips.append(ROUNDTRIPS)
            evaluated.append(sum(u.evaluated for u in report.units))
            clock.advance(TICK)
        return times, trips, evaluated

    try:
        await monitor.tick()  # warm-up: schedule cache, first full status write
        clock.advance(TICK)
        times, trips, evaluated = await measure(monitor, args.ticks)
        monitor_rss_mb = _peak_rss_mb()  # before the full path's monitor fills its own cache
        full_times: list[float] = []
        if args.full_ticks:
            await full.tick()  # its warm-up
            clock.advance(TICK)
            full_times, _, _ = await measure(full, args.full_ticks)
        naive_times, naive_trips = await _naive_ticks(args, redis, prefix, source, config, clock)
        print(json.dumps(_result(args, times, trips, evaluated, full_times, naive_times, naive_trips,
                                 monitor_rss_mb)))
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
