"""Neutral windows in Redis: one hash per unit (``adh:{mu}:neutral``), audited in the unit's stream.

The window's JSON sits under its id; its cancellation under ``<id>:cancel``, written with ``HSETNX``
so the first Cancel wins and every later one reads who and when. Each write appends its audit entry
in the same script. The hash expires a day after its last window ends, and ended windows are pruned
when a new one is saved, so it stays as small as the windows still planned.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis

from services.adapters.redis_keys import AUDIT_TTL, UnitKeys
from services.domain.neutral import KEEP_AFTER_END, NeutralWindow

_CANCEL = ":cancel"

# KEYS[1] neutral hash, KEYS[2] audit stream; ARGV[1] field, ARGV[2] value, ARGV[3] audit MINID,
# ARGV[4] new TTL in ms (0: leave it), ARGV[5] 1 = HSETNX (cancel), then the audit entry's fields.
_WRITE = """
if ARGV[5] == '1' then
  if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
    return redis.call('HGET', KEYS[1], ARGV[1])
  end
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
local ttl = tonumber(ARGV[4])
if ttl > 0 and redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
redis.call('XADD', KEYS[2], 'MINID', ARGV[3], '*', unpack(ARGV, 6))
return false
"""


def window_to_json(window: NeutralWindow) -> str:
    return json.dumps({
        "id": window.id, "mu_id": window.mu_id, "team_id": window.team_id, "scope_name": window.scope_name,
        "start": window.start.isoformat(), "end": window.end.isoformat(), "reason": window.reason,
        "created_by": window.created_by, "created_at": window.created_at.isoformat(),
    }, separators=(",", ":"))


def window_from_json(raw: str, cancel: str | None = None) -> NeutralWindow:
    data = json.loads(raw)
    cancelled = json.loads(cancel) if cancel else None
    return NeutralWindow(
        id=data["id"], mu_id=data["mu_id"], team_id=data.get("team_id"), scope_name=data["scope_name"],
        start=datetime.fromisoformat(data["start"]), end=datetime.fromisoformat(data["end"]),
        reason=data["reason"], created_by=data["created_by"], created_at=datetime.fromisoformat(data["created_at"]),
        cancelled_by=cancelled["by"] if cancelled else None,
        cancelled_at=datetime.fromisoformat(cancelled["at"]) if cancelled else None,
    )


@dataclass
class RedisNeutralWindows:
    redis: Redis
    prefix: str = "adh"
    audit_ttl: timedelta = AUDIT_TTL

    def __post_init__(self) -> None:
        self._write = self.redis.register_script(_WRITE)

    async def save_neutral(self, window: NeutralWindow) -> None:
        keys = UnitKeys(self.prefix, window.mu_id)
        await self._prune(window.mu_id, window.created_at)
        keep = window.end + KEEP_AFTER_END - window.created_at
        audit = ["kind", "neutral_planned", "neutral", window.id, "actor", window.created_by,
                 "event", window_to_json(window)]
        await self._write(keys=[keys.neutral, keys.audit],
                          args=[window.id, window_to_json(window), self._minid(), int(keep.total_seconds() * 1000),
                                "0", *audit])

    async def neutral_windows(self, mu_id: str) -> list[NeutralWindow]:
        raw = await self.redis.hgetall(UnitKeys(self.prefix, mu_id).neutral)
        fields = {str(k): str(v) for k, v in (raw or {}).items()}
        return [window_from_json(body, fields.get(key + _CANCEL))
                for key, body in fields.items() if not key.endswith(_CANCEL)]

    async def cancel_neutral(self, mu_id: str, window_id: str, by: str,
                             at: datetime) -> tuple[NeutralWindow, bool] | None:
        keys = UnitKeys(self.prefix, mu_id)
        body = await self.redis.hget(keys.neutral, window_id)
        if body is None:
            return None
        mark = json.dumps({"by": by, "at": at.isoformat()})
        audit = ["kind", "neutral_cancelled", "neutral", window_id, "actor", by, "event", mark]
        earlier = await self._write(keys=[keys.neutral, keys.audit],
                                    args=[window_id + _CANCEL, mark, self._minid(), 0, "1", *audit])
        return window_from_json(str(body), str(earlier) if earlier else mark), earlier is None

    async def _prune(self, mu_id: str, now: datetime) -> None:
        """Forget windows that ended more than a day ago (the hash only expires when none is planned)."""
        ended = [w.id for w in await self.neutral_windows(mu_id) if w.end + KEEP_AFTER_END < now]
        if ended:
            await self.redis.hdel(UnitKeys(self.prefix, mu_id).neutral, *ended, *(i + _CANCEL for i in ended))

    def _minid(self) -> int:
        return max(0, int((time.time() - self.audit_ttl.total_seconds()) * 1000))
