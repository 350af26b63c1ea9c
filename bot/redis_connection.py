"""Make the Redis client for REDIS_URL: one server, or a Redis Cluster.

Cluster mode is chosen by ``REDIS_CLUSTER=1`` or a ``redis+cluster://`` (``rediss+cluster://``) URL.
Every key the bot uses in one script, transaction or multi-key command shares a hash tag (``{mu-1}``,
``{booking}``), so the same code runs on both; see docs/deploy.md.
"""

from __future__ import annotations

from typing import cast

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import RedisClusterException, RedisError, ResponseError

from services.adapters.redis.packing import FastPackConnection
from services.config import ConfigError

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}

#: What "Redis does not answer" looks like from either client (a Cluster client that reaches no
#: node raises RedisClusterException, which is not a RedisError).
CONNECT_ERRORS: tuple[type[Exception], ...] = (RedisError, RedisClusterException, OSError)


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
        try:
            client = RedisCluster.from_url(plain_url(url), decode_responses=True, socket_connect_timeout=timeout,
                                           health_check_interval=30)
        except RedisClusterException as error:  # e.g. a database number: a cluster only has database 0
            raise ConfigError(f"REDIS_URL ({url_without_password(url)}) does not suit a Redis Cluster: "
                              f"{error}") from None
        return cast(Redis, client)
    if url.partition("://")[0].lower() == "redis":  # plain TCP (TLS and unix sockets keep redis-py's classes)
        return Redis.from_url(url, decode_responses=True, socket_connect_timeout=timeout, health_check_interval=30,
                              connection_class=FastPackConnection)
    return Redis.from_url(url, decode_responses=True, socket_connect_timeout=timeout, health_check_interval=30)


async def ping_checked(client: Redis, url: str, *, cluster: bool = False) -> None:
    """PING, and refuse a client of the wrong kind (closing it) with a message that says which setting
    to change: a plain client on a cluster node would fail later with MOVED errors, the reverse
    cannot connect at all."""
    try:
        await client.ping()
    except RedisClusterException as error:
        if "cluster mode is not enabled" not in str(error).lower():
            raise
        await client.aclose()
        raise ConfigError(f"REDIS_URL ({url_without_password(url)}) is not a Redis Cluster node: unset "
                          "REDIS_CLUSTER and use a redis:// URL") from None
    if not wants_cluster(url, cluster):
        try:
            info = await client.info("cluster")
        except ResponseError:  # some managed Redis services disable INFO: nothing to check then
            return
        if str(info.get("cluster_enabled", "0")) == "1":
            await client.aclose()
            raise ConfigError(f"REDIS_URL ({url_without_password(url)}) is a Redis Cluster node: set "
                              "REDIS_CLUSTER=1 (or write the URL as redis+cluster://...)")


def url_without_password(url: str) -> str:
    """Hide a password in redis://user:password@host URLs."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.split('@', 1)[1]}"
