"""In-memory ``AuditHistory`` (over a ``MemoryStore``'s audit, which keeps no write times: all of it)
and ``DigestLedger``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from testing.memory_store import MemoryStore


@dataclass
class MemoryAuditHistory:
    store: MemoryStore

    async def audit_since(self, mu_id: str, since: datetime) -> list[dict[str, str]]:
        return await self.store.audit(mu_id, count=10**9)


@dataclass
class MemoryDigestLedger:
    sent: set[tuple[str, str, str, str]] = field(default_factory=set)

    async def claim_digest(self, mu_id: str, week: str, person_id: str, channel: str) -> bool:
        key = (mu_id, week, person_id, channel)
        if key in self.sent:
            return False
        self.sent.add(key)
        return True

    async def release_digest(self, mu_id: str, week: str, person_id: str, channel: str) -> None:
        self.sent.discard((mu_id, week, person_id, channel))
