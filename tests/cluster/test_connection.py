"""Choosing and checking the Redis client: REDIS_CLUSTER=1 or a redis+cluster:// URL makes a
RedisCluster client; a client of the wrong kind is refused at start with the setting to change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from redis.asyncio import RedisCluster

from bot.redis_conn import connect_redis
from bot.redis_connection import make_client, plain_url, wants_cluster
from services.config import ConfigError
from tests.cluster.conftest import CLUSTER_URL, needs_cluster

ROOT = Path(__file__).resolve().parents[2]


def test_the_flag_or_the_url_scheme_chooses_cluster_mode() -> None:
    assert wants_cluster("redis+cluster://10.0.0.1:7000")
    assert wants_cluster("REDISS+CLUSTER://10.0.0.1:7000")
    assert wants_cluster("redis://10.0.0.1:7000", cluster=True)
    assert not wants_cluster("redis://10.0.0.1:6379/0")
    assert plain_url("rediss+cluster://:pw@h:7000") == "rediss://:pw@h:7000"
    assert plain_url("redis://h:6379/0") == "redis://h:6379/0"


async def test_make_client_builds_the_matching_client() -> None:
    cluster = make_client("redis+cluster://127.0.0.1:7101")
    single = make_client("redis://127.0.0.1:6379/0")
    try:
        assert isinstance(cluster, RedisCluster) and not isinstance(single, RedisCluster)
    finally:
        await cluster.aclose()
        await single.aclose()


async def test_asking_for_a_cluster_from_a_plain_redis_is_refused() -> None:
    with pytest.raises(ConfigError, match="not a Redis Cluster node: unset REDIS_CLUSTER"):
        await connect_redis("redis://127.0.0.1:6379/0", cluster=True)
    with pytest.raises(ConfigError, match=r"does not suit a Redis Cluster: .*'db' must be 0"):
        await connect_redis("redis+cluster://127.0.0.1:6379/15")


@needs_cluster
async def test_a_cluster_node_is_used_in_cluster_mode_and_refused_otherwise(cluster_prefix: str) -> None:
    client, where = await connect_redis(CLUSTER_URL, cluster=True)
    try:
        assert where.startswith("Redis Cluster at ")
        keys = [f"{cluster_prefix}:{{k{i}}}" for i in range(20)]  # spread over the three masters
        for key in keys:
            await client.set(key, key, px=60_000)
        assert [await client.get(k) for k in keys] == keys
        for key in keys:
            await client.delete(key)
    finally:
        await client.aclose()
    with pytest.raises(ConfigError, match="is a Redis Cluster node: set REDIS_CLUSTER=1"):
        await connect_redis(CLUSTER_URL)


@needs_cluster
def test_run_refuses_a_cluster_node_without_cluster_mode_and_says_which_setting() -> None:
    env = {**os.environ, "REDIS_URL": CLUSTER_URL, "REDIS_CLUSTER": "0"}
    for name in ("BOT_CONFIG", "SLACK_BOT_TOKEN", "GENESYS_CLIENT_ID", "SMTP_HOST"):
        env.pop(name, None)
    result = subprocess.run([sys.executable, "-m", "bot", "run", "--port", "0"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "is a Redis Cluster node: set REDIS_CLUSTER=1" in result.stderr
    assert "Traceback" not in result.stderr
