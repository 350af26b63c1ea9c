"""The surplus desk's state in Redis, every key hash-tagged by unit (``adh:{mu}:surplus:...``).

The seat count of an interval and the trainees hash are read and written together by one Lua
script, so two replicas handling two Start clicks at once never put more agents in training than
the surplus allows.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, cast

from redis.asyncio import Redis

from services.adapters.redis_keys import UnitKeys
from services.surplus.ports import Offer, TakeResult, Trainee

TTL = timedelta(days=2)

# KEYS: seats of the interval, trainees hash. ARGV: agent, trainee JSON, ttl ms.
_TAKE_SEAT = """
local seats = tonumber(redis.call('GET', KEYS[1]) or '0')
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 'already' end
if redis.call('HLEN', KEYS[2]) >= seats then return 'full' end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 'taken'
"""


class RedisSurplusStore:
    def __init__(self, redis: Redis, prefix: str = "adh", ttl: timedelta = TTL) -> None:
        self.redis, self.prefix = redis, prefix
        self._ttl_ms = int(ttl.total_seconds() * 1000)
        self._take = redis.register_script(_TAKE_SEAT)

    def _key(self, mu_id: str, name: str) -> str:
        return UnitKeys(self.prefix, mu_id).surplus(name)

    def _seats(self, mu_id: str, interval: datetime, item: str) -> str:
        return self._key(mu_id, f"seats:{int(interval.timestamp())}" + (f":{item}" if item else ""))

    async def set_seats(self, mu_id: str, interval: datetime, seats: int, item: str = "") -> None:
        await self.redis.set(self._seats(mu_id, interval, item), seats, px=self._ttl_ms)

    async def take_seat(self, mu_id: str, interval: datetime, trainee: Trainee, item: str = "") -> TakeResult:
        keys = [self._seats(mu_id, interval, item), self._key(mu_id, "trainees")]
        result = await self._take(keys=keys, args=[trainee.agent_id, trainee.to_json(), self._ttl_ms])
        text = result.decode() if isinstance(result, bytes) else str(result)
        return cast(TakeResult, text)

    async def trainees(self, mu_id: str) -> dict[str, Trainee]:
        raw = await self.redis.hgetall(self._key(mu_id, "trainees"))
        return {_text(k): Trainee.from_json(_text(v)) for k, v in raw.items()}

    async def update_trainee(self, mu_id: str, trainee: Trainee) -> None:
        await self.redis.hset(self._key(mu_id, "trainees"), trainee.agent_id, trainee.to_json())

    async def release(self, mu_id: str, agent_id: str) -> None:
        await self.redis.hdel(self._key(mu_id, "trainees"), agent_id)

    async def save_offer(self, mu_id: str, offer: Offer) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(mu_id, f"offer:{offer.offer_id}"), offer.to_json(), px=self._ttl_ms)
            pipe.hset(self._key(mu_id, "last_offer"), offer.agent_id, offer.to_json())
            pipe.pexpire(self._key(mu_id, "last_offer"), self._ttl_ms)
            await pipe.execute()

    async def offer(self, mu_id: str, offer_id: str) -> Offer | None:
        raw = await self.redis.get(self._key(mu_id, f"offer:{offer_id}"))
        return Offer.from_json(_text(raw)) if raw else None

    async def last_offers(self, mu_id: str) -> dict[str, Offer]:
        raw = await self.redis.hgetall(self._key(mu_id, "last_offer"))
        return {_text(k): Offer.from_json(_text(v)) for k, v in raw.items()}

    async def decide(self, mu_id: str, offer_id: str, outcome: dict[str, str]) -> dict[str, str] | None:
        key = self._key(mu_id, f"decided:{offer_id}")
        if await self.redis.set(key, json.dumps(outcome), nx=True, px=self._ttl_ms):
            return None
        return await self.decision(mu_id, offer_id)

    async def decision(self, mu_id: str, offer_id: str) -> dict[str, str] | None:
        raw = await self.redis.get(self._key(mu_id, f"decided:{offer_id}"))
        return cast(dict[str, str], json.loads(_text(raw))) if raw else None

    async def log(self, mu_id: str, event: dict[str, str]) -> None:
        key = self._key(mu_id, "log")
        fields: dict[Any, Any] = dict(event)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xadd(key, fields, maxlen=5000, approximate=True)
            pipe.pexpire(key, self._ttl_ms * 7)
            await pipe.execute()

    async def history(self, mu_id: str, count: int = 50) -> list[dict[str, str]]:
        entries = await self.redis.xrevrange(self._key(mu_id, "log"), count=count) or []
        return [{_text(k): _text(v) for k, v in (fields or {}).items()} for _, fields in reversed(entries)]

    async def save_figures(self, mu_id: str, figures: dict[str, str]) -> None:
        await self.redis.set(self._key(mu_id, "figures"), json.dumps(figures), px=self._ttl_ms)

    async def figures(self, mu_id: str) -> dict[str, str]:
        raw = await self.redis.get(self._key(mu_id, "figures"))
        return cast(dict[str, str], json.loads(_text(raw))) if raw else {}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
