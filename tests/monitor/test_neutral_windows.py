"""Neutral windows planned ahead, through the real monitor loop: a scripted source, a manual clock, and the
real Redis (the Redis neutral-window store and RedisStore), and the same on the in-memory versions."""

from __future__ import annotations

from datetime import datetime, timedelta

from redis.asyncio import Redis

from services.adapters.redis.neutral import RedisNeutralWindows
from services.domain.escalation import EventKind
from services.domain.neutral import NeutralWindow
from services.domain.states import Presence, RoutingStatus
from services.monitor import Monitor
from services.ports import NeutralWindows
from testing.memory_neutral import MemoryNeutralWindows
from tests.monitor.test_monitor_on_redis import ON_QUEUE_DAY, TICK, Rig, at
from tests.store_backends import RedisBackend, StoreBackend


def window(start: float, end: float, team_id: str | None = "t1", wid: str = "w1") -> NeutralWindow:
    return NeutralWindow(id=wid, mu_id="mu-1", team_id=team_id, scope_name="Team t1", start=at(start), end=at(end),
                         reason="system maintenance", created_by="Olga Ops", created_at=at(0))


def neutral_store(backend: StoreBackend) -> NeutralWindows:
    if isinstance(backend, RedisBackend):
        return RedisNeutralWindows(backend.redis, backend.prefix)
    return MemoryNeutralWindows()


class NeutralRig(Rig):
    def __init__(self, backend: StoreBackend, neutral: NeutralWindows) -> None:
        super().__init__(backend, agents=2)
        self.source.add_agent("b0", ON_QUEUE_DAY, team_id="t2")  # another team: never covered
        self.source.set_state("b0", Presence.ON_QUEUE, RoutingStatus.IDLE, since=at(-60))
        self.neutral = neutral
        self.monitor = Monitor(source=self.source, store=self.backend.new_store(), config=self.config,
                               clock=self.clock, replica_id="r1", neutral=neutral)
        self.dispatcher = self.new_dispatcher()
        self.log: list[tuple[str, EventKind, str, datetime]] = []

    async def until(self, minutes: float) -> None:
        while self.clock.now() <= at(minutes):
            report = await self.monitor.tick()
            self.log += [(e.incident.agent_id, e.kind, e.tier.action.value if e.tier else "", e.at)
                         for e in report.events]
            await self.dispatcher.drain(["mu-1"])
            self.clock.advance(TICK)

    def of(self, agent_id: str) -> list[tuple[EventKind, str, datetime]]:
        return [(k, a, t) for who, k, a, t in self.log if who == agent_id]


async def test_a_window_set_ahead_suppresses_incidents_inside_it_and_not_outside(store_backend: StoreBackend) -> None:
    neutral = neutral_store(store_backend)
    rig = NeutralRig(store_backend, neutral)
    await neutral.save_neutral(window(60, 90))  # 10:00-10:30 for team t1, planned at 09:00
    await rig.until(49)
    rig.source.set_state("a1", Presence.AWAY, RoutingStatus.OFF_QUEUE)  # 09:49:45, before the window
    await rig.until(61)
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE)  # 10:01:15, inside
    await rig.until(64)
    rig.source.set_state("b0", Presence.AWAY, RoutingStatus.OFF_QUEUE)  # 10:04:15, other team
    await rig.until(84)
    rig.source.set_state("a0", Presence.ON_QUEUE, RoutingStatus.IDLE)  # back before the window ends
    await rig.until(99)
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE)  # 10:39:15, after it
    await rig.until(106)

    assert rig.of("a0") == [(EventKind.OPENED, "", at(99.25)), (EventKind.TIER_FIRED, "chat_card", at(104.25))]
    # Out before the window: opened and carded, excused when the window starts; still out after it
    # ends, a new incident opens whose clock starts at the window's end.
    assert rig.of("a1") == [
        (EventKind.OPENED, "", at(49.25)), (EventKind.TIER_FIRED, "chat_card", at(54.25)),
        (EventKind.EXCUSED, "", at(60)),
        (EventKind.OPENED, "", at(90)), (EventKind.TIER_FIRED, "chat_card", at(95)),
        (EventKind.TIER_FIRED, "email", at(105)),
    ]
    assert rig.of("b0")[:2] == [(EventKind.OPENED, "", at(64.25)), (EventKind.TIER_FIRED, "chat_card", at(69.25))]


async def test_a_whole_unit_window_covers_every_team_and_a_cancelled_one_nothing(store_backend: StoreBackend) -> None:
    neutral = neutral_store(store_backend)
    rig = NeutralRig(store_backend, neutral)
    await neutral.save_neutral(window(0, 30, team_id=None, wid="unit"))
    await neutral.save_neutral(window(0, 30, wid="gone"))
    result = await neutral.cancel_neutral("mu-1", "unit", "Olga Ops", at(0))
    assert result is not None and result[1] is True
    await rig.until(1)
    rig.source.set_state("b0", Presence.AWAY, RoutingStatus.OFF_QUEUE)  # only the cancelled window covers b0
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE)  # team t1: "gone" still covers it
    await rig.until(8)
    assert [k for k, _, _ in rig.of("b0")] == [EventKind.OPENED, EventKind.TIER_FIRED]
    assert rig.of("a0") == []


async def test_cancel_is_idempotent_and_says_who_cancelled_first(store_backend: StoreBackend) -> None:
    neutral = neutral_store(store_backend)
    await neutral.save_neutral(window(60, 90))
    first = await neutral.cancel_neutral("mu-1", "w1", "Olga Ops", at(1))
    second = await neutral.cancel_neutral("mu-1", "w1", "Sam Supervisor", at(2))
    assert first is not None and second is not None
    assert first[1] is True and second[1] is False
    assert (second[0].cancelled_by, second[0].cancelled_at) == ("Olga Ops", at(1))
    assert await neutral.cancel_neutral("mu-1", "nope", "Olga Ops", at(2)) is None


async def test_the_redis_hash_expires_a_day_after_the_window_and_writes_are_audited(
        redis_client: Redis, redis_prefix: str) -> None:
    neutral = RedisNeutralWindows(redis_client, redis_prefix)
    await neutral.save_neutral(window(60, 90))
    await neutral.cancel_neutral("mu-1", "w1", "Olga Ops", at(1))
    key = f"{redis_prefix}:{{mu-1}}:neutral"
    ttl = await redis_client.pttl(key)
    assert timedelta(days=1, minutes=90) - timedelta(seconds=5) < timedelta(milliseconds=ttl) \
        <= timedelta(days=1, minutes=90)
    entries = await redis_client.xrange(f"{redis_prefix}:{{mu-1}}:audit") or []
    assert [(f["kind"], f["neutral"], f["actor"]) for _, f in entries if f] == [
        ("neutral_planned", "w1", "Olga Ops"), ("neutral_cancelled", "w1", "Olga Ops")]
    # A window planned two days later prunes the one that ended more than a day before.
    later = NeutralWindow(id="w2", mu_id="mu-1", team_id=None, scope_name="unit", start=at(3000), end=at(3060),
                          reason="team event", created_by="Olga Ops", created_at=at(2900))
    await neutral.save_neutral(later)
    assert [w.id for w in await neutral.neutral_windows("mu-1")] == ["w2"]
    assert set(await redis_client.hkeys(key)) == {"w2"}
