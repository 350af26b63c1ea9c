"""Genesys request latency and status codes, events received and channels connected, on /metrics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from services import telemetry
from services.adapters.genesys.source import GenesysSource
from services.clock import ManualClock
from services.telemetry import Telemetry
from testing.fake_genesys import FakeGenesys
from tests.genesys.conftest import Sleeps, eventually, make_client
from tests.observability.scrape import total, value

BUS = "/api/v2/workforcemanagement/businessunits"


@pytest.fixture
def metrics() -> Iterator[Telemetry]:
    yield telemetry.install()
    telemetry.install()


async def test_every_attempt_is_timed_and_counted_by_status(fake: FakeGenesys, metrics: Telemetry) -> None:
    fake.fail(BUS + "$", 503)
    client = make_client(fake, sleep=Sleeps())
    try:
        await client.get(BUS)
    finally:
        await client.aclose()
    assert value(metrics, "adherence_genesys_requests_total", method="GET", route=BUS, status="503") == 1
    assert value(metrics, "adherence_genesys_requests_total", method="GET", route=BUS, status="200") == 1
    assert value(metrics, "adherence_genesys_request_duration_seconds_count", method="GET", route=BUS) == 2
    # the token fetch goes through the same client (the auth flow), so it is measured too
    assert value(metrics, "adherence_genesys_requests_total", method="POST", route="/oauth/token", status="200") == 1


async def test_ids_in_paths_become_one_route(fake: FakeGenesys, metrics: Telemetry) -> None:
    client = make_client(fake, sleep=Sleeps())
    try:
        await client.get(f"{BUS}/bu-1/managementunits")
    finally:
        await client.aclose()
    # "bu-1" has a digit but is short; a uuid-like id is folded
    assert telemetry.route_of("/api/v2/users/5f3c1b2a-9d1e-4c1b-8f00-0a1b2c3d4e5f/presences") == \
        "/api/v2/users/{id}/presences"
    assert total(metrics, "adherence_genesys_requests_total", status="200") >= 1


async def test_events_and_connected_channels(metrics: Telemetry, source: GenesysSource, fake: FakeGenesys,
                                             clock: ManualClock) -> None:
    # ``metrics`` comes first: the source's hub registers its channel gauge on this fresh registry
    connected = value(metrics, "adherence_genesys_channels_connected")
    assert connected == sum(1 for c in source.hub.channels if c.connected) >= 1
    clock.advance(timedelta(seconds=40))
    await fake.set_presence("agent-b2-3", "Away")
    await eventually(lambda: total(metrics, "adherence_genesys_events_total") >= 1, what="an event counted")
    # the unit adherence topic (the fake permits it); ids like "mu-b" are not Genesys ids, so not folded
    assert total(metrics, "adherence_genesys_events_total",
                 topic="v2.workforcemanagement.managementunits.mu-b.adherence") >= 1
    await source.close()
    assert value(metrics, "adherence_genesys_channels_connected") == 0
