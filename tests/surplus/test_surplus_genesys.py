"""The surplus desk with the Genesys figures (fake Genesys): the intraday workload raises the
requirement, waiting contacts veto offers and recall trainees, and a client without the permissions
measures as if Genesys said nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from services.adapters.genesys.client import GenesysClient
from services.adapters.genesys.forecast import GenesysDemand
from services.adapters.genesys.intraday import GenesysFloorSignals
from services.adapters.genesys.structure import StructureReader
from services.surplus import SurplusDesk
from testing.fake_genesys import FakeGenesys
from testing.fake_genesys.analytics import OBSERVATION_PERMISSION
from testing.fake_genesys.intraday import INTRADAY_PERMISSION, IntervalFigures
from tests.genesys.conftest import make_client
from tests.surplus.rig import DAY, Rig, build_rig
from tests.surplus.test_surplus_desk import IN_QUIET, PEAK, QUIET

CALM = IntervalFigures(offered=10.0, handle_seconds=300.0)  # 3.3 agents of work: below any requirement


@pytest.fixture
async def fake() -> AsyncIterator[FakeGenesys]:
    """One business unit in UTC with the simulator's unit ``mu-1``; its agent serves pg-1 (queue q-1)."""
    server = FakeGenesys()
    await server.start()
    server.add_business_unit("bu-1", "Contact centre", "UTC")
    server.add_unit("mu-1", "bu-1", "Unit 1")
    server.add_user("g-1", "mu-1")
    server.forecasts.add_planning_group("bu-1", "pg-1", ["q-1"])
    server.forecasts.set_agent_queues("g-1", ["q-1"])
    server.intraday.set_intraday("bu-1", DAY, "pg-1", [CALM] * 96)
    try:
        yield server
    finally:
        await server.stop()


async def _with_genesys(rig: Rig, redis: Redis, prefix: str, fake: FakeGenesys) -> tuple[SurplusDesk, GenesysClient]:
    client = make_client(fake)
    demand = GenesysDemand(client, rig.clock, structure=StructureReader(client))
    return replace(rig.desk(redis, prefix), signals=GenesysFloorSignals(client, demand, rig.clock)), client


def _index(when: datetime) -> int:
    midnight = datetime.combine(DAY, datetime.min.time(), UTC)
    return int((when - midnight) / timedelta(minutes=15))


async def test_the_intraday_workload_raises_the_requirement(redis_client: Redis, redis_prefix: str,
                                                            fake: FakeGenesys) -> None:
    plain_rig = build_rig(redis_client, redis_prefix + ":plain", [QUIET, PEAK])
    plain_rig.clock.set(plain_rig.start + IN_QUIET)
    plain = (await plain_rig.desk(redis_client, redis_prefix + ":plain").evaluate(plain_rig.mu_id)).figures
    rig = build_rig(redis_client, redis_prefix, [QUIET, PEAK])
    rig.clock.set(rig.start + IN_QUIET)
    busy = [CALM] * 96  # the next interval re-forecast busier than planned: 102 x 300 s = 34 agents of work
    busy[_index(rig.clock.now()) + 1] = IntervalFigures(offered=102.0, handle_seconds=300.0)
    fake.intraday.set_intraday("bu-1", DAY, "pg-1", busy)
    desk, client = await _with_genesys(rig, redis_client, redis_prefix, fake)
    try:
        report = await desk.evaluate(rig.mu_id)
    finally:
        await client.aclose()
    figures = report.figures
    assert plain is not None and figures is not None
    assert figures.required[0] == plain.required[0] and figures.required[2] == plain.required[2]
    assert figures.required[1] == pytest.approx(34 / 0.85) and figures.required[1] > plain.required[1]
    assert figures.seats < plain.seats and len(report.offered) <= figures.free_seats
    assert any("intraday workload 34.0 agents" in line for line in figures.why)
    saved = await desk.store.figures(rig.mu_id)
    assert "intraday workload" in saved["signals"]  # shown by /adherence surplus


async def test_waiting_contacts_veto_offers_and_recall_trainees(redis_client: Redis, redis_prefix: str,
                                                                fake: FakeGenesys) -> None:
    rig = build_rig(redis_client, redis_prefix, [QUIET, PEAK])
    desk, client = await _with_genesys(rig, redis_client, redis_prefix, fake)
    try:
        rig.clock.set(rig.start + IN_QUIET)
        offers = (await desk.evaluate(rig.mu_id)).offered
        assert len(offers) >= 2
        for offer in offers[:2]:
            assert (await desk.start(rig.mu_id, offer.offer_id, "U")).outcome == "started"
        # A few contacts waiting while agents are idle: no new offers, nobody recalled.
        fake.analytics.set_waiting("q-1", 2, idle=3)
        rig.clock.advance(timedelta(minutes=1))
        report = await desk.evaluate(rig.mu_id)
        assert report.figures is not None and report.figures.waiting == 2
        assert not report.offered and not report.recalled and report.figures.free_seats == 0
        # Far more waiting than idle agents: the requirement rises by the excess and trainees come back.
        fake.analytics.set_waiting("q-1", 60, idle=0)
        rig.clock.advance(timedelta(minutes=1))
        report = await desk.evaluate(rig.mu_id)
        assert set(report.recalled) == {o.agent_id for o in offers[:2]}
        assert report.figures is not None and any("60 contact(s) waiting" in w for w in report.figures.why)
    finally:
        await client.aclose()


async def test_without_the_permissions_the_desk_measures_as_without_genesys(
        redis_client: Redis, redis_prefix: str, fake: FakeGenesys) -> None:
    plain_rig = build_rig(redis_client, redis_prefix + ":plain", [QUIET, PEAK])
    plain_rig.clock.set(plain_rig.start + IN_QUIET)
    plain = await plain_rig.desk(redis_client, redis_prefix + ":plain").evaluate(plain_rig.mu_id)
    fake.intraday.denied, fake.analytics.denied = {INTRADAY_PERMISSION}, {OBSERVATION_PERMISSION}
    rig = build_rig(redis_client, redis_prefix, [QUIET, PEAK])
    rig.clock.set(rig.start + IN_QUIET)
    desk, client = await _with_genesys(rig, redis_client, redis_prefix, fake)
    try:
        report = await desk.evaluate(rig.mu_id)
    finally:
        await client.aclose()
    assert report.figures is not None and plain.figures is not None
    assert report.figures.required == plain.figures.required and report.figures.seats == plain.figures.seats
    assert len(report.offered) == len(plain.offered) > 0
    assert any("no permission" in line for line in report.figures.why)
