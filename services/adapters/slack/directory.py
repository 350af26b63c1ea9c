"""``ChatDirectory`` over Slack: a person's Slack user id, from config first, else by email.

Lookups (``users.lookupByEmail``, Tier 3) are cached in memory and, when a Redis client is given,
in Redis so replicas and restarts share them. A miss (``users_not_found``) is cached for a shorter
time so a person added to Slack later is found without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import timedelta

from aiohttp import ClientError
from redis.asyncio import Redis
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from services.adapters.redis_keys import slack_user_key
from services.adapters.slack.errors import ChatDeliveryError
from services.domain.model import Person

log = logging.getLogger(__name__)

_MISSING = ""  # cached marker for "no Slack user with this email"


class SlackDirectory:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        overrides: Mapping[str, str] | None = None,
        redis: Redis | None = None,
        prefix: str = "adh",
        ttl: timedelta = timedelta(hours=24),
        miss_ttl: timedelta = timedelta(minutes=10),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client, self.overrides, self.redis = client, dict(overrides or {}), redis
        self.prefix, self.ttl, self.miss_ttl, self.monotonic = prefix, ttl, miss_ttl, monotonic
        self._memory: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.lookups = 0  # calls made to Slack (observability, and tests)

    async def user_id_for(self, person: Person) -> str | None:
        if person.id in self.overrides:
            return self.overrides[person.id]
        email = person.email.strip().lower()
        if not email:
            return None
        cached = self._from_memory(email)
        if cached is not None:
            return cached or None
        async with self._locks.setdefault(email, asyncio.Lock()):  # one lookup per email at a time
            cached = self._from_memory(email)
            if cached is None:
                cached = await self._from_redis(email)
            if cached is None:
                cached = await self._lookup(email)
            return cached or None

    def _from_memory(self, email: str) -> str | None:
        hit = self._memory.get(email)
        if hit is None or hit[1] <= self.monotonic():
            return None
        return hit[0]

    def _remember(self, email: str, user_id: str) -> None:
        ttl = self.ttl if user_id else self.miss_ttl
        self._memory[email] = (user_id, self.monotonic() + ttl.total_seconds())

    def _key(self, email: str) -> str:
        return slack_user_key(self.prefix, email)

    async def _from_redis(self, email: str) -> str | None:
        if self.redis is None:
            return None
        try:
            raw = await self.redis.get(self._key(email))
        except Exception:  # the cache is an optimisation; Slack still answers without it
            log.warning("could not read the Slack user cache from Redis", exc_info=True)
            return None
        if raw is None:
            return None
        value = raw.decode() if isinstance(raw, bytes) else str(raw)
        self._remember(email, value)
        return value

    async def _lookup(self, email: str) -> str:
        self.lookups += 1
        try:
            response = await self.client.users_lookupByEmail(email=email)
            user_id = str(response["user"]["id"])
        except SlackApiError as error:
            code = error.response.get("error") if error.response is not None else None
            if code != "users_not_found":
                raise ChatDeliveryError(f"users.lookupByEmail failed: {code}", slack_error=code) from error
            log.info("no Slack user has the email of a configured person")  # never log the address
            user_id = _MISSING
        except (ClientError, OSError, TimeoutError) as error:
            raise ChatDeliveryError(f"users.lookupByEmail failed: {error!r}") from error
        self._remember(email, user_id)
        if self.redis is not None:
            ttl = self.ttl if user_id else self.miss_ttl
            try:
                await self.redis.set(self._key(email), user_id, ex=int(ttl.total_seconds()))
            except Exception:
                log.warning("could not write the Slack user cache to Redis", exc_info=True)
        return user_id
