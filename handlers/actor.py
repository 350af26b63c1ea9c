"""Who clicked or typed: the Slack user id, and a display name for cards and the audit trail."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from services.incident_actions import Actor

log = logging.getLogger(__name__)

NAME_LOOKUP_TIMEOUT = 1.0  # seconds; a view submission must be acknowledged within 3 s


def user_id_of(body: Mapping[str, Any]) -> str:
    user = body.get("user")
    if isinstance(user, Mapping) and user.get("id"):
        return str(user["id"])
    return str(body.get("user_id") or "")


def _payload_name(body: Mapping[str, Any]) -> str:
    user = body.get("user")
    if isinstance(user, Mapping):
        return str(user.get("name") or user.get("username") or user.get("id") or "someone")
    return str(body.get("user_name") or body.get("user_id") or "someone")


class ActorNames:
    """Real names from ``users.info`` (cached per process); the payload's user name as the fallback."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._names: dict[str, str] = {}
        self.max_entries = max_entries

    async def actor(self, body: Mapping[str, Any], client: AsyncWebClient | None) -> Actor:
        user_id = user_id_of(body)
        name = self._names.get(user_id)
        if name is None and client is not None and user_id:
            name = await self._lookup(user_id, client)
        return Actor(slack_user_id=user_id, name=name or _payload_name(body))

    async def _lookup(self, user_id: str, client: AsyncWebClient) -> str | None:
        try:
            response = await asyncio.wait_for(client.users_info(user=user_id), NAME_LOOKUP_TIMEOUT)
        except Exception:  # the payload's name will do
            log.info("could not look up the name of %s", user_id, exc_info=True)
            return None
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        found = profile.get("real_name") or user.get("real_name") or profile.get("display_name")
        if not found:
            return None
        if len(self._names) >= self.max_entries:
            self._names.clear()
        self._names[user_id] = str(found)
        return str(found)
