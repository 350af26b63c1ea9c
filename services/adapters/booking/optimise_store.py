"""Redis store of "Optimise upcoming": proposals, the first decision on each, and moved plans.

Three hashes under the booking hash tag; the decision is taken with HSETNX, so of two clicks (or
two replicas) exactly one applies. Moved plans outlive restarts: the next optimisation starts
from where the bookings really are, and their invites keep counting SEQUENCE up.
"""

from __future__ import annotations

import json
from datetime import timedelta

from redis.asyncio import Redis

from services.adapters.redis_keys import BOOKING_TTL, BookingKeys
from services.booking.model import Plan
from services.booking.optimise import Decision, Proposal, Revised


class RedisOptimiseStore:
    def __init__(self, redis: Redis, keys: BookingKeys, ttl: timedelta = BOOKING_TTL) -> None:
        self.redis, self.ttl_ms = redis, int(ttl.total_seconds() * 1000)
        self.proposals, self.decisions = keys.optimise_proposals, keys.optimise_decisions
        self.revisions = keys.optimise_revisions

    async def _touch(self, name: str) -> None:
        await self.redis.pexpire(name, self.ttl_ms)

    async def save(self, proposal: Proposal) -> None:
        await self.redis.hset(self.proposals, proposal.id, proposal.model_dump_json())
        await self._touch(self.proposals)

    async def get(self, proposal_id: str) -> Proposal | None:
        raw = await self.redis.hget(self.proposals, proposal_id)
        return None if raw is None else Proposal.model_validate_json(raw)

    async def claim(self, decision: Decision) -> bool:
        won = bool(await self.redis.hsetnx(self.decisions, decision.proposal_id, decision.model_dump_json()))
        await self._touch(self.decisions)
        return won

    async def decision(self, proposal_id: str) -> Decision | None:
        raw = await self.redis.hget(self.decisions, proposal_id)
        return None if raw is None else Decision.model_validate_json(raw)

    async def revision(self, request_id: str) -> tuple[int, Plan] | None:
        raw = await self.redis.hget(self.revisions, request_id)
        if raw is None:
            return None
        data = json.loads(raw)
        return int(data["revision"]), Plan.model_validate(data["plan"])

    async def revise(self, revised: Revised) -> None:
        await self.redis.hset(self.revisions, revised.request_id,
                              json.dumps({"revision": revised.revision, "plan": revised.plan.model_dump(mode="json")}))
        await self._touch(self.revisions)
