"""Optimise upcoming in Slack: the proposal message (valid Block Kit, Apply / Discard), a stranger's
click refused, the scheduler's Apply moving the booking; through AsyncApp and the fake Slack API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from handlers.app import register_optimise
from handlers.booking.optimise import ACTION_APPLY, ACTION_DISCARD, optimise_command
from services.adapters.booking.redis_changes import RedisChanges
from services.booking.optimise import OptimiseUpcoming
from testing.fake_slack import FakeSlack
from testing.memory_optimise import MemoryOptimiseStore
from tests.booking.test_booking_slack import SCHEDULER, STRANGER, SlackBooking
from tests.booking.test_optimise import book_at_the_worst_time
from tests.slack.blockkit import assert_valid_blocks

pytestmark = pytest.mark.redis


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack().start()
    yield server
    await server.stop()


async def test_the_scheduler_sees_the_gain_and_applies_it(redis_client: Redis, redis_prefix: str,
                                                         fake: FakeSlack):
    slack = SlackBooking(redis_client, redis_prefix, fake)
    rig = slack.rig
    optimiser = OptimiseUpcoming(data=rig.data, config=rig.config, ledger=rig.ledger, activities=rig.activities,
                                 rooms=rig.rooms, invites=rig.invites, store=MemoryOptimiseStore(),
                                 changes=RedisChanges(redis_client, rig.keys), registers=rig.registers,
                                 schedulers={SCHEDULER}, clock=rig.clock)
    register_optimise(slack.app, optimiser)
    old = (await book_at_the_worst_time(rig)).slots[0]

    async def units() -> list[Any]:
        return [rig.source.mu]

    answer = optimise_command(optimiser, units)
    refused, _ = await answer(STRANGER, 7)
    assert "only schedulers" in refused
    text, blocks = await answer(SCHEDULER, 7)
    assert_valid_blocks(blocks)
    assert "saves" in text and "agent-hours" in text
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == [ACTION_APPLY, ACTION_DISCARD]
    proposal_id = buttons[0]["value"]

    await slack.click(ACTION_APPLY, proposal_id, user=STRANGER)
    (no,) = await fake.wait_for("webhook")
    assert "Only schedulers" in no["text"] and no["replace_original"] is False
    await slack.click(ACTION_APPLY, proposal_id)
    done = (await fake.wait_for("webhook", 2))[-1]
    assert done["replace_original"] is True and "1 booking(s) moved" in done["text"]
    assert_valid_blocks(done["blocks"])
    (activity,) = await rig.activities.activities("mu1", rig.clock.now(), rig.clock.now() + timedelta(days=7))
    assert activity.start != old.start
    assert [i.sequence for i in rig.invites.sent] == [0, 1]  # the first invite, then the update
    await slack.click(ACTION_DISCARD, proposal_id)  # too late: it was applied
    late = (await fake.wait_for("webhook", 3))[-1]
    assert "applied" in json.dumps(late["blocks"])
