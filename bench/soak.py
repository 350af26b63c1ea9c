"""Soak benchmark: does the state in Redis stay flat over a month of incidents?

    REDIS_URL=redis://127.0.0.1:6379/0 python bench/soak.py --days 30 --agents 2000 [--day-seconds 10]

The real Monitor and OutboxDispatcher run on the manual clock against the real Redis (own key
prefix, deleted at the end), with a scripted source: every agent works 08:00-18:00; each day a
share of them goes Away once, for a few minutes (opens and resolves quietly) up to 40 minutes
(card, email, coaching). Deliveries go to in-memory ports. The shift is ticked every 10 minutes
(tiers fire on the first tick past their threshold), which keeps a day's work under its real time.

Time is compressed honestly: one simulated day takes ``--day-seconds`` of real time, every tick
waits for its real moment (logical time / scale), and every TTL of the store (state 2 days, audit
14 days, tick-claim leases) is divided by the same scale, so Redis expires keys on its own clock
exactly when they would expire in production. At the end it prints one JSON line with, per day
(measured at midnight), the number of our keys and the memory they use (MEMORY USAGE summed over
our keys, split into the audit trail and the rest; the server's used_memory is shared with whatever
else uses this Redis, so it is reported once, for reference).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis

from services.adapters.redis.store import RedisStore
from services.adapters.redis_keys import AUDIT_TTL, HISTORY_TTL, STATE_TTL
from services.clock import ManualClock
from services.config import MonitorConfig, OrgConfig
from services.dispatch import OutboxDispatcher
from services.domain.model import (
    Agent,
    AgentSchedule,
    AgentState,
    ExceptionWindow,
    ManagementUnit,
    Person,
    Roster,
    ScheduledActivity,
    Team,
)
from services.domain.states import ActivityCategory, Presence, RoutingStatus
from services.monitor import Monitor
from services.ports import CoachingRequest, IncidentView, MessageRef, StormView

T0 = datetime(2026, 6, 1, tzinfo=UTC)  # a Monday, midnight
SHIFT = (timedelta(hours=8), timedelta(hours=18))
TICK = timedelta(minutes=10)
EPISODE_MINUTES = (3, 8, 8, 20, 40)  # quiet blip, card, card, card + email, card + email + coaching
MIN_CLAIM_LEASE = timedelta(seconds=2)


class SoakSource:
    """Agents on queue through the shift, offline outside it; each day some go Away once."""

    def __init__(self, agents: int, units: int, out_share: float, clock: ManualClock, seed: int = 7) -> None:
        self.clock, self.out_share, self.rng = clock, out_share, random.Random(seed)
        people = {"sup": Person("sup", "Sam"), "ops": Person("ops", "Olga", "ops@example.com")}
        self.units = [ManagementUnit(f"mu-{u}", f"Unit {u}", ops_manager_ids=("ops",)) for u in range(units)]
        self.rosters: dict[str, Roster] = {}
        for mu in self.units:
            per_unit = agents // units
            teams = {f"{mu.id}-t{t}": Team(f"{mu.id}-t{t}", f"Team {t}", mu.id, ("sup",))
                     for t in range(max(1, per_unit // 15))}
            team_ids = list(teams)
            roster_agents = {f"{mu.id}-a{i}": Agent(f"{mu.id}-a{i}", f"Agent {i}", team_ids[i % len(team_ids)], mu.id)
                             for i in range(per_unit)}
            self.rosters[mu.id] = Roster(mu, teams, roster_agents, people)
        self.episodes: dict[str, tuple[datetime, datetime]] = {}  # agent -> (away from, back at), today
        self._schedules: dict[tuple[str, datetime], dict[str, AgentSchedule]] = {}

    def plan_day(self, day: datetime) -> int:
        """Pick today's episodes; returns how many."""
        self.episodes = {}
        shift_start, shift_end = day + SHIFT[0], day + SHIFT[1]
        for roster in self.rosters.values():
            for agent_id in roster.agents:
                if self.rng.random() < self.out_share:
                    start = shift_start + timedelta(minutes=self.rng.randrange(10, 9 * 60))
                    length = timedelta(minutes=self.rng.choice(EPISODE_MINUTES))
                    self.episodes[agent_id] = (start, min(start + length, shift_end))
        self._schedules.clear()
        return len(self.episodes)

    async def management_units(self) -> Sequence[ManagementUnit]:
        return self.units

    async def roster(self, mu_id: str) -> Roster:
        return self.rosters[mu_id]

    async def schedules(self, mu_id: str, start: datetime, end: datetime) -> Mapping[str, AgentSchedule]:
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        cached = self._schedules.get((mu_id, day))
        if cached is None:
            days = [day + timedelta(days=d) for d in range(-1, 3)]
            cached = {a: AgentSchedule.of(a, [ScheduledActivity(d + SHIFT[0], d + SHIFT[1],
                                                                ActivityCategory.ON_QUEUE_WORK) for d in days])
                      for a in self.rosters[mu_id].agents}
            self._schedules[(mu_id, day)] = cached
        return cached

    async def live_states(self, mu_id: str) -> Mapping[str, AgentState]:
        now = self.clock.now()
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        shift_start, shift_end = day + SHIFT[0], day + SHIFT[1]
        out: dict[str, AgentState] = {}
        for agent_id in self.rosters[mu_id].agents:
            if not shift_start <= now < shift_end:
                logged_off = shift_end - timedelta(days=1) if now < shift_start else shift_end
                out[agent_id] = AgentState(agent_id, Presence.OFFLINE, RoutingStatus.OFFLINE, logged_off, now)
                continue
            episode = self.episodes.get(agent_id)
            if episode is not None and episode[0] <= now < episode[1]:
                out[agent_id] = AgentState(agent_id, Presence.AWAY, RoutingStatus.OFF_QUEUE, episode[0], now)
            else:
                since = episode[1] if episode is not None and now >= episode[1] else shift_start
                out[agent_id] = AgentState(agent_id, Presence.ON_QUEUE, RoutingStatus.IDLE, since, now)
        return out

    async def approved_exceptions(self, mu_id: str, start: datetime, end: datetime) -> Sequence[ExceptionWindow]:
        return []

    def on_schedule_changed(self, callback: Any) -> None:
        return None


