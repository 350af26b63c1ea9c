"""Booking on real WFM data: demand from the Genesys staffing requirement (fake Genesys, downloadUrl),
the no-forecast policy, and facilitators' availability from their WFM schedule and Graph free/busy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import numpy as np
import pytest
from aiohttp import web
from pydantic import SecretStr
from redis.asyncio import Redis

from services.adapters.booking.graph import GraphRoomCalendar
from services.adapters.booking.redis_stores import RedisActivityLog, RedisRegisters, RedisRoomCalendar
from services.adapters.booking.workforce import WorkforceBookingData
from services.adapters.genesys.activities import GenesysActivityWriter
from services.adapters.genesys.forecast import GenesysDemand, pick_forecast
from services.adapters.genesys.people import GenesysPeopleSchedules
from services.adapters.genesys.planning import POOLED, PlanningGroups
from services.adapters.genesys.source import GenesysSource
from services.adapters.redis_keys import BookingKeys
from services.booking.config import BookingConfig, LocationConfig, MeetingType, RoomConfig
from services.booking.demand import DemandSource, SyntheticDemand
from services.booking.holds import HeldRooms
from services.booking.model import BookingRequest, Progress, Status
from services.booking.ports import Invite, PersonCalendars
from services.booking.search import Found, SlotSearch
from services.booking.service import BookingService
from services.booking.writeback import WriteBack
from services.clock import ManualClock
from services.config import OrgConfig, parse_org_config
from services.domain.slots import Reason
from testing.fake_genesys import FakeActivity, FakeGenesys
from testing.fake_genesys.forecast import week_values
from testing.fake_graph import FakeGraph
from testing.memory_booking import MemoryBookingLedger, MemoryRequestQueue, MemoryWorkQueue, QueueState
from tests.genesys.conftest import Sleeps, eventually, make_client, make_source

MONDAY = datetime(2026, 6, 1, tzinfo=UTC)
WEEK = date(2026, 6, 1)
AGENTS = [f"ag-{i}" for i in range(1, 5)]
ORG = {"people": {"sup1": {"name": "Sam Supervisor", "email": "sup1@example.com"}},
       "management_units": {"mu-1": {"teams": {"t1": {"supervisors": ["sup1"]}}}}}


def at(hours: float) -> datetime:
    return MONDAY + timedelta(hours=hours)


def shift() -> list[FakeActivity]:
    """Monday 08:00-12:00 on queue, 12:00-12:30 meal, 12:30-16:30 on queue (UTC)."""
    return [FakeActivity(at(8), 240, "ac-onq"), FakeActivity(at(12), 30, "ac-meal"),
            FakeActivity(at(12.5), 240, "ac-onq")]


#: Every agent needed all day except 14:00-15:00: the only time a 1:1 costs nothing.
QUIET_AT_TWO = week_values({0: [(8, 14, 4.0), (15, 16.5, 4.0)]})


@pytest.fixture
async def fake() -> AsyncIterator[FakeGenesys]:
    server = FakeGenesys(ManualClock(MONDAY - timedelta(hours=12)))
    await server.start()
    server.add_business_unit("bu-1", "Contact centre", "UTC")
    server.add_unit("mu-1", "bu-1", "Unit One")
    server.add_team("t1", "Blue")
    server.forecasts.add_planning_group("bu-1", "pg-voice", ["q-voice"])
    for agent in AGENTS:
        server.add_user(agent, "mu-1", team_id="t1")
        server.set_activities(agent, shift())
        server.forecasts.set_agent_queues(agent, ["q-voice"])
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def graph() -> AsyncIterator[tuple[FakeGraph, str]]:
    fake = FakeGraph()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield fake, f"http://127.0.0.1:{port}"
    await runner.cleanup()


def config(**one_to_one: object) -> BookingConfig:
    meeting = MeetingType(name="1:1", min_attendees=1, max_attendees=1, earliest="08:00", latest="17:00")
    team = MeetingType(name="Team meeting", room=True, min_attendees=2, search="team")
    return BookingConfig(types={"one_to_one": meeting.model_copy(update=one_to_one), "team_meeting": team},
                         default_type="one_to_one",
                         locations={"hq": LocationConfig(name="HQ", rooms={
                             "big": RoomConfig(name="Big room", capacity=12, mailbox="big@example.com")})})


def one_to_one(request_id: str = "r1", type_id: str = "one_to_one", **fields: object) -> BookingRequest:
    base: dict[str, object] = {"requester": "U1", "mu_id": "mu-1", "type_id": type_id, "title": "Check-in",
                               "people": ("ag-1",), "date_from": WEEK, "date_to": WEEK,
                               "submitted_at": MONDAY - timedelta(days=1)}
    return BookingRequest(id=request_id, **{**base, **fields})


class Rig:
    def __init__(self, fake: FakeGenesys, booking: BookingConfig, *, org: OrgConfig | None = None,
                 synthetic: bool = False, calendars: PersonCalendars | None = None, people: bool = False) -> None:
        self.clock = ManualClock(MONDAY - timedelta(hours=12))
        self.source: GenesysSource = make_source(fake, self.clock, org or parse_org_config(ORG))
        self.sleeps = Sleeps()
        self.demand = GenesysDemand(make_client(fake, sleep=self.sleeps), self.clock, sleep=self.sleeps)
        chosen: DemandSource = SyntheticDemand() if synthetic else self.demand
        self.people = GenesysPeopleSchedules(self.source.client, self.clock) if people else None
        self.data = WorkforceBookingData(self.source, booking, demand=chosen, calendars=calendars, people=self.people)
        self.search = SlotSearch(self.data, booking)

    async def find(self, request: BookingRequest) -> Found:
        return await self.search.find(request, self.clock.now())

    async def close(self) -> None:
        await self.demand.client.aclose()
        await self.source.close()


async def test_demand_from_the_staffing_requirement_moves_the_slot(fake: FakeGenesys):
    forecast = fake.forecasts.add_forecast("bu-1", WEEK, {"pg-voice": QUIET_AT_TWO}, forecast_id="stf-1")
    synthetic, genesys = Rig(fake, config(), synthetic=True), Rig(fake, config())
    try:
        curve = await synthetic.find(one_to_one())
        found = await genesys.find(one_to_one())
    finally:
        await synthetic.close()
        await genesys.close()
    assert curve.placed and found.placed
    (slot,) = found.outcome.placements
    assert slot.start == at(14) and slot.impact == 0  # the only interval the forecast leaves free
    assert curve.outcome.placements[0].start != at(14)  # the synthetic curve chose differently
    assert all("demand: synthetic curve (simulator)" in why for why in curve.plan().why)
    assert all(f"demand: Genesys short-term forecast {forecast.id} (week of 2026-06-01)" in why
               for why in found.plan().why)
    downloads = fake.requests_to(r"^/downloads/")
    assert downloads and all(r.authorization is None for r in downloads)  # the pre-signed downloadUrl
    (asked,) = fake.requests_to(r"/shorttermforecasts/stf-1/staffingrequirement$")
    assert asked.query == {"weekNumbers": ["0"]}


async def test_an_agent_outside_every_planning_group_costs_nothing(fake: FakeGenesys):
    fake.forecasts.add_forecast("bu-1", WEEK, {"pg-voice": QUIET_AT_TWO})
    fake.forecasts.add_planning_group("bu-1", "pg-chat", ["q-chat"])
    fake.forecasts.set_agent_queues("ag-2", ["q-chat"])  # ag-2 now serves chat, which needs nobody
    rig = Rig(fake, config())
    try:
        found = await rig.find(one_to_one(people=("ag-2",)))
    finally:
        await rig.close()
    assert found.placed and found.outcome.placements[0].impact == 0
    assert found.snapshot is not None and found.snapshot.problem.queues == ("pg-chat", "pg-voice")


async def test_a_processing_requirement_is_asked_again_until_complete(fake: FakeGenesys):
    fake.forecasts.add_forecast("bu-1", WEEK, {"pg-voice": QUIET_AT_TWO}, processing_rounds=2)
    rig = Rig(fake, config())
    try:
        found = await rig.find(one_to_one())
    finally:
        await rig.close()
    assert found.placed and found.outcome.placements[0].start == at(14)
    assert len(fake.requests_to(r"/staffingrequirement$")) == 3
    assert len(rig.sleeps.calls) == 2  # waited through the injected sleep, never in real time


async def test_the_week_is_cached_until_the_forecast_notification(fake: FakeGenesys):
    forecast = fake.forecasts.add_forecast("bu-1", WEEK, {"pg-voice": QUIET_AT_TWO})
    rig = Rig(fake, config())
    rig.source.on_forecast_changed(rig.demand.forecast_changed)
    await rig.source.start()
    try:
        assert (await rig.find(one_to_one("r1"))).outcome.placements[0].start == at(14)
        # The forecast is recalculated: now 09:00-10:00 is the quiet hour.
        forecast.per_group["pg-voice"] = week_values({0: [(8, 9, 4.0), (10, 16.5, 4.0)]})
        assert (await rig.find(one_to_one("r2"))).outcome.placements[0].start == at(14)  # cached
        assert len(fake.requests_to(r"/staffingrequirement$")) == 1
        await eventually(lambda: bool(fake.subscribers(
            "v2.workforcemanagement.businessunits.bu-1.forecasts.staffingrequirement")), what="subscription")
        assert await fake.forecasts.recalculate(forecast.id) == 1
        await eventually(lambda: not rig.demand._weeks, what="the cached week dropped")
        assert (await rig.find(one_to_one("r3"))).outcome.placements[0].start == at(9)
    finally:
        await rig.close()


async def test_a_schedule_notification_drops_the_cached_weeks(fake: FakeGenesys):
    fake.forecasts.add_forecast("bu-1", WEEK, {"pg-voice": QUIET_AT_TWO})
    rig = Rig(fake, config())
    rig.source.on_schedule_changed(rig.demand.schedule_changed)
    await rig.source.start()
    try:
        await rig.find(one_to_one())
        await rig.find(one_to_one("r2"))
        assert len(fake.requests_to(r"/staffingrequirement$")) == 1
        await eventually(lambda: bool(fake.subscribers("v2.workforcemanagement.businessunits.bu-1.schedules")),
                         what="subscription")
        await fake.publish_schedule("mu-1", {"ag-1": shift()})
        await eventually(lambda: not rig.demand._weeks, what="the cached week dropped")
        await rig.find(one_to_one("r3"))
    finally:
        await rig.close()
    assert len(fake.requests_to(r"/staffingrequirement$")) == 2


class Notices:
    def __init__(self) -> None:
        self.texts: list[tuple[Status, str]] = []
        self.why: list[str] = []

    async def notify(self, request: BookingRequest, progress: Progress) -> None:
        self.texts.append((progress.status, progress.text))
        self.why.extend(progress.why)


class Invites:
    def __init__(self) -> None:
        self.sent: list[Invite] = []

    async def send_invite(self, invite: Invite) -> None:
        self.sent.append(invite)


def service(rig: Rig, booking: BookingConfig, redis: Redis, prefix: str,
            rooms: GraphRoomCalendar | None = None) -> tuple[BookingService, MemoryWorkQueue, Notices]:
    """The booking use cases on the rig's data: WFM write-back to the fake Genesys, rooms in Graph or Redis."""
    keys = BookingKeys(prefix)
    ledger, work, notices = MemoryBookingLedger(), MemoryWorkQueue(), Notices()
    activities = GenesysActivityWriter(rig.source.coaching(), RedisActivityLog(redis, keys))
    rig.data.activities = activities
    if rooms is not None:
        rig.data.rooms = rooms
    writeback = WriteBack(activities=activities, rooms=rooms or RedisRoomCalendar(redis, keys), invites=Invites(),
                          registers=RedisRegisters(redis, keys), ledger=ledger, config=booking)
    return (BookingService(queue=MemoryRequestQueue(QueueState()), ledger=ledger, work_queue=work, search=rig.search,
                           writeback=writeback, notifier=notices, data=rig.data, clock=rig.clock), work, notices)


