"""Connect to Redis at REDIS_URL. Whether an in-process fakeredis may stand in is the caller's choice:
``run`` refuses (state must survive a restart) unless ``--ephemeral-state``; ``demo`` and ``book --demo``
fall back to it, and say so. One server or a Redis Cluster: ``bot/redis_connection.py``."""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis

from bot.redis_connection import CONNECT_ERRORS, make_client, ping_checked, url_without_password, wants_cluster

log = logging.getLogger(__name__)

EPHEMERAL = "in-process fakeredis (state is lost on exit)"
_UNREACHABLE: tuple[type[Exception], ...] = (*CONNECT_ERRORS, TimeoutError)


class RedisUnavailable(Exception):
    """No Redis answers at REDIS_URL and no in-process stand-in was allowed."""


async def connect_redis(url: str, *, allow_fallback: bool = False, timeout: float = 1.0,
                        cluster: bool = False) -> tuple[Redis, str]:
    """Return (client, description). If Redis does not answer a PING within ``2 * timeout`` seconds:
    raise :class:`RedisUnavailable` (naming REDIS_URL), or with ``allow_fallback`` use fakeredis and say so.
    This is the one "fail fast or ephemeral" decision; callers pick ``allow_fallback`` (run: never)."""
    client = make_client(url, cluster=cluster, timeout=timeout)
    try:
        # Bounded here, not by socket_timeout: that would also cut the blocking stream reads later.
        await asyncio.wait_for(ping_checked(client, url, cluster=cluster), timeout=2 * timeout)
        kind = "Redis Cluster" if wants_cluster(url, cluster) else "Redis"
        return client, f"{kind} at {url_without_password(url)}"
    except _UNREACHABLE as error:
        reason = str(error) or f"no answer to PING within {2 * timeout:g}s"
        await client.aclose()
        shown = url_without_password(url)
        if not allow_fallback:
            raise RedisUnavailable(
                f"no Redis answers at REDIS_URL={shown} ({reason}); start Redis or fix REDIS_URL") from None
        log.warning("no Redis answers at %s (%s); using %s", shown, reason, EPHEMERAL)
        return ephemeral_redis(), f"{EPHEMERAL}: no Redis answered at REDIS_URL={shown}"


def ephemeral_redis() -> Redis:
    """An in-process fakeredis (with Lua): for trying the bot out, never for production."""
    from fakeredis import FakeAsyncRedis

    fake: Redis = FakeAsyncRedis(decode_responses=True)
    return fake