class Deliveries:
    """In-memory chat, email and coaching: counts what the outbox delivered."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._ts = count(1)

    def _note(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    async def post_incident_card(self, view: IncidentView) -> MessageRef:
        self._note("cards")
        return MessageRef("D1", f"{next(self._ts)}.000", permalink=None)

    async def update_incident_card(self, ref: MessageRef, view: IncidentView, event: object) -> None:
        self._note("card_updates")

    async def post_storm_card(self, view: StormView) -> MessageRef:
        self._note("storm_cards")
        return MessageRef("C1", f"{next(self._ts)}.000")

    async def update_storm_card(self, ref: MessageRef, view: StormView) -> None:
        self._note("storm_updates")

    async def send_escalation_email(self, view: IncidentView) -> None:
        self._note("emails")

    async def create_coaching_appointment(self, request: CoachingRequest) -> str:
        self._note("coaching")
        return request.idempotency_key


class ScaledStore(RedisStore):
    """The real store; tick-claim leases (real milliseconds) compressed like every other TTL."""

    scale: float = 1.0

    async def claim_tick(self, mu_id: str, tick_number: int, lease: timedelta, *, kind: str = "tick") -> str | None:
        return await super().claim_tick(mu_id, tick_number, max(MIN_CLAIM_LEASE, lease / self.scale), kind=kind)


async def our_keys(redis: Redis, prefix: str) -> list[str]:
    return [k async for k in redis.scan_iter(match=f"{prefix}:*", count=2000)]


async def memory_of(redis: Redis, keys: list[str]) -> int:
    total = 0
    for start in range(0, len(keys), 1000):
        async with redis.pipeline(transaction=False) as pipe:
            for key in keys[start:start + 1000]:
                pipe.memory_usage(key, samples=0)
            total += sum(int(v or 0) for v in await pipe.execute())
    return total


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--units", type=int, default=2)
    parser.add_argument("--out-share", type=float, default=0.15, help="share of agents going Away once a day")
    parser.add_argument("--day-seconds", type=float, default=10.0, help="real seconds per simulated day")
    return parser.parse_args(argv)


class _Pacer:
    """Holds the simulated clock to real time (``scale`` simulated seconds per real one) and notes how
    late the latest tick ran."""

    def __init__(self, scale: float) -> None:
        self.scale, self.started, self.behind = scale, time.monotonic(), 0.0

    async def at(self, when: datetime) -> None:
        wait = self.started + (when - T0).total_seconds() / self.scale - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        else:
            self.behind = max(self.behind, -wait)


@dataclass
class _Days:
    """What each simulated day leaves in Redis."""

    keys_per_day: list[int] = field(default_factory=list)
    memory_mb: list[float] = field(default_factory=list)
    audit_mb: list[float] = field(default_factory=list)  # the part of memory_mb that is the audit trail (14 days)
    episodes: list[int] = field(default_factory=list)
    by_kind: list[dict[str, int]] = field(default_factory=list)
    backlog: list[int] = field(default_factory=list)
    behind_per_day: list[float] = field(default_factory=list)

    async def record(self, redis: Redis, prefix: str, dispatcher: OutboxDispatcher, units: list[str],
                     now: datetime) -> None:
        keys = await our_keys(redis, prefix)
        self.keys_per_day.append(len(keys))
        self.memory_mb.append(round(await memory_of(redis, keys) / 1e6, 3))
        self.audit_mb.append(round(await memory_of(redis, [k for k in keys if k.endswith(":audit")]) / 1e6, 3))
        kinds: dict[str, int] = {}
        for key in keys:
            kind = key.split("}:", 1)[-1].split(":", 1)[0] if "}:" in key else key.rsplit(":", 1)[-1]
            kinds[kind] = kinds.get(kind, 0) + 1
        self.by_kind.append(dict(sorted(kinds.items())))
        self.backlog.append(sum([(await dispatcher.store.outbox_backlog(mu, now))[0] for mu in units]))

    def summary(self, scale: float) -> dict[str, Any]:
        half = len(self.keys_per_day) // 2
        keys, memory = self.keys_per_day, self.memory_mb
        return {
            "episodes_per_day": round(sum(self.episodes) / len(self.episodes), 1),
            "keys_per_day": keys,
            "used_memory_mb": memory,
            "audit_mb": self.audit_mb,
            "state_mb": [round(m - a, 3) for m, a in zip(memory, self.audit_mb, strict=True)],
            "keys_by_kind_last_day": self.by_kind[-1] if self.by_kind else {},
            "outbox_backlog_per_day": self.backlog,
            "keys_growth_second_half": round(keys[-1] / max(1, keys[half]), 3) if half else None,
            "memory_growth_second_half": round(memory[-1] / max(1e-9, memory[half]), 3) if half else None,
            # Honest only while the work of a day fits in its real time: a tick that runs late shifts
            # its keys' expiry by as much (scaled: 1 s late = scale seconds of simulated time).
            "behind_real_s_per_day": self.behind_per_day,
            "max_behind_simulated_min": round(max(self.behind_per_day, default=0.0) * scale / 60, 1),
        }


async def soak(args: argparse.Namespace, redis_url: str) -> dict[str, Any]:
    scale = timedelta(days=1).total_seconds() / args.day_seconds
    redis: Redis = Redis.from_url(redis_url, decode_responses=True)
    prefix = f"soak-{uuid.uuid4().hex[:8]}"
    clock = ManualClock(T0)
    config = OrgConfig(monitor=MonitorConfig(tick=TICK))
    source = SoakSource(args.agents, args.units, args.out_share, clock)

    def store() -> ScaledStore:
        made = ScaledStore(redis, prefix, ttl=STATE_TTL / scale, audit_ttl=AUDIT_TTL / scale,
                           history_ttl=HISTORY_TTL / scale)
        made.scale = scale
        return made

    monitor = Monitor(source=source, store=store(), config=config, clock=clock, replica_id="soak")
    deliveries = Deliveries()
    dispatcher = OutboxDispatcher(store=store(), chat=deliveries, email=deliveries, coaching=deliveries,
                                  rosters=monitor.roster, clock=clock, config=config)
    units = [mu.id for mu in source.units]
    days = _Days()
    pacer = _Pacer(scale)
    try:
        await monitor.start()
        for day_number in range(args.days):
            day = T0 + timedelta(days=day_number)
            days.episodes.append(source.plan_day(day))
            now = day + SHIFT[0] - TICK
            while now <= day + SHIFT[1] + TICK:
                clock.set(now)
                await pacer.at(now)
                await monitor.tick()
                await dispatcher.drain(units)
                now += TICK
            await pacer.at(day + timedelta(days=1))  # the night passes (on the scaled clock)
            days.behind_per_day.append(round(pacer.behind, 2))
            pacer.behind = 0.0
            await days.record(redis, prefix, dispatcher, units, clock.now())
        info = await redis.info("memory")
        return {
            "prefix": prefix, "days": args.days, "agents": args.agents, "units": args.units,
            "day_seconds": args.day_seconds,
            "scale": round(scale), "ticks_per_day": int((SHIFT[1] - SHIFT[0] + 2 * TICK) / TICK) + 1,
            "delivered": deliveries.counts,
            **days.summary(scale),
            "server_used_memory_mb": round(int(info["used_memory"]) / 1e6, 1),
            "wall_s": round(time.monotonic() - pacer.started, 1),
        }
    finally:
        keys = await our_keys(redis, prefix)
        for start in range(0, len(keys), 1000):
            await redis.delete(*keys[start:start + 1000])
        await redis.aclose()


async def main() -> None:
    result = await soak(parse_args(), os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