@pytest.mark.redis
async def test_no_forecast_with_review_goes_to_the_work_queue(fake: FakeGenesys, redis_client: Redis,
                                                              redis_prefix: str):
    booking = config()  # no_forecast = "review" by default
    rig = Rig(fake, booking)
    bookings, work, notices = service(rig, booking, redis_client, redis_prefix)
    try:
        assert await bookings.handle(one_to_one()) is Status.NEEDS_REVIEW
    finally:
        await rig.close()
    (item,) = await work.items()
    assert item.reason is Reason.NO_FORECAST
    assert "no Genesys short-term forecast for the week(s) of 2026-06-01" in item.detail
    assert "no WFM forecast covers the period" in notices.texts[-1][1]
    assert fake.appointments == {}  # nothing written to WFM


@pytest.mark.redis
async def test_no_forecast_with_availability_only_places_and_says_so(fake: FakeGenesys, redis_client: Redis,
                                                                     redis_prefix: str):
    booking = config(no_forecast="availability_only")
    rig = Rig(fake, booking)
    bookings, work, notices = service(rig, booking, redis_client, redis_prefix)
    try:
        assert await bookings.handle(one_to_one()) is Status.BOOKED
    finally:
        await rig.close()
    assert await work.items() == []
    (appointment,) = fake.appointments.values()  # written to the fake Genesys schedule
    assert appointment["attendees"] == [{"id": "ag-1"}]
    booked = notices.texts[-1][1]
    assert booked.startswith("Booked Check-in")
    again = Rig(fake, booking)
    try:
        found = await again.find(one_to_one("r2"))
    finally:
        await again.close()
    assert found.placed
    assert all("demand: no forecast used (no Genesys short-term forecast for the week(s) of 2026-06-01" in why
               and "placed on availability only" in why for why in found.plan().why)


