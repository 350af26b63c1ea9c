"""Issue 8, point 7: ``/health`` tells the truth.

The real monitor on real Redis with a manual clock, and the real ``/health`` route on a local
server. A store whose commits fail (our own Redis adapter, subclassed) makes ``/health`` answer 503
after three tick intervals, and 200 again once a tick commits; an outbox entry waiting too long and a
Genesys feed down longer than ``stale_after`` are 503 too, each with its reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from handlers.http import HealthChecks, build_web_app
from services.adapters.redis.store import CommitResult, RedisStore
from services.clock import ManualClock
from services.config import OrgConfig
from services.dispatch import OutboxDispatcher
from services.domain.escalation import IncidentEvent
from services.domain.model import ScheduledActivity
from services.domain.states import ActivityCategory, Presence, RoutingStatus
from services.health import HealthPolicy, ServiceHealth
from services.monitor import Monitor
from services.ports import TrackChange
from tests.monitor.scripted import Recorder, ScriptedSource

T0 = datetime(2026, 5, 18, 9, 0, tzinfo=UTC)
TICK = timedelta(seconds=15)
DAY = [ScheduledActivity(T0 - timedelta(hours=2), T0 + timedelta(hours=6), ActivityCategory.ON_QUEUE_WORK)]


class FailingStore(RedisStore):
    """The real Redis store, except that commits raise while ``failing`` is set (Redis gone mid-tick)."""

    failing = False

    async def commit(self, mu_id: str, *, changes: Sequence[TrackChange], events: Sequence[IncidentEvent],
                     **kwargs: Any) -> CommitResult:
        if self.failing:
            raise ConnectionError("commit failed (injected)")
        return await super().commit(mu_id, changes=changes, events=events, **kwargs)


class Rig:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.clock = ManualClock(T0)
        self.config = OrgConfig()
        self.source = ScriptedSource(self.clock)
        self.source.add_agent("a0", DAY)
        self.source.set_state("a0", Presence.ON_QUEUE, RoutingStatus.IDLE, since=T0 - timedelta(hours=1))
        self.store = FailingStore(redis, prefix)
        self.monitor = Monitor(source=self.source, store=self.store, config=self.config, clock=self.clock,
                               replica_id="r1")
        self.recorder = Recorder(self.clock)
        self.dispatcher = OutboxDispatcher(store=RedisStore(redis, prefix), chat=self.recorder, email=self.recorder,
                                           coaching=self.recorder, rosters=self.monitor.roster, clock=self.clock,
                                           config=self.config)
        self.feed_down: datetime | None = None
        self.health = ServiceHealth(heartbeats=self.store, clock=self.clock, replica_id="r1",
                                    feed_down_since=lambda: self.feed_down, slack=None,
                                    policy=HealthPolicy(tick=TICK, stale_after=timedelta(minutes=10),
                                                        max_outbox_age=timedelta(minutes=10)))

    async def tick(self, *, drain: bool = True) -> None:
        await self.monitor.tick()
        if drain:
            await self.dispatcher.drain(["mu-1"])
        self.clock.advance(TICK)


@pytest.fixture
async def rig(redis_client: Redis, redis_prefix: str) -> Rig:
    return Rig(redis_client, redis_prefix)


@pytest.fixture
async def server(rig: Rig) -> AsyncIterator[TestServer]:
    test_server = TestServer(build_web_app(None, HealthChecks(rig.health.check)), host="127.0.0.1")
    await test_server.start_server()
    yield test_server
    await test_server.close()


async def get_health(server: TestServer) -> tuple[int, Mapping[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(server.make_url("/health")) as response:
        return response.status, await response.json()


async def test_health_goes_503_when_commits_fail_and_back_to_200(rig: Rig, server: TestServer) -> None:
    status, body = await get_health(server)
    assert status == 503 and body["reasons"] == ["no unit has committed a tick (no heartbeat from any replica)"]
    await rig.tick()
    status, body = await get_health(server)
    assert status == 200, body
    assert body["slack"] == "console" and body["genesys"] == {"feed": "up"}
    assert body["monitor"]["this_replica_committed"] is True
    assert body["monitor"]["replicas"][0]["units"] == ["mu-1"]

    rig.store.failing = True  # the tick is still claimed every time; only the commit fails
    for _ in range(2):
        await rig.tick()
    assert (await get_health(server))[0] == 200  # 45 s since the last commit: within 3 tick intervals
    await rig.tick()
    status, body = await get_health(server)
    assert status == 503
    assert body["reasons"] == ["no unit has committed a tick for 60s (limit 45s)"]

    rig.store.failing = False
    await rig.tick()
    status, body = await get_health(server)
    assert status == 200 and body["reasons"] == []


async def test_an_outbox_entry_waiting_too_long_is_503_until_delivered(rig: Rig, server: TestServer) -> None:
    await rig.tick(drain=False)
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE)
    fired_at = T0 + TICK + timedelta(minutes=5)
    while rig.clock.now() <= fired_at + timedelta(minutes=10):  # the card waits, nobody delivers it
        await rig.tick(drain=False)
    status, body = await get_health(server)
    assert status == 503
    assert [r for r in body["reasons"] if r.startswith("the oldest undelivered outbox entry has waited")]
    assert body["outbox"]["backlog"] >= 1 and body["outbox"]["oldest_undelivered_age_seconds"] > 600
    assert rig.recorder.kinds() == []

    await rig.dispatcher.drain(["mu-1"])
    await rig.tick()
    status, body = await get_health(server)
    assert status == 200, body
    assert body["outbox"]["backlog"] == 0 and body["outbox"]["oldest_undelivered_age_seconds"] is None
    assert "post_card" in rig.recorder.kinds()


async def test_a_feed_down_longer_than_stale_after_is_503(rig: Rig, server: TestServer) -> None:
    await rig.tick()
    rig.feed_down = rig.clock.now() - timedelta(minutes=9)
    status, body = await get_health(server)
    assert status == 200 and body["genesys"]["feed"] == "down"  # down, but not yet for stale_after
    rig.feed_down = rig.clock.now() - timedelta(minutes=11)
    status, body = await get_health(server)
    assert status == 503 and body["reasons"] == ["the Genesys live feed has been down for 660s (limit 600s)"]
    rig.feed_down = None
    assert (await get_health(server))[0] == 200
