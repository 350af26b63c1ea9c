"""The one-pass command packer: the same bytes as redis-py's, and real commits through it on Redis."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from redis.asyncio.connection import Connection

from bot.redis_connection import make_client
from services.adapters.redis.packing import FastPackConnection
from services.adapters.redis.store import RedisStore
from services.domain.escalation import AgentTrack
from services.ports import TrackChange
from tests.conftest import TEST_REDIS_URL


def test_the_packed_bytes_are_redis_py_s() -> None:
    ours, theirs = FastPackConnection(), Connection()
    for args in [
        ("EVALSHA", "a" * 40, 3, "k1", "k2", "k3", "", "é ünïcode", 0, -7, 1.5, b"\x00raw", "x" * 20_000),
        ("CONFIG GET", "maxmemory"),
        (b"SET", "key", memoryview(b"value")),
        ("ZADD", "due", 1780000000000, "agent-1", 12.25, "agent-2"),
    ]:
        assert b"".join(ours.pack_command(*args)) == b"".join(bytes(p) for p in theirs.pack_command(*args))


async def test_a_commit_of_many_agents_goes_through_the_fast_packer_on_real_redis() -> None:
    client = make_client(TEST_REDIS_URL)
    assert client.connection_pool.connection_class is FastPackConnection
    store = RedisStore(client, prefix=f"test-{uuid.uuid4().hex[:12]}")
    try:
        now = datetime(2026, 5, 18, 9, tzinfo=UTC)
        agents = [f"agent-{i:04d}-é" for i in range(2_000)]  # non-ASCII ids: encoded as UTF-8 like redis-py
        tracks = {a: AgentTrack(agent_id=a, positive_since=now - timedelta(minutes=3)) for a in agents}
        result = await store.commit("mu-1", changes=[TrackChange(a, 0, t) for a, t in tracks.items()], events=[],
                                    status=dict.fromkeys(agents, "ADHERENT|x"), day=now.date(),
                                    due={a: now + timedelta(minutes=1) for a in agents})
        assert not result.rejected and not result.fenced
        loaded = await store.load_tracks("mu-1")
        assert {a: t.positive_since for a, t in loaded.items()} == {a: t.positive_since for a, t in tracks.items()}
        assert all(t.version == 1 for t in loaded.values())
        assert await store.statuses("mu-1") == dict.fromkeys(agents, "ADHERENT|x")
    finally:
        keys = [k async for k in client.scan_iter(match=f"{store.prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()