def test_pick_forecast_prefers_usable_forecasts_and_reads_the_week_number():
    entities = [{"id": "old", "weekDate": "2026-05-25", "weekCount": 2, "canUseForScheduling": True},
                {"id": "draft", "weekDate": "2026-06-01", "weekCount": 1, "canUseForScheduling": False},
                {"id": "later", "weekDate": "2026-06-08", "weekCount": 1}]
    assert pick_forecast(entities, WEEK) == ("old", 1)  # usable beats a newer draft; read at week number 1
    assert pick_forecast(entities[1:], WEEK) == ("draft", 0)
    assert pick_forecast(entities[2:], WEEK) is None


def test_shared_planning_groups_are_split_by_the_agents_serving_them():
    groups = PlanningGroups({"pg": frozenset({"q"})}, {"a1": {"pg": 1.0}, "a2": {"pg": 0.5}, "b1": {"pg": 1.0}},
                            {"mu-a": ("a1", "a2"), "mu-b": ("b1",)})
    assert groups.share("mu-a", "pg") == pytest.approx(0.6)
    assert groups.share("mu-b", "pg") == pytest.approx(0.4)
    pooled = PlanningGroups({"pg": frozenset()}, {"a1": {}, "b1": {}}, {"mu-a": ("a1",), "mu-b": ("b1",)})
    assert pooled.pooled and pooled.groups_of("mu-a") == (POOLED,) and pooled.share("mu-a", POOLED) == 0.5


