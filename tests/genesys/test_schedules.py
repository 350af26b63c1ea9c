"""Published schedules through agentschedules/search in every delivery mode, converted to the domain."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.adapters.genesys.errors import GenesysAsyncPending
from services.adapters.genesys.schedules import ScheduleSearch
from services.clock import ManualClock
from services.domain.model import AgentSchedule
from services.domain.states import ActivityCategory
from testing.fake_genesys import FakeActivity, FakeGenesys
from tests.genesys.conftest import START, Sleeps, agents_of, eventually, make_client, make_source

SEARCH = "/managementunits/mu-a/agentschedules/search"
WINDOW = (START - timedelta(hours=12), START + timedelta(hours=24))


def assert_day_plan(schedule: AgentSchedule) -> None:
    day = START.replace(hour=0)
    assert [(a.start, a.end, a.category) for a in schedule.activities] == [
        (day + timedelta(hours=6), day + timedelta(hours=12), ActivityCategory.ON_QUEUE_WORK),
        (day + timedelta(hours=12), day + timedelta(hours=12, minutes=30), ActivityCategory.MEAL),
        (day + timedelta(hours=12, minutes=30), day + timedelta(hours=15), ActivityCategory.ON_QUEUE_WORK),
    ]
    assert schedule.activity_at(START).category is ActivityCategory.ON_QUEUE_WORK  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["inline", "download"])
async def test_complete_inline_or_by_download_url(fake: FakeGenesys, clock: ManualClock, mode: str) -> None:
    fake.schedule_mode = mode
    source = make_source(fake, clock)
    try:
        schedules = await source.schedules("mu-a", *WINDOW)
    finally:
        await source.close()
    assert set(schedules) == set(agents_of("mu-a"))
    for schedule in schedules.values():
        assert_day_plan(schedule)
    search = fake.requests_to(SEARCH)[0]
    assert search.method == "POST"
    assert set(search.body) == {"startDate", "endDate", "userIds"}
    assert search.body["startDate"] == "2026-05-17T20:00:00.000Z"
    downloads = fake.requests_to("/downloads/")
    if mode == "download":
        assert len(downloads) == 1
        assert downloads[0].authorization is None  # pre-signed URL: no bearer token sent along
    else:
        assert downloads == []


async def test_processing_is_retried_until_complete(fake: FakeGenesys, clock: ManualClock) -> None:
    fake.schedule_mode, fake.processing_rounds = "processing", 2
    source = make_source(fake, clock)
    try:
        schedules = await source.schedules("mu-a", *WINDOW)
    finally:
        await source.close()
    assert_day_plan(schedules["agent-a1-1"])
    assert len(fake.requests_to(SEARCH)) == 3  # Processing, Processing, Complete


async def test_processing_result_arrives_by_notification(fake: FakeGenesys, clock: ManualClock) -> None:
    fake.schedule_mode, fake.processing_rounds, fake.processing_notify = "processing", 100, True
    source = make_source(fake, clock, async_results_user_id=fake.async_user_id)
    await source.start()
    try:
        topic = f"v2.workforcemanagement.users.{fake.async_user_id}.schedules.search"
        assert fake.subscribers(topic)
        source.search._backoff = source.search._backoff.__class__(base=5.0, cap=5.0)  # retries would be slow
        source.search._sleep = Sleeps(cap=5.0)
        schedules = await source.schedules("mu-a", *WINDOW)
    finally:
        await source.close()
    assert_day_plan(schedules["agent-a2-3"])
    assert len(fake.requests_to(SEARCH)) == 1  # one search; the notification's downloadUrl carried the result
    assert fake.requests_to("/downloads/")[0].authorization is None


async def test_force_async_knob_is_served(fake: FakeGenesys, clock: ManualClock) -> None:
    client = make_client(fake)
    try:
        body = await client.post(f"/api/v2/workforcemanagement{SEARCH}",
                                 {"startDate": "2026-05-18T00:00:00Z", "endDate": "2026-05-19T00:00:00Z"},
                                 params={"forceAsync": True}, idempotent=True)
    finally:
        await client.aclose()
    assert body["status"] == "Processing" and body["result"] is None and body["operationId"]


async def test_processing_forever_gives_up_with_a_typed_error(fake: FakeGenesys) -> None:
    fake.schedule_mode, fake.processing_rounds = "processing", 1000
    client = make_client(fake)
    search = ScheduleSearch(client, sleep=Sleeps(), max_rounds=3)
    try:
        with pytest.raises(GenesysAsyncPending):
            await search.search("mu-a", ["agent-a1-1"], *WINDOW)
    finally:
        await client.aclose()
    assert len(fake.requests_to(SEARCH)) == 3


async def test_large_units_are_searched_in_user_batches(fake: FakeGenesys, clock: ManualClock) -> None:
    for i in range(25):
        fake.add_user(f"more-{i}", "mu-a", team_id="team-a1")
    source = make_source(fake, clock, schedule_users_per_request=10)
    try:
        schedules = await source.schedules("mu-a", *WINDOW)
    finally:
        await source.close()
    assert len(schedules) == 25 + len(agents_of("mu-a"))
    assert schedules["more-3"].activities == ()  # no published schedule: empty, so the monitor sees off shift
    calls = fake.requests_to(SEARCH)
    assert len(calls) == 4 and all(len(c.body["userIds"]) <= 10 for c in calls)


async def test_unknown_activity_code_reloads_codes_then_skips(fake: FakeGenesys, clock: ManualClock) -> None:
    day = START.replace(hour=0)
    source = make_source(fake, clock)
    try:
        await source.schedules("mu-a", *WINDOW)  # codes loaded and cached
        fake.business_units["bu-1"].codes["ac-new"] = {"id": "ac-new", "name": "Coaching", "category": "Meeting"}
        fake.set_activities("agent-a1-1", [FakeActivity(day + timedelta(hours=6), 120, "ac-onq"),
                                           FakeActivity(day + timedelta(hours=8), 60, "ac-new")])
        fake.set_activities("agent-a1-2", [FakeActivity(day + timedelta(hours=6), 60, "ac-ghost")])
        schedules = await source.schedules("mu-a", *WINDOW)
    finally:
        await source.close()
    assert [a.category for a in schedules["agent-a1-1"].activities] == [ActivityCategory.ON_QUEUE_WORK,
                                                                        ActivityCategory.MEETING]
    assert schedules["agent-a1-2"].activities == ()  # still unknown after reload: left out, never an alert
    assert len(fake.requests_to("/activitycodes")) == 2  # loaded once, reloaded once for the new code


async def test_schedule_change_notification_invalidates(fake: FakeGenesys, clock: ManualClock) -> None:
    source = make_source(fake, clock)
    changed: list[str] = []
    source.on_schedule_changed(changed.append)
    await source.start()
    try:
        day = START.replace(hour=0)
        plan = [FakeActivity(day + timedelta(hours=6), 180, "ac-onq"),
                FakeActivity(day + timedelta(hours=9), 60, "ac-trn", "Product training"),
                FakeActivity(day + timedelta(hours=10), 120, "ac-onq")]
        await fake.publish_schedule("mu-b", {"agent-b1-1": plan})
        await eventually(lambda: "mu-b" in changed, what="schedule-changed callback")
        schedules = await source.schedules("mu-b", *WINDOW)
    finally:
        await source.close()
    assert set(changed) == {"mu-b"}  # only the unit that changed
    categories = [a.category for a in schedules["agent-b1-1"].activities]
    assert ActivityCategory.TRAINING in categories
    during = schedules["agent-b1-1"].activity_at(day + timedelta(hours=9, minutes=30))
    assert during is not None and during.category is ActivityCategory.TRAINING
