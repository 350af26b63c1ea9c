"""The two implementations of the state ports a use-case test can run on: the real Redis
(``RedisStore``) and the in-memory one (``testing.memory_store.MemoryStore``).

A test takes the ``store_backend`` fixture (``tests/conftest.py``) and runs once on each, so the
in-memory store is held to the same assertions as Redis. What a test would otherwise read from
Redis directly (the outbox length, a claim taken over by another replica) goes through here.
"""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis

from services.adapters.redis.store import RedisStore
from services.ports import StateStore
from testing.memory_store import MemoryStore


class RedisBackend:
    name = "redis"

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis, self.prefix = redis, prefix

    def new_store(self) -> StateStore:
        """A store as a new process would make it (its own caches, the same Redis)."""
        return RedisStore(self.redis, self.prefix)

    async def outbox_length(self, mu_id: str) -> int:
        return int(await self.redis.xlen(RedisStore(self.redis, self.prefix).keys(mu_id).outbox))

    async def overwrite_claim(self, mu_id: str, tick_number: int, token: str, lease: timedelta) -> None:
        key = RedisStore(self.redis, self.prefix).keys(mu_id).tick_claim(tick_number)
        await self.redis.set(key, token, px=int(lease.total_seconds() * 1000))


class MemoryBackend:
    name = "memory"

    def __init__(self) -> None:
        self.store = MemoryStore()

    def new_store(self) -> StateStore:
        return self.store  # one instance stands for one Redis server, shared by every process

    async def outbox_length(self, mu_id: str) -> int:
        return self.store.outbox_length(mu_id)

    async def overwrite_claim(self, mu_id: str, tick_number: int, token: str, lease: timedelta) -> None:
        self.store.overwrite_claim(mu_id, tick_number, token, lease)


StoreBackend = RedisBackend | MemoryBackend
