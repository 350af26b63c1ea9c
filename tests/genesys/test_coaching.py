"""Tier 3 against the fake: the appointment's shape, and idempotency across retries and restarts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.adapters.genesys.backoff import Backoff
from services.adapters.genesys.client import ClientOptions
from services.adapters.genesys.coaching import GenesysCoaching
from services.adapters.genesys.errors import GenesysUnavailable
from services.ports import CoachingRequest
from testing.fake_genesys import FakeGenesys
from tests.genesys.conftest import START, Sleeps, eventually, make_client

APPOINTMENTS = "/api/v2/coaching/appointments"


def request(key: str = "incident-42:coaching") -> CoachingRequest:
    return CoachingRequest(idempotency_key=key, mu_id="mu-a", agent_id="agent-a1-1", facilitator_id="sup-a1",
                           name="Adherence coaching", description="Away while scheduled on queue for 30 min",
                           start=START + timedelta(days=1, seconds=42), length_minutes=15)


async def test_creates_an_appointment_on_the_schedule(fake: FakeGenesys) -> None:
    client = make_client(fake)
    try:
        appointment_id = await GenesysCoaching(client).create_coaching_appointment(request())
    finally:
        await client.aclose()
    created = fake.appointments[appointment_id]
    posted = fake.requests_to(APPOINTMENTS + "$", "POST")[0].body
    assert posted["facilitatorId"] == "sup-a1"
    assert posted["attendeeIds"] == ["agent-a1-1"]
    assert posted["addToSchedule"] is True
    assert posted["dateStart"] == "2026-05-19T08:00:00.000Z"  # rounded down to the minute
    assert posted["lengthInMinutes"] == 15 and posted["name"] == "Adherence coaching"
    assert created["facilitator"] == {"id": "sup-a1"} and created["attendees"] == [{"id": "agent-a1-1"}]
    assert "Away while scheduled" in created["description"]
    coaching = [a for a in fake.users["agent-a1-1"].activities if a.external_type == "Coaching"]
    assert [a.external_id for a in coaching] == [appointment_id]  # addToSchedule put it on the agent's schedule


async def test_the_same_request_twice_creates_one_appointment(fake: FakeGenesys) -> None:
    client = make_client(fake)
    try:
        coaching = GenesysCoaching(client)
        first = await coaching.create_coaching_appointment(request())
        second = await coaching.create_coaching_appointment(request())
        other = await coaching.create_coaching_appointment(request("incident-43:coaching"))
    finally:
        await client.aclose()
    assert first == second != other
    assert len(fake.appointments) == 2


async def test_a_restarted_process_finds_the_appointment_in_genesys(fake: FakeGenesys) -> None:
    client = make_client(fake)
    try:
        first = await GenesysCoaching(client).create_coaching_appointment(request())
        again = await GenesysCoaching(client).create_coaching_appointment(request())  # no local record
    finally:
        await client.aclose()
    assert first == again
    assert len(fake.appointments) == 1
    lookup = fake.requests_to(APPOINTMENTS + "$", "GET")[-1]
    assert lookup.query["userIds"] == ["agent-a1-1"] and "/" in lookup.query["interval"][0]


async def test_a_lost_response_is_not_turned_into_a_duplicate(fake: FakeGenesys) -> None:
    fake.slow(APPOINTMENTS + "$", 0.6, method="POST")  # Genesys creates it, but our request times out first
    client = make_client(fake, options=ClientOptions(timeout=0.2))

    async def until_it_landed(seconds: float) -> None:  # the backoff ends once the slow create went through
        await eventually(lambda: bool(fake.appointments), what="the slow create landing in Genesys")

    coaching = GenesysCoaching(client, sleep=until_it_landed, backoff=Backoff(base=1.0, cap=1.0, rng=lambda: 1.0))
    try:
        appointment_id = await coaching.create_coaching_appointment(request())
    finally:
        await client.aclose()
    assert list(fake.appointments) == [appointment_id]
    assert len(fake.requests_to(APPOINTMENTS + "$", "POST")) == 1  # looked up before trying again


async def test_a_refused_create_is_retried_after_looking_again(fake: FakeGenesys) -> None:
    fake.fail(APPOINTMENTS + "$", 503, method="POST")
    client = make_client(fake)
    try:
        appointment_id = await GenesysCoaching(client, sleep=Sleeps()).create_coaching_appointment(request())
    finally:
        await client.aclose()
    assert list(fake.appointments) == [appointment_id]
    assert [r.method for r in fake.requests_to(APPOINTMENTS + "$")] == ["GET", "POST", "GET", "POST"]


async def test_genesys_down_for_good_raises_for_the_outbox_to_retry(fake: FakeGenesys) -> None:
    fake.fail(APPOINTMENTS + "$", 503, method="POST", times=100)
    client = make_client(fake)
    try:
        with pytest.raises(GenesysUnavailable):
            await GenesysCoaching(client, sleep=Sleeps(), max_attempts=3).create_coaching_appointment(request())
    finally:
        await client.aclose()
    assert fake.appointments == {}
    assert len(fake.requests_to(APPOINTMENTS + "$", "POST")) == 3


async def test_a_booked_meeting_lands_on_every_attendees_schedule_once(fake: FakeGenesys, redis_client,
                                                                      redis_prefix: str) -> None:
    from services.adapters.booking.redis_stores import RedisActivityLog
    from services.adapters.genesys.activities import GenesysActivityWriter
    from services.adapters.redis_keys import BookingKeys
    from services.booking.ports import OfflineActivity
    from services.domain.states import ActivityCategory

    meeting = OfflineActivity(key="req-7:1:1", mu_id="mu-a", name="Team meeting", category=ActivityCategory.MEETING,
                              code_id="ac-mtg", start=START + timedelta(hours=2),
                              end=START + timedelta(hours=2, minutes=30),
                              attendees=("agent-a1-1", "agent-a1-2"), facilitator="sup-a1")
    local = RedisActivityLog(redis_client, BookingKeys(redis_prefix))
    client = make_client(fake)
    try:
        writer = GenesysActivityWriter(GenesysCoaching(client), local)
        first = await writer.write_activity(meeting)
        again = await GenesysActivityWriter(GenesysCoaching(client), local).write_activity(meeting)  # a restart
        assert first == again and len(fake.appointments) == 1
        posted = fake.requests_to(APPOINTMENTS + "$", "POST")[0].body
        assert posted["attendeeIds"] == ["agent-a1-1", "agent-a1-2"] and posted["addToSchedule"] is True
        assert posted["lengthInMinutes"] == 30 and posted["facilitatorId"] == "sup-a1"
        for agent in ("agent-a1-1", "agent-a1-2"):
            assert [a.external_id for a in fake.users[agent].activities if a.external_type == "Coaching"] == [first]
        assert [a.key for a in await writer.activities("mu-a", START, START + timedelta(days=1))] == ["req-7:1:1"]
        await writer.cancel_activity("req-7:1:1")
        assert first not in fake.appointments
    finally:
        await client.aclose()


async def test_a_meeting_written_before_a_restart_is_still_deleted(fake: FakeGenesys, redis_client,
                                                                  redis_prefix: str) -> None:
    from services.adapters.booking.redis_changes import RedisExternalIds
    from services.adapters.booking.redis_stores import RedisActivityLog
    from services.adapters.genesys.activities import GenesysActivityWriter
    from services.adapters.redis_keys import BookingKeys
    from services.booking.ports import OfflineActivity
    from services.domain.states import ActivityCategory

    meeting = OfflineActivity(key="req-8:0:0", mu_id="mu-a", name="Team meeting", category=ActivityCategory.MEETING,
                              code_id="ac-mtg", start=START + timedelta(hours=2),
                              end=START + timedelta(hours=2, minutes=30), attendees=("agent-a1-1",),
                              facilitator="sup-a1")
    keys = BookingKeys(redis_prefix)
    local, ids = RedisActivityLog(redis_client, keys), RedisExternalIds(redis_client, keys, "genesys")
    client = make_client(fake)
    try:
        appointment = await GenesysActivityWriter(GenesysCoaching(client), local, ids).write_activity(meeting)
        assert appointment in fake.appointments
        await GenesysActivityWriter(GenesysCoaching(client), local, ids).cancel_activity("req-8:0:0")  # restarted
        assert appointment not in fake.appointments
        assert await local.activities("mu-a", START, START + timedelta(days=1)) == []
    finally:
        await client.aclose()
