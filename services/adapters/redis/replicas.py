"""The live-replica registry in Redis: one sorted set, replica id -> lease expiry (epoch ms).

One key, so it works the same on Redis Cluster; expired members are dropped on every beat.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from redis.asyncio import Redis

from services.adapters.redis_keys import replicas_key


class RedisReplicaRegistry:
    def __init__(self, redis: Redis, prefix: str = "adh") -> None:
        self.redis, self.key = redis, replicas_key(prefix)

    async def beat(self, replica_id: str, now: datetime, lease: timedelta) -> Sequence[str]:
        now_ms = int(now.timestamp() * 1000)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self.key, {replica_id: now_ms + int(lease.total_seconds() * 1000)})
            pipe.zremrangebyscore(self.key, "-inf", now_ms)
            pipe.zrange(self.key, 0, -1)
            pipe.pexpire(self.key, int(lease.total_seconds() * 1000) * 10)
            _, _, members, _ = await pipe.execute()
        return [m.decode() if isinstance(m, bytes) else str(m) for m in members]

    async def leave(self, replica_id: str) -> None:
        await self.redis.zrem(self.key, replica_id)