async def test_an_error_state_means_no_forecast(fake: FakeGenesys):
    fake.forecasts.add_forecast("bu-1", WEEK, {"pg-voice": QUIET_AT_TWO}, state="Error", forecast_id="stf-9")
    rig = Rig(fake, config())
    try:
        found = await rig.find(one_to_one())
    finally:
        await rig.close()
    assert found.outcome.reason is Reason.NO_FORECAST
    assert "the staffing requirement of forecast stf-9 ended in Error" in found.outcome.detail


def graph_calendar(base: str, client: httpx.AsyncClient, clock: ManualClock) -> GraphRoomCalendar:
    async def no_sleep(_: float) -> None:
        return None

    return GraphRoomCalendar(client, tenant_id="tenant-1", client_id="app", client_secret=SecretStr("graph-secret"),
                             mailboxes={"big": "big@example.com"}, clock=clock, graph_url=f"{base}/v1.0",
                             login_url=base, sleep=no_sleep)


@pytest.mark.redis
async def test_a_busy_facilitator_calendar_moves_the_slot_and_the_room_is_booked_in_graph(
        fake: FakeGenesys, graph: tuple[FakeGraph, str], redis_client: Redis, redis_prefix: str):
    fake_graph, base = graph
    fake.forecasts.add_forecast("bu-1", WEEK, {"pg-voice": week_values({0: [(8, 16.5, 2.0)]})})
    booking = config()
    request = one_to_one(type_id="team_meeting", people=(), teams=("t1",), duration_minutes=30)
    async with httpx.AsyncClient() as client:
        free = Rig(fake, booking, calendars=graph_calendar(base, client, ManualClock(MONDAY)))
        try:
            first = (await free.find(request)).outcome.placements[0]
        finally:
            await free.close()
        # Sam's mailbox is busy (tentative counts too) over the time the search liked best.
        fake_graph.add_busy("sup1@example.com", first.start - timedelta(minutes=15), first.end, "tentative")
        rooms = graph_calendar(base, client, ManualClock(MONDAY))
        rig = Rig(fake, booking, calendars=rooms)
        bookings, _, notices = service(rig, booking, redis_client, redis_prefix, rooms=rooms)
        try:
            assert await bookings.handle(request) is Status.BOOKED
        finally:
            await rig.close()
    (event,) = fake_graph.events["big@example.com"]  # the room booking, created in the room's mailbox
    start = datetime.fromisoformat(event["start"]["dateTime"]).replace(tzinfo=UTC)
    end = datetime.fromisoformat(event["end"]["dateTime"]).replace(tzinfo=UTC)
    assert end <= first.start - timedelta(minutes=15) or start >= first.end  # not while Sam is busy
    assert event["transactionId"].startswith("r1:")
    asked = [path for _, path in fake_graph.calls if path.endswith("/calendar/getSchedule")]
    assert len(asked) >= 4  # people and rooms checked in each search, and the room again before booking
    assert notices.why and all("demand: Genesys short-term forecast" in why for why in notices.why)


