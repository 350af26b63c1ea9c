"""Recurring templates that fall due together are planned jointly by the batch planner: on seeded
sets of templates that compete for the same supervisor and times, that places at least as many
as searching them one by one in arrival order (the old way), and sometimes more."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from redis.asyncio import Redis

from services.adapters.booking.redis_stores import RedisTemplates
from services.adapters.redis_keys import BookingKeys
from services.booking.model import BookingRequest, RecurrenceSpec, Status
from services.booking.recurring import RecurringTemplates
from tests.booking.test_booking_service import Rig
from tests.booking.workforce_fixture import MONDAY

pytestmark = pytest.mark.redis


def seeded_templates(seed: int) -> list[BookingRequest]:
    """1:1s and team meetings of team t1 (one supervisor), windows from a whole week to one hour."""
    rng = random.Random(seed)
    out = []
    for i in range(9):
        last = rng.choice([0, 0, 1, 4])  # the period's window: Monday to this day
        earliest = rng.choice([8, 9, 10, 12, 14]) * 60
        latest = min(17 * 60, earliest + rng.choice([60, 90, 120, 9 * 60]))
        one_to_one = rng.random() < 0.7
        out.append(BookingRequest(
            id=f"s{seed}-{i}", requester="U1", mu_id="mu1", type_id="one_to_one" if one_to_one else "team_meeting",
            title=f"Template {i}", people=(f"t1-a{rng.randrange(4)}",) if one_to_one else (),
            teams=() if one_to_one else ("t1",), date_from=date(2026, 6, 1),
            date_to=date(2026, 6, 1) + timedelta(days=last), earliest_minute=earliest, latest_minute=latest,
            duration_minutes=rng.choice([30, 60]),
            recurrence=RecurrenceSpec(frequency="weekly"), submitted_at=MONDAY - timedelta(days=2)))
    return out


async def booked_count(redis: Redis, prefix: str, templates: list[BookingRequest], *, joint: bool) -> int:
    rig = Rig(redis, prefix)
    runner = RecurringTemplates(RedisTemplates(redis, BookingKeys(prefix)), rig.service, rig.data, rig.notices,
                                timedelta(days=7), joint=joint)
    for template in templates:
        await runner.add(template)
    queued = await runner.run_due(MONDAY - timedelta(days=1), ahead=timedelta(days=1))
    while await rig.service.process_next("w1"):
        pass
    return sum([await rig.ledger.status(r.id) == Status.BOOKED for r in queued])


async def test_jointly_planned_templates_place_at_least_as_many_as_one_by_one(redis_client: Redis,
                                                                              redis_prefix: str):
    gains = []
    for seed in range(4):
        templates = seeded_templates(seed)
        one_by_one = await booked_count(redis_client, f"{redis_prefix}o{seed}:", templates, joint=False)
        jointly = await booked_count(redis_client, f"{redis_prefix}j{seed}:", templates, joint=True)
        assert jointly >= one_by_one, seed
        gains.append(jointly - one_by_one)
    assert sum(gains) > 0  # on these seeds the joint plan does place more
