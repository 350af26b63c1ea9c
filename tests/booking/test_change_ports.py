"""The hold, change, attendance and external-id stores: the same contract on Redis and in memory."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis.asyncio import Redis

from services.adapters.booking.redis_changes import RedisAttendance, RedisChanges, RedisExternalIds, RedisHolds
from services.adapters.redis_keys import BookingKeys
from services.booking.model import (
    AttendanceMark,
    BookedSlot,
    ChangeAction,
    ChangeOutcome,
    Hold,
    HoldAction,
    HoldOutcome,
)
from services.booking.ports import AttendanceMarks, ChangeStore, ExternalIds, HoldStore
from testing.memory_changes import MemoryAttendance, MemoryChanges, MemoryExternalIds, MemoryHolds
from tests.booking.workforce_fixture import MONDAY

pytestmark = pytest.mark.redis
T = MONDAY + timedelta(hours=9)


@pytest.fixture(params=["redis", "memory"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def stores(kind: str, redis: Redis, prefix: str) -> tuple[HoldStore, ChangeStore, AttendanceMarks, ExternalIds]:
    if kind == "memory":
        return MemoryHolds(), MemoryChanges(), MemoryAttendance(), MemoryExternalIds()
    keys = BookingKeys(prefix)
    return RedisHolds(redis, keys), RedisChanges(redis, keys), RedisAttendance(redis, keys), \
        RedisExternalIds(redis, keys, "graph")


def hold(rid: str, mu_id: str = "mu1", minutes: int = 30) -> Hold:
    slot = BookedSlot(occurrence=0, session=0, start=T, end=T + timedelta(minutes=30), attendees=("a",),
                      facilitator="s", room_id="big", impact=0.0)
    return Hold(request_id=rid, requester="U1", mu_id=mu_id, title="T", slots=(slot,),
                expires_at=T + timedelta(minutes=minutes))


async def test_holds_first_outcome_wins_and_a_decided_hold_is_not_revived(kind: str, redis_client: Redis,
                                                                          redis_prefix: str):
    holds, *_ = stores(kind, redis_client, redis_prefix)
    assert await holds.add(hold("h1"))
    assert await holds.add(hold("h1", minutes=90))  # a re-delivered request keeps the first hold
    assert (await holds.get("h1") or pytest.fail()).expires_at == T + timedelta(minutes=30)
    await holds.add(hold("h2", mu_id="mu2", minutes=60))
    assert [h.request_id for h in await holds.active("mu1", T)] == ["h1"]
    assert sorted(h.request_id for h in await holds.active(None, T)) == ["h1", "h2"]
    assert [h.request_id for h in await holds.active(None, T + timedelta(minutes=45))] == ["h2"]
    assert [h.request_id for h in await holds.due(T + timedelta(minutes=45))] == ["h1"]
    booked = HoldOutcome(request_id="h1", action=HoldAction.BOOKED, by="U1", at=T)
    assert await holds.claim(booked)
    assert not await holds.claim(HoldOutcome(request_id="h1", action=HoldAction.EXPIRED, at=T))
    assert await holds.outcome("h1") == booked
    await holds.release("h1")
    assert await holds.get("h1") is None and await holds.due(T + timedelta(days=1)) != []
    assert not await holds.add(hold("h1"))  # decided: never held again
    assert await holds.get("h1") is None


async def test_changes_index_revisions_and_claims(kind: str, redis_client: Redis, redis_prefix: str):
    _, changes, *_ = stores(kind, redis_client, redis_prefix)
    await changes.add_booking("U1", "late", T + timedelta(days=2))
    await changes.add_booking("U1", "soon", T)
    await changes.add_booking("U2", "other", T)
    assert list(await changes.bookings_of("U1")) == ["soon", "late"]
    await changes.remove_booking("U1", "soon")
    assert list(await changes.bookings_of("U1")) == ["late"]
    assert await changes.revision("late") == 0
    await changes.set_revision("late", 2)
    assert await changes.revision("late") == 2
    first = ChangeOutcome(request_id="late", revision=2, action=ChangeAction.RESCHEDULED, by="U1", at=T)
    assert await changes.claim(first)
    assert not await changes.claim(first.model_copy(update={"action": ChangeAction.CANCELLED}))
    await changes.update(first.model_copy(update={"new_revision": 3}))
    assert (await changes.outcome("late", 2) or pytest.fail()).new_revision == 3
    await changes.forget("late", 2)
    assert await changes.outcome("late", 2) is None


async def test_attendance_keeps_the_first_marker_of_a_value_and_gives_due_registers_out_once(
        kind: str, redis_client: Redis, redis_prefix: str):
    _, _, marks, _ = stores(kind, redis_client, redis_prefix)
    first = AttendanceMark(agent_id="a", attended=True, by="U1", at=T)
    assert await marks.mark("r1", first) is None
    assert await marks.mark("r1", first.model_copy(update={"by": "U2"})) == first
    assert (await marks.marks("r1"))["a"].by == "U1"
    no_show = AttendanceMark(agent_id="a", attended=False, by="U2", at=T)
    assert await marks.mark("r1", no_show) == first
    assert dict(await marks.marks("r1")) == {"a": no_show}
    await marks.expect("r1", T)
    await marks.expect("r2", T + timedelta(hours=1))
    assert list(await marks.take_due(T)) == ["r1"]
    assert list(await marks.take_due(T)) == []
    await marks.expect("r2", T + timedelta(hours=2))  # rescheduled: asked later
    assert list(await marks.take_due(T + timedelta(hours=1))) == []
    assert list(await marks.take_due(T + timedelta(hours=2))) == ["r2"]


async def test_external_ids(kind: str, redis_client: Redis, redis_prefix: str):
    *_, ids = stores(kind, redis_client, redis_prefix)
    assert await ids.get("k") is None
    await ids.put("k", "big@example.com|evt1")
    assert await ids.get("k") == "big@example.com|evt1"
    assert await ids.pop("k") == "big@example.com|evt1"
    assert await ids.pop("k") is None


def _memory_provides_the_ports(a: MemoryHolds, b: MemoryChanges, c: MemoryAttendance,
                               d: MemoryExternalIds) -> tuple[HoldStore, ChangeStore, AttendanceMarks, ExternalIds]:
    return a, b, c, d  # mypy checks the structural match
