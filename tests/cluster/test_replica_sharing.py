"""Management units spread over replicas: rendezvous ownership over a live-replica registry in Redis,
each tick still claimed with its fencing token; a replica that stops beating hands its units over
within its lease, and an incident it was escalating fires every tier exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from redis.asyncio import Redis

from services.adapters.redis.replicas import RedisReplicaRegistry
from services.adapters.redis.store import RedisStore
from services.clock import ManualClock
from services.config import OrgConfig
from services.dispatch import OutboxDispatcher
from services.domain.escalation import EventKind
from services.domain.model import AgentSchedule, AgentState, ExceptionWindow, ManagementUnit, Roster
from services.domain.rendezvous import owner_of, units_of
from services.domain.states import Presence, RoutingStatus
from services.monitor import Monitor
from services.ports import ScheduleChanged
from services.replicas import UnitOwnership
from tests.monitor.scripted import Recorder, ScriptedSource
from tests.monitor.test_monitor_on_redis import ON_QUEUE_DAY, T0, TICK, at

UNITS = [f"mu-{i}" for i in range(8)]
LEASE = TICK * 3


def test_rendezvous_gives_each_unit_one_owner_and_moves_only_the_leavers_units() -> None:
    units = [f"mu-{i}" for i in range(300)]
    three = ["r1", "r2", "r3"]
    shares = {r: units_of(r, units, three) for r in three}
    assert sorted(u for owned in shares.values() for u in owned) == sorted(units)  # each unit exactly once
    assert all(70 <= len(owned) <= 130 for owned in shares.values()), {r: len(o) for r, o in shares.items()}
    # r3 leaves: its units are spread over r1 and r2, and no unit of r1 or r2 moves.
    two = ["r1", "r2"]
    for unit in units:
        before = owner_of(unit, three)
        if before != "r3":
            assert owner_of(unit, two) == before
    assert owner_of("mu-1", []) is None
    assert units_of("r9", ["mu-1"], []) == ["mu-1"]  # a replica alone (not yet listed) owns everything


class Units:
    """Several scripted units behind one WorkforceSource (one ScriptedSource per unit)."""

    def __init__(self, clock: ManualClock) -> None:
        self.by_unit = {mu: ScriptedSource(clock, mu) for mu in UNITS}
        for mu, source in self.by_unit.items():
            source.add_agent(f"{mu}-a", ON_QUEUE_DAY)
            source.set_state(f"{mu}-a", Presence.ON_QUEUE, RoutingStatus.IDLE, since=at(-60))

    async def management_units(self) -> Sequence[ManagementUnit]:
        return [s.mu for s in self.by_unit.values()]

    async def roster(self, mu_id: str) -> Roster:
        return await self.by_unit[mu_id].roster(mu_id)

    async def schedules(self, mu_id: str, start: datetime, end: datetime) -> Mapping[str, AgentSchedule]:
        return await self.by_unit[mu_id].schedules(mu_id, start, end)

    async def live_states(self, mu_id: str) -> Mapping[str, AgentState]:
        return await self.by_unit[mu_id].live_states(mu_id)

    async def approved_exceptions(self, mu_id: str, start: datetime, end: datetime) -> Sequence[ExceptionWindow]:
        return await self.by_unit[mu_id].approved_exceptions(mu_id, start, end)

    def on_schedule_changed(self, callback: ScheduleChanged) -> None:
        for source in self.by_unit.values():
            source.on_schedule_changed(callback)


class Replica:
    def __init__(self, name: str, redis: Redis, prefix: str, world: Units, clock: ManualClock,
                 recorder: Recorder) -> None:
        self.ownership = UnitOwnership(RedisReplicaRegistry(redis, prefix), name, LEASE)
        self.monitor = Monitor(source=world, store=RedisStore(redis, prefix), config=OrgConfig(), clock=clock,
                               replica_id=name, ownership=self.ownership)
        self.dispatcher = OutboxDispatcher(store=RedisStore(redis, prefix), chat=recorder, email=recorder,
                                           coaching=recorder, rosters=self.monitor.roster, clock=clock,
                                           config=OrgConfig(), consumer=name)
        self.claimed: Counter[str] = Counter()

    async def tick(self) -> list[tuple[str, str]]:
        report = await self.monitor.tick()
        self.claimed.update(u.mu_id for u in report.units if u.claimed)
        await self.dispatcher.drain(self.monitor.owned_units())
        return [(e.incident.agent_id, e.tier.action.value) for e in report.events
                if e.kind is EventKind.TIER_FIRED and e.tier is not None]


async def test_replicas_share_the_units_and_a_dead_ones_units_move_within_the_lease(
        redis_client: Redis, redis_prefix: str) -> None:
    clock = ManualClock(T0)
    world = Units(clock)
    recorder = Recorder(clock)
    r1, r2 = (Replica(n, redis_client, redis_prefix, world, clock, recorder) for n in ("r1", "r2"))
    fired: list[tuple[str, str]] = []

    async def both() -> None:
        for events in await asyncio.gather(r1.tick(), r2.tick()):
            fired.extend(events)
        clock.advance(TICK)

    for _ in range(4):
        await both()
    # From the second tick on both know each other: each tried only its own units, and got them all.
    mine1, mine2 = r1.monitor.owned_units(), r2.monitor.owned_units()
    assert mine1 and mine2 and sorted(mine1 + mine2) == sorted(UNITS)
    assert set(mine1) == set(units_of("r1", UNITS, ["r1", "r2"]))

    # An agent of one of r2's units goes away; r2 fires the first tier, then stops beating (dies).
    victim = mine2[0]
    world.by_unit[victim].set_state(f"{victim}-a", Presence.AWAY, RoutingStatus.OFF_QUEUE)
    away_at = clock.now()
    while clock.now() < away_at + timedelta(minutes=6):
        await both()
    assert fired == [(f"{victim}-a", "chat_card")]
    dead_at = clock.now()
    while clock.now() < away_at + timedelta(minutes=32):
        fired.extend(await r1.tick())
        clock.advance(TICK)
        if clock.now() >= dead_at + LEASE + TICK:
            assert sorted(r1.monitor.owned_units()) == sorted(UNITS)  # the lease ran out: r1 took over
    assert fired == [(f"{victim}-a", "chat_card"), (f"{victim}-a", "email"), (f"{victim}-a", "coaching")]
    deliveries = [what for what, incident, _ in recorder.calls if what in ("post_card", "email", "coaching")]
    assert deliveries == ["post_card", "email", "coaching"]  # each tier delivered exactly once


async def test_a_replica_that_leaves_hands_over_at_the_next_tick(redis_client: Redis, redis_prefix: str) -> None:
    clock = ManualClock(T0)
    world = Units(clock)
    recorder = Recorder(clock)
    r1, r2 = (Replica(n, redis_client, redis_prefix, world, clock, recorder) for n in ("r1", "r2"))
    for _ in range(2):
        await asyncio.gather(r1.tick(), r2.tick())
        clock.advance(TICK)
    assert len(r1.monitor.owned_units()) < len(UNITS)
    await r2.ownership.leave()
    await r1.tick()
    assert sorted(r1.monitor.owned_units()) == sorted(UNITS)