async def test_a_facilitator_with_a_published_schedule_is_free_only_where_it_says(fake: FakeGenesys):
    fake.forecasts.add_forecast("bu-1", WEEK, {"pg-voice": QUIET_AT_TWO})
    fake.add_team("leads", "Leads")
    fake.add_user("sup1", "mu-1", team_id="leads")  # Sam is a WFM user of the unit
    fake.set_activities("sup1", [FakeActivity(at(8), 240, "ac-mtg"), FakeActivity(at(12), 300, "ac-onq")])
    rig = Rig(fake, config())
    try:
        found = await rig.find(one_to_one())
        assert found.placed, found.outcome
        assert found.outcome.placements[0].start == at(14)
        # Sam's schedule now has him in training 13:00-17:00: the quiet hour is gone for him.
        fake.set_activities("sup1", [FakeActivity(at(8), 300, "ac-onq"), FakeActivity(at(13), 240, "ac-trn")])
        moved = await rig.find(one_to_one("r2"))
    finally:
        await rig.close()
    (slot,) = moved.outcome.placements
    assert at(8) <= slot.start and slot.end <= at(13)
    assert found.snapshot is not None
    fac = found.snapshot.problem.facilitator_ids.index("sup1")
    free = found.snapshot.problem.facilitator_free[fac]
    assert not free[:8 * 4].any() and not free[8 * 4:12 * 4].any() and free[12 * 4:17 * 4].all()
    assert np.count_nonzero(free) == 5 * 4


