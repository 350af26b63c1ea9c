"""Neutral windows (a script over the unit's neutral hash and audit stream), the digest's audit read and
its sent marks on a real 3-master Redis Cluster: every key of a unit shares its hash tag, so one slot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from services.adapters.redis.digest import RedisAuditHistory, RedisDigestLedger
from services.adapters.redis.neutral import RedisNeutralWindows
from services.domain.neutral import NeutralWindow
from tests.cluster.conftest import needs_cluster

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@needs_cluster
async def test_neutral_windows_and_the_digest_marks_on_a_cluster(cluster_client: Redis, cluster_prefix: str) -> None:
    neutral = RedisNeutralWindows(cluster_client, cluster_prefix)
    for mu in ("mu-1", "mu-2", "mu-3"):  # units in different slots
        await neutral.save_neutral(NeutralWindow("w1", mu, None, mu, NOW, NOW + timedelta(hours=1), "maintenance",
                                                 "Olga", NOW))
        first = await neutral.cancel_neutral(mu, "w1", "Olga", NOW)
        second = await neutral.cancel_neutral(mu, "w1", "Sam", NOW + timedelta(minutes=1))
        assert first is not None and second is not None and (first[1], second[1]) == (True, False)
        assert second[0].cancelled_by == "Olga"
        history = RedisAuditHistory(cluster_client, cluster_prefix)
        audit = await history.audit_since(mu, datetime(2000, 1, 1, tzinfo=UTC))
        assert [a["kind"] for a in audit] == ["neutral_planned", "neutral_cancelled"]
        ledger = RedisDigestLedger(cluster_client, cluster_prefix)
        assert await ledger.claim_digest(mu, "2026-11-30", "olga", "slack") is True
        assert await ledger.claim_digest(mu, "2026-11-30", "olga", "slack") is False
