"""Connect to Redis at REDIS_URL. Whether an in-process fakeredis may stand in is the caller's choice:
``run`` refuses (state must survive a restart) unless ``--ephemeral-state``; ``demo`` and ``book --demo``
fall back to it, and say so."""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

EPHEMERAL = "in-process fakeredis (state is lost on exit)"


class RedisUnavailable(Exception):
    """No Redis answers at REDIS_URL and no in-process stand-in was allowed."""


async def connect_redis(url: str, *, allow_fallback: bool = False, timeout: float = 1.0) -> tuple[Redis, str]:
    """Return (client, description). If Redis does not answer a PING within ``2 * timeout`` seconds:
    raise :class:`RedisUnavailable` (naming REDIS_URL), or with ``allow_fallback`` use fakeredis and say so.
    This is the one "fail fast or ephemeral" decision; callers pick ``allow_fallback`` (run: never)."""
    client: Redis = Redis.from_url(url, decode_responses=True, socket_connect_timeout=timeout,
                                   health_check_interval=30)
    try:
        # Bounded here, not by socket_timeout: that would also cut the blocking stream reads later.
        await asyncio.wait_for(client.ping(), timeout=2 * timeout)
        return client, f"Redis at {_redact(url)}"
    except (RedisError, OSError, TimeoutError) as error:
        reason = str(error) or f"no answer to PING within {2 * timeout:g}s"
        await client.aclose()
        if not allow_fallback:
            raise RedisUnavailable(
                f"no Redis answers at REDIS_URL={_redact(url)} ({reason}); start Redis or fix REDIS_URL") from None
        log.warning("no Redis answers at %s (%s); using %s", _redact(url), reason, EPHEMERAL)
        return ephemeral_redis(), f"{EPHEMERAL}: no Redis answered at REDIS_URL={_redact(url)}"


def ephemeral_redis() -> Redis:
    """An in-process fakeredis (with Lua): for trying the bot out, never for production."""
    from fakeredis import FakeAsyncRedis

    fake: Redis = FakeAsyncRedis(decode_responses=True)
    return fake


def _redact(url: str) -> str:
    """Hide a password in redis://user:password@host URLs."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.split('@', 1)[1]}"