@pytest.mark.redis
async def test_the_container_picks_the_genesys_forecast_and_graph_free_busy_when_configured(
        fake: FakeGenesys, graph: tuple[FakeGraph, str], redis_client: Redis, redis_prefix: str):
    from bot.container import build_booking
    from bot.settings import Settings

    _, base = graph
    clock = ManualClock(MONDAY)
    org = parse_org_config(ORG)
    settings = Settings(genesys_client_id=None, genesys_client_secret=None, graph_tenant_id="tenant-1",
                        graph_client_id="app", graph_client_secret="graph-secret", graph_url=f"{base}/v1.0",
                        graph_login_url=base, redis_prefix=redis_prefix)
    source = make_source(fake, clock, org)
    try:
        stack, where = build_booking(settings, org, redis_client, source, clock, notifier=Notices(),
                                     booking=config(), genesys=source)
        assert isinstance(stack.data.demand, GenesysDemand)
        assert isinstance(stack.data.people, GenesysPeopleSchedules)
        # The search reads rooms through the tentative holds; underneath is the same Graph calendar.
        assert isinstance(stack.data.calendars, GraphRoomCalendar)
        assert isinstance(stack.data.rooms, HeldRooms) and stack.data.rooms.inner is stack.data.calendars
        assert "demand from the Genesys short-term forecasts" in where and "free/busy" in where
        simulated, _ = build_booking(settings.model_copy(update={"graph_client_secret": None}), org, redis_client,
                                     source, clock, notifier=Notices(), booking=config())
        assert isinstance(simulated.data.demand, SyntheticDemand) and simulated.data.calendars is None
    finally:
        await source.close()


async def test_a_facilitator_scheduled_in_another_unit_is_free_only_on_that_schedule(fake: FakeGenesys):
    fake.forecasts.add_forecast("bu-1", WEEK, {"pg-voice": QUIET_AT_TWO})
    fake.add_unit("mu-leads", "bu-1", "Team leads")
    fake.add_user("sup1", "mu-leads")  # Sam is a WFM agent of another unit of the business unit
    fake.set_activities("sup1", [FakeActivity(at(8), 240, "ac-mtg"), FakeActivity(at(12), 300, "ac-off")])
    rig = Rig(fake, config(), people=True)
    try:
        found = await rig.find(one_to_one())
        assert found.placed and found.outcome.placements[0].start == at(14)
        assert found.snapshot is not None
        free = found.snapshot.problem.facilitator_free[found.snapshot.problem.facilitator_ids.index("sup1")]
        assert free[12 * 4:17 * 4].all() and np.count_nonzero(free) == 5 * 4  # 12:00-17:00 off-queue work only
        fake.set_activities("sup1", [FakeActivity(at(8), 300, "ac-off"), FakeActivity(at(13), 240, "ac-trn")])
        moved = await rig.find(one_to_one("r2"))
    finally:
        await rig.close()
    (slot,) = moved.outcome.placements
    assert at(8) <= slot.start and slot.end <= at(13)  # not in the quiet hour: Sam is in training then
    searched = fake.requests_to(r"/managementunits/mu-leads/agentschedules/search$")
    assert searched and all(r.body["userIds"] == ["sup1"] for r in searched)


async def test_a_window_reaching_a_week_without_forecast_is_no_forecast(fake: FakeGenesys):
    fake.forecasts.add_forecast("bu-1", WEEK, {"pg-voice": QUIET_AT_TWO})  # nothing for the week of June 8
    for agent in AGENTS:
        fake.set_activities(agent, [*shift(), *(FakeActivity(a.start + timedelta(days=7), a.minutes, a.code_id)
                                                for a in shift())])
    rig = Rig(fake, config())
    try:
        found = await rig.find(one_to_one(date_to=date(2026, 6, 8)))
        one_week = await rig.find(one_to_one("r2"))
    finally:
        await rig.close()
    assert found.outcome.reason is Reason.NO_FORECAST
    assert found.outcome.detail == "no Genesys short-term forecast for the week(s) of 2026-06-08 (business unit bu-1)"
    assert one_week.placed and one_week.outcome.placements[0].start == at(14)


