"""The soak benchmark stays runnable: a few short simulated days on the real Redis, cleaned up after."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from bench.soak import parse_args, soak
from tests.conftest import TEST_REDIS_URL

pytestmark = pytest.mark.redis


async def test_a_short_soak_delivers_everything_and_leaves_nothing_behind(redis_client: Redis) -> None:
    # The days are paced in real time: 100 agents' day of work (~0.3 s here) fits in 0.8 real seconds.
    result = await soak(parse_args(["--days", "3", "--agents", "100", "--day-seconds", "0.8"]), TEST_REDIS_URL)
    assert len(result["keys_per_day"]) == len(result["used_memory_mb"]) == 3
    assert result["outbox_backlog_per_day"] == [0, 0, 0]
    assert result["delivered"]["cards"] > 0 and result["delivered"]["emails"] > 0
    assert result["keys_by_kind_last_day"]["closed"] > 0
    assert [k async for k in redis_client.scan_iter(match=f"{result['prefix']}:*")] == []
