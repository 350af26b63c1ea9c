"""Make the Redis client for REDIS_URL: one server, or a Redis Cluster.

Cluster mode is chosen by ``REDIS_CLUSTER=1`` or a ``redis+cluster://`` (``rediss+cluster://``) URL.
Every key the bot uses in one script, transaction or multi-key command shares a hash tag (``{mu-1}``,
``{booking}``), so the same code runs on both; see docs/deploy.md.
"""

from __future__ import annotations

from typing import cast

from redis.asyncio import Redis, RedisCluster

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def wants_cluster(url: str, cluster: bool = False) -> bool:
    """True when the flag is set or the URL's scheme says cluster."""
    return cluster or url.partition("://")[0].lower() in CLUSTER_SCHEMES


def plain_url(url: str) -> str:
    """The URL redis-py understands: ``redis+cluster://h:p`` -> ``redis://h:p``."""
    scheme, sep, rest = url.partition("://")
    return f"{CLUSTER_SCHEMES[scheme.lower()]}{sep}{rest}" if scheme.lower() in CLUSTER_SCHEMES else url


def make_client(url: str, *, cluster: bool = False, timeout: float = 1.0) -> Redis:
    """A client for ``url``; nothing is sent until the first command.

    A Cluster client discovers the other masters from the node in the URL and routes each command
    by its key's slot. It answers the same command API as ``Redis``, so it is typed as one: the
    adapters take a ``Redis`` and never use what a cluster lacks (SELECT, cross-slot scripts).
    """
    if wants_cluster(url, cluster):
        client = RedisCluster.from_url(plain_url(url), decode_responses=True, socket_connect_timeout=timeout,
                                       health_check_interval=30)
        return cast(Redis, client)
    return Redis.from_url(url, decode_responses=True, socket_connect_timeout=timeout, health_check_interval=30)
