"""Fixtures for the Redis Cluster tests: a client on REDIS_CLUSTER_URL (scripts/redis-cluster start)
and a unique key prefix per test. Without the variable these tests skip; .ci/run always sets it."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.redis_connection import make_client

CLUSTER_URL = os.environ.get("REDIS_CLUSTER_URL", "")
needs_cluster = pytest.mark.skipif(
    not CLUSTER_URL, reason="REDIS_CLUSTER_URL is not set: start one with `scripts/redis-cluster start` "
                            "(.ci/run does, and sets it)")


@pytest.fixture
async def cluster_client() -> AsyncIterator[Redis]:
    if not CLUSTER_URL:
        pytest.skip("REDIS_CLUSTER_URL is not set (scripts/redis-cluster start)")
    client = make_client(CLUSTER_URL, cluster=True, timeout=2.0)
    try:
        await client.ping()
    except Exception as error:  # the variable is set, so a cluster was promised: say it is not there
        pytest.fail(f"REDIS_CLUSTER_URL={CLUSTER_URL} does not answer: {error}")
    yield client
    await client.aclose()


@pytest.fixture
async def cluster_prefix(cluster_client: Redis) -> AsyncIterator[str]:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield prefix
    # scan_iter on a cluster client walks every master; delete one key at a time (keys span slots).
    async for key in cluster_client.scan_iter(match=f"{prefix}:*", count=1000):
        await cluster_client.delete(key)