async def test_a_two_week_forecast_that_started_earlier_is_read_at_its_week_number(fake: FakeGenesys):
    busy_week = week_values({d: [(0, 24, 4.0)] for d in range(7)})
    forecast = fake.forecasts.add_forecast("bu-1", date(2026, 5, 25), {"pg-voice": busy_week + QUIET_AT_TWO},
                                           week_count=2, forecast_id="stf-2w")
    rig = Rig(fake, config())
    try:
        found = await rig.find(one_to_one())
    finally:
        await rig.close()
    assert found.placed and found.outcome.placements[0].start == at(14)
    assert fake.requests_to(r"/weeks/recent/shorttermforecasts$")
    (asked,) = fake.requests_to(rf"/weeks/2026-05-25/shorttermforecasts/{forecast.id}/staffingrequirement$")
    assert asked.query == {"weekNumbers": ["1"]}
    assert all("Genesys short-term forecast stf-2w (week of 2026-06-01)" in why for why in found.plan().why)


async def test_graph_people_free_busy_reads_every_status_and_chunks_the_mailboxes(graph: tuple[FakeGraph, str]):
    fake_graph, base = graph
    for status, hour in (("oof", 8), ("workingElsewhere", 10), ("free", 11), ("tentative", 13), ("busy", 15)):
        fake_graph.add_busy("sam@example.com", at(hour), at(hour + 1), status)
    people = {"sup1": "Sam@Example.com", **{f"p{i}": f"p{i}@example.com" for i in range(59)}}
    async with httpx.AsyncClient() as client:
        busy = await graph_calendar(base, client, ManualClock(MONDAY)).busy_people(people, at(0), at(24))
    assert busy["sup1"] == [(at(8), at(9)), (at(13), at(14)), (at(15), at(16))]  # oof, tentative and busy block
    assert busy["p0"] == [] and len(busy) == 60
    assert len([p for _, p in fake_graph.calls if p.endswith("/calendar/getSchedule")]) == 2  # 50 + 10 mailboxes


async def test_a_failed_planning_group_refresh_keeps_the_last_map(fake: FakeGenesys, caplog: pytest.LogCaptureFixture):
    fake.forecasts.add_forecast("bu-1", WEEK, {"pg-voice": QUIET_AT_TWO})
    rig = Rig(fake, config())
    try:
        assert (await rig.find(one_to_one())).outcome.placements[0].start == at(14)
        rig.clock.advance(timedelta(hours=25))  # the map is due for a refresh, and Genesys fails it
        fake.fail(r"/managementunits/mu-1/agents/", 503, times=100)
        again = await rig.find(one_to_one("r2"))
    finally:
        await rig.close()
    assert again.placed and again.snapshot is not None and again.snapshot.problem.queues == ("pg-voice",)
    assert "keeping the map from" in caplog.text


async def test_a_refusal_on_service_impact_names_the_forecast(fake: FakeGenesys):
    fake.forecasts.add_forecast("bu-1", WEEK, {"pg-voice": week_values({0: [(0, 24, 4.0)]})}, forecast_id="stf-7")
    strict = config()
    strict = strict.model_copy(update={"search": {**strict.search, "default": strict.search["default"].model_copy(
        update={"max_added_per_interval": 0.5})}})
    rig = Rig(fake, strict)
    try:
        found = await rig.find(one_to_one())
    finally:
        await rig.close()
    assert found.outcome.reason is Reason.IMPACT_ABOVE_LIMIT
    assert found.outcome.detail.endswith("; demand: Genesys short-term forecast stf-7 (week of 2026-06-01)")
