"""The weekly digest's Redis side: the unit's audit stream read by time, and the sent marks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis

from services.adapters.redis_keys import AUDIT_TTL, UnitKeys

PAGE = 5000


@dataclass
class RedisAuditHistory:
    redis: Redis
    prefix: str = "adh"

    async def audit_since(self, mu_id: str, since: datetime) -> list[dict[str, str]]:
        """Entries whose id (the write's wall-clock time) is at or after ``since``, in pages."""
        key = UnitKeys(self.prefix, mu_id).audit
        low = f"{max(0, int(since.timestamp() * 1000))}-0"
        out: list[dict[str, str]] = []
        while True:
            rows = await self.redis.xrange(key, min=low, max="+", count=PAGE) or []
            out += [{str(k): str(v) for k, v in (fields or {}).items()} for _, fields in rows]
            if len(rows) < PAGE:
                return out
            low = f"({rows[-1][0]!s}"  # exclusive: after the last one read


@dataclass
class RedisDigestLedger:
    redis: Redis
    prefix: str = "adh"
    keep: timedelta = AUDIT_TTL  # longer than a week: a rerun within the week finds the mark

    async def claim_digest(self, mu_id: str, week: str, person_id: str, channel: str) -> bool:
        key = UnitKeys(self.prefix, mu_id).digest_sent(week, person_id, channel)
        return bool(await self.redis.set(key, "1", nx=True, ex=int(self.keep.total_seconds())))

    async def release_digest(self, mu_id: str, week: str, person_id: str, channel: str) -> None:
        await self.redis.delete(UnitKeys(self.prefix, mu_id).digest_sent(week, person_id, channel))
