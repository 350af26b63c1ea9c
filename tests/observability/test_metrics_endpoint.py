"""``/metrics`` over real HTTP after simulated ticks (ManualClock, real Redis): the tick histogram,
a fired tier, deliveries, open incidents and the outbox backlog read from Redis."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis

from bot.metrics import StateGauges, stream_backlog
from handlers.http import HealthChecks, build_web_app
from services import telemetry
from services.adapters.redis.store import OUTBOX_GROUP, RedisStore
from services.adapters.redis_keys import BOOKING_GROUP, BookingKeys
from services.config import parse_org_config
from services.domain.states import Presence, RoutingStatus
from services.health import HealthReport
from services.telemetry import Telemetry
from tests.monitor.test_monitor_on_redis import TICK, Rig, at
from tests.observability.scrape import total, value


@pytest.fixture
def metrics() -> Iterator[Telemetry]:
    yield telemetry.install()
    telemetry.install()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _unhealthy() -> HealthReport:
    return HealthReport(False, ("no unit has committed a tick (no heartbeat from any replica)",))


@pytest.fixture
async def serve() -> AsyncIterator[list[web.AppRunner]]:
    runners: list[web.AppRunner] = []
    yield runners
    for runner in runners:
        await runner.cleanup()


async def _scrape(app: web.Application, runners: list[web.AppRunner]) -> tuple[str, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    runners.append(runner)
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as response:
        assert response.status == 200
        return await response.text(), response.headers["Content-Type"]


async def test_a_scrape_after_ticks_shows_the_tick_histogram_and_the_fired_tier(
        metrics: Telemetry, redis_client: Redis, redis_prefix: str, serve: list[web.AppRunner]) -> None:
    # Every tick a full sweep: the gauge counts the agents the last tick evaluated (between full sweeps,
    # only those that changed).
    rig = Rig(redis_client, redis_prefix, parse_org_config({"monitor": {"full_sweep": "0s"}}), agents=3)
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE, since=at(0))
    ticks = 0
    while rig.clock.now() <= at(5.5):  # ticks only: the card is not delivered yet
        await rig.monitor.tick()
        rig.clock.advance(TICK)
        ticks += 1
    gauges = StateGauges(RedisStore(redis_client, prefix=redis_prefix), lambda: rig.monitor.units,
                         BookingKeys(redis_prefix))
    app = build_web_app(None, HealthChecks(_unhealthy), metrics=gauges.refresh)

    text, content_type = await _scrape(app, serve)
    assert content_type.startswith("text/plain")
    assert value(text, "adherence_tick_duration_seconds_count", mu_id="mu-1") == ticks
    assert value(text, "adherence_tick_duration_seconds_sum", mu_id="mu-1") > 0  # type: ignore[operator]
    assert value(text, "adherence_tick_duration_seconds_bucket", mu_id="mu-1", le="+Inf") == ticks
    assert value(text, "adherence_agents_evaluated", mu_id="mu-1") == 3
    assert value(text, "adherence_tiers_fired_total", mu_id="mu-1", action="chat_card") == 1
    assert value(text, "adherence_incidents_open", mu_id="mu-1", status="open") == 1
    assert value(text, "adherence_outbox_backlog", mu_id="mu-1") == 1  # the card waits in the outbox
    assert value(text, "adherence_outbox_oldest_age_seconds", mu_id="mu-1") >= 0  # type: ignore[operator]
    assert total(text, "adherence_deliveries_total") == 0

    await rig.dispatcher.drain(["mu-1"])
    text, _ = await _scrape(app, serve)
    assert value(text, "adherence_deliveries_total", channel="card") == 1
    assert value(text, "adherence_outbox_backlog", mu_id="mu-1") == 0
    assert value(text, "adherence_outbox_oldest_age_seconds", mu_id="mu-1") == 0
    assert value(text, "adherence_booking_queue_depth") == 0


async def test_a_tick_claimed_by_another_replica_is_counted_not_timed(metrics: Telemetry, redis_client: Redis,
                                                                      redis_prefix: str) -> None:
    rig = Rig(redis_client, redis_prefix)
    other = rig.new_monitor("r2")
    for _ in range(3):
        await rig.monitor.tick()  # r1 claims each tick first
        await other.tick()
        rig.clock.advance(TICK)
    assert value(metrics, "adherence_tick_duration_seconds_count", mu_id="mu-1") == 3
    assert value(metrics, "adherence_ticks_not_claimed_total", mu_id="mu-1") == 3


async def test_a_failed_delivery_is_counted_by_channel(metrics: Telemetry, redis_client: Redis,
                                                       redis_prefix: str) -> None:
    rig = Rig(redis_client, redis_prefix)
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE, since=at(0))
    rig.recorder.fail_next = 1
    await rig.run_until(5)  # the tier fires at 5:00 and its card fails
    assert value(metrics, "adherence_delivery_failures_total", channel="card") == 1
    assert value(metrics, "adherence_deliveries_total", channel="card") is None  # retried later, not yet
    await rig.run_until(5.25)  # the next tick: the backoff (5 s) has passed
    assert value(metrics, "adherence_deliveries_total", channel="card") == 1


async def test_stream_backlog_counts_pending_and_unread_entries_with_the_oldest_age(redis_client: Redis,
                                                                                    redis_prefix: str) -> None:
    stream = f"{redis_prefix}:stream"
    empty = await stream_backlog(redis_client, stream, BOOKING_GROUP)  # no stream yet: nothing waits
    assert (empty.count, empty.oldest_age) == (0, None)
    await redis_client.xgroup_create(stream, OUTBOX_GROUP, id="0", mkstream=True)
    first = await redis_client.xadd(stream, {"n": "1"}, id="1000-0")
    await redis_client.xadd(stream, {"n": "2"}, id="2000-0")
    await redis_client.xadd(stream, {"n": "3"}, id="3000-0")
    await redis_client.xreadgroup(OUTBOX_GROUP, "c1", {stream: ">"}, count=2)  # two taken, one never read
    await redis_client.xack(stream, OUTBOX_GROUP, first)
    backlog = await stream_backlog(redis_client, stream, OUTBOX_GROUP, now=10.0)
    assert backlog.count == 2  # the pending 2000-0 and the unread 3000-0
    assert backlog.oldest_age == 8.0  # 10 s - 2000 ms
