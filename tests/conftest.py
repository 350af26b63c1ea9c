"""Shared fixtures: a real Redis (REDIS_URL, test DB 15) under a unique key prefix per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tests.store_backends import MemoryBackend, RedisBackend, StoreBackend

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL_TESTS") or "redis://127.0.0.1:6379/15"


@pytest.fixture
async def redis_client() -> AsyncIterator[Redis]:
    client: Redis = Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    try:
        await client.ping()
    except Exception as error:  # pragma: no cover - the CI script starts redis-server
        pytest.fail(f"these tests need a real Redis at {TEST_REDIS_URL}: {error}")
    yield client
    await client.aclose()


@pytest.fixture
async def redis_prefix(redis_client: Redis) -> AsyncIterator[str]:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield prefix
    keys = [key async for key in redis_client.scan_iter(match=f"{prefix}:*", count=1000)]
    if keys:
        await redis_client.delete(*keys)


@pytest.fixture(params=["redis", "memory"])
def store_backend(request: pytest.FixtureRequest) -> StoreBackend:
    """Runs a use-case test on the real Redis and on the in-memory store, with the same assertions."""
    if request.param == "memory":
        return MemoryBackend()
    redis: Redis = request.getfixturevalue("redis_client")
    return RedisBackend(redis, request.getfixturevalue("redis_prefix"))
