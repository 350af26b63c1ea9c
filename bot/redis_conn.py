"""Connect to Redis at REDIS_URL, or fall back to an in-process fakeredis (said out loud)."""

from __future__ import annotations

import logging

from redis.asyncio import Redis

from bot.redis_connection import CONNECT_ERRORS, make_client, ping_checked, wants_cluster

log = logging.getLogger(__name__)


async def connect_redis(url: str, *, allow_fallback: bool = True, timeout: float = 1.0,
                        cluster: bool = False) -> tuple[Redis, str]:
    """Return (client, description). Raises if Redis is unreachable and no fallback is allowed."""
    client = make_client(url, cluster=cluster, timeout=timeout)
    try:
        await ping_checked(client, url, cluster=cluster)
        return client, f"{'Redis Cluster' if wants_cluster(url, cluster) else 'Redis'} at {_redact(url)}"
    except CONNECT_ERRORS as error:
        await client.aclose()
        if not allow_fallback:
            raise
        from fakeredis import FakeAsyncRedis

        log.warning("no Redis answers at %s (%s); using in-process fakeredis: state is lost on exit",
                    _redact(url), error)
        fake: Redis = FakeAsyncRedis(decode_responses=True)
        return fake, "in-process fakeredis (no Redis reachable; state is lost on exit)"


def _redact(url: str) -> str:
    """Hide a password in redis://user:password@host URLs."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.split('@', 1)[1]}"
