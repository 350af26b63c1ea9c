"""The surplus's Genesys figures against the fake: intraday (inline, through a downloadUrl, after a
Processing answer), queue observations, and a client without the permissions (403 once, then none)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest

from services.adapters.genesys.forecast import GenesysDemand
from services.adapters.genesys.intraday import GenesysFloorSignals
from services.adapters.genesys.structure import StructureReader
from services.clock import ManualClock
from services.domain.surplus_signals import refine
from testing.fake_genesys import FakeGenesys
from testing.fake_genesys.analytics import OBSERVATION_PERMISSION
from testing.fake_genesys.intraday import INTRADAY_PERMISSION, IntervalFigures
from tests.genesys.conftest import START, agents_of, make_client

DAY = date(2026, 5, 18)  # START is 10:00 in Berlin, the business unit's zone: interval 40 of its day


@pytest.fixture
async def signals(fake: FakeGenesys, clock: ManualClock) -> AsyncIterator[GenesysFloorSignals]:
    client = make_client(fake)
    try:
        yield GenesysFloorSignals(client, GenesysDemand(client, clock, structure=StructureReader(client)), clock)
    finally:
        await client.aclose()


def _plan(fake: FakeGenesys) -> None:
    """pg-voice routes q-1; mu-a's agents are in q-1, mu-b's in no queue: mu-a carries all of pg-voice."""
    fake.forecasts.add_planning_group("bu-1", "pg-voice", ["q-1"])
    for agent in agents_of("mu-a"):
        fake.forecasts.set_agent_queues(agent, ["q-1"])
    day = [IntervalFigures(offered=30.0, handle_seconds=300.0, on_queue_seconds=9000.0)] * 96
    day[41] = IntervalFigures(offered=60.0, handle_seconds=450.0, on_queue_seconds=9000.0, service_level=55.0)
    fake.intraday.set_intraday("bu-1", DAY, "pg-voice", day)


async def test_intraday_figures_per_interval_refine_the_requirement(fake: FakeGenesys, clock: ManualClock,
        signals: GenesysFloorSignals) -> None:
    _plan(fake)
    fake.analytics.set_waiting("q-1", 4, idle=1)
    reading = await signals.read("mu-a", START, 3)
    assert [f.workload_agents if f else None for f in reading.intraday] == [10.0, 30.0, 10.0]
    assert [f.service_level if f else None for f in reading.intraday] == [80.0, 55.0, 80.0]
    assert (reading.waiting, reading.idle_on_queue) == (4, 1)
    [call] = fake.requests_to(r"/businessunits/bu-1/intraday$", "POST")
    assert call.body["businessUnitDate"] == "2026-05-18" and call.body["planningGroupIds"] == ["pg-voice"]
    assert set(call.body["categories"]) == {"ForecastData", "ScheduleData", "PerformancePredictionData"}
    [observed] = fake.requests_to(r"/analytics/queues/observations/query$", "POST")
    assert observed.body["metrics"] == ["oWaiting", "oOnQueueUsers"]
    assert [p["value"] for p in observed.body["filter"]["predicates"]] == ["q-1"]
    refined = refine((8.0, 8.0, 12.0), reading, max_occupancy=0.8, min_service_level=60.0)
    # workload / occupancy floors the requirement, 3 contacts waiting beyond the idle agent add 3 now,
    # and the interval predicted at 55 % service has no surplus.
    assert refined.required == (12.5 + 3, 37.5, 12.5)
    assert refined.vetoed == (1,)


async def test_a_download_and_a_processing_answer(fake: FakeGenesys, clock: ManualClock,
        signals: GenesysFloorSignals) -> None:
    _plan(fake)
    fake.intraday.delivery, fake.intraday.processing_rounds = "download", 1
    first = await signals.read("mu-a", START, 2)
    assert first.intraday == (None, None)
    assert any("still processing" in note for note in first.notes)
    second = await signals.read("mu-a", START, 2)  # the next evaluation asks again
    assert [f.workload_agents if f else None for f in second.intraday] == [10.0, 30.0]
    assert len(fake.requests_to(r"^/downloads/", "GET")) == 1
    # A day's figures are kept five minutes.
    await signals.read("mu-a", START + timedelta(minutes=1), 2)
    assert len(fake.requests_to(r"/intraday$", "POST")) == 2
    clock.advance(timedelta(minutes=6))
    await signals.read("mu-a", clock.now(), 2)
    assert len(fake.requests_to(r"/intraday$", "POST")) == 3


async def test_no_data_is_no_figure(fake: FakeGenesys, clock: ManualClock,
        signals: GenesysFloorSignals) -> None:
    _plan(fake)
    fake.intraday.days.clear()  # the business unit has no intraday data for the day: noDataReason
    reading = await signals.read("mu-a", START, 2)
    assert reading.intraday == (None, None)
    assert refine((5.0, 5.0), reading, max_occupancy=0.85, min_service_level=80.0).required == (5.0, 5.0)


async def test_a_client_without_the_permissions_warns_once_and_goes_without(
        fake: FakeGenesys, clock: ManualClock, signals: GenesysFloorSignals,
        caplog: pytest.LogCaptureFixture) -> None:
    _plan(fake)
    fake.intraday.denied, fake.analytics.denied = {INTRADAY_PERMISSION}, {OBSERVATION_PERMISSION}
    with caplog.at_level(logging.WARNING, logger="services.adapters.genesys.intraday"):
        first = await signals.read("mu-a", START, 3)
        clock.advance(timedelta(minutes=1))
        second = await signals.read("mu-a", clock.now(), 3)
    for reading in (first, second):
        assert reading.intraday == () and reading.waiting is None
    assert any("wfm:intraday:view" in n for n in first.notes)
    assert any("analytics:queueObservation:view" in n for n in first.notes)
    ours = "services.adapters.genesys.intraday"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == ours]
    assert len(warnings) == 2  # one per route, not one per evaluation
    assert len(fake.requests_to(r"/intraday$", "POST")) == 1  # not asked again within the hour
    assert len(fake.requests_to(r"/observations/query$", "POST")) == 1
    assert refine((5.0, 5.0, 5.0), second, max_occupancy=0.85, min_service_level=80.0).required == (5.0, 5.0, 5.0)
    # Granted later: asked again after the hour, without a new warning.
    fake.intraday.denied, fake.analytics.denied = set(), set()
    clock.advance(timedelta(hours=1))
    with caplog.at_level(logging.WARNING, logger="services.adapters.genesys.intraday"):
        third = await signals.read("mu-a", clock.now(), 1)
    assert third.waiting == 0 and third.intraday != ()
    assert len([r for r in caplog.records if r.levelno == logging.WARNING and r.name == ours]) == 2
