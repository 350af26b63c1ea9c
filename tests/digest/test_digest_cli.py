"""``python -m bot digest --since 7d`` prints the digest of every unit from the audit trail in Redis."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from bot.cli import main
from services.adapters.redis.store import RedisStore
from services.domain.escalation import DEFAULT_POLICY, EventKind, FiredTier, Incident, IncidentEvent, TierAction
from tests.conftest import TEST_REDIS_URL


async def _write(prefix: str) -> None:
    redis: Redis = Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    now = datetime.now(UTC)
    started = now - timedelta(days=2)
    card = FiredTier(index=0, action=TierAction.CHAT_CARD, at=started + timedelta(minutes=5))
    incident = Incident(id="mu-1-t1-a001:1", mu_id="mu-1", agent_id="mu-1-t1-a001", team_id="mu-1-t1",
                        started_at=started, policy=DEFAULT_POLICY)
    carded = incident.model_copy(update={"fired": (card,)})
    events = [IncidentEvent(EventKind.OPENED, incident, started),
              IncidentEvent(EventKind.TIER_FIRED, carded, card.at, tier=card),
              IncidentEvent(EventKind.ACKNOWLEDGED, carded, card.at + timedelta(minutes=2), actor="Sam")]
    await RedisStore(redis, prefix).commit("mu-1", changes=[], events=events)
    await redis.aclose()


async def _clean(prefix: str) -> None:
    redis: Redis = Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


def test_digest_since_7d_prints_every_unit(clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    asyncio.run(_write(prefix))
    clean_env.setenv("REDIS_URL", TEST_REDIS_URL)
    clean_env.setenv("REDIS_PREFIX", prefix)
    try:
        assert main(["digest", "--since", "7d"]) == 0
    finally:
        asyncio.run(_clean(prefix))
    out = capsys.readouterr().out
    units = out.split("Weekly adherence digest: ")[1:]
    assert len(units) == 2 and "(mu-1)" in units[0] and "(mu-2)" in units[1]  # the simulator's two units
    # mu-1's first team: 6 agents, 1 incident, acknowledged 2 minutes after its card, one card.
    assert re.search(r"\n  \S.{0,23}\s+6\s+\S+\s+1\s+2\.0m\s+1  chat_card 1\n", units[0]), units[0]
    assert "ack med: median minutes from the supervisor's card" in units[0]


@pytest.mark.parametrize("since", ["0s", "15d", "week"])
def test_digest_refuses_a_period_it_cannot_cover(since: str, clean_env: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["digest", "--since", since])
    assert exit_.value.code == 2 and "--since" in capsys.readouterr().err
