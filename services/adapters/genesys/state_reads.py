"""Agents' presence and routing read over REST (the reconciliation's reading), in as few requests as
Genesys allows."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from services.adapters.genesys.client import GenesysClient
from services.adapters.genesys.parse import read_presence, read_routing, ref_id

USERS_PER_STATE_REQUEST = 100
PRESENCES_PER_BULK = 50


async def read_states(client: GenesysClient, ids: list[str],
                      definitions: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``GET /api/v2/users?id=..&expand=presence&expand=routingStatus`` (expand is best effort), then the
    bulk presence route and the per-user routing-status route for whatever the expand left out."""
    chunks = [ids[i:i + USERS_PER_STATE_REQUEST] for i in range(0, len(ids), USERS_PER_STATE_REQUEST)]
    presences: dict[str, Any] = {}
    routings: dict[str, Any] = {}

    async def users(chunk: list[str]) -> None:
        params: dict[str, str | int | list[str]] = {
            "id": chunk, "expand": ["presence", "routingStatus"], "pageSize": USERS_PER_STATE_REQUEST}
        async for user in client.paged("/api/v2/users", params, page_size=USERS_PER_STATE_REQUEST):
            user_id = ref_id(user)
            if user_id is None:
                continue
            presence = read_presence(user.get("presence"), definitions)
            if presence is not None:
                presences[user_id] = presence
            routing = read_routing(user.get("routingStatus"))
            if routing is not None:
                routings[user_id] = routing

    await asyncio.gather(*(users(c) for c in chunks))
    missing = [a for a in ids if a not in presences]
    bulk = [missing[i:i + PRESENCES_PER_BULK] for i in range(0, len(missing), PRESENCES_PER_BULK)]

    async def bulk_presence(chunk: list[str]) -> None:
        body = await client.get("/api/v2/users/presences/purecloud/bulk", {"id": chunk})
        for item in body if isinstance(body, list) else []:
            user_id = item.get("userId") if isinstance(item, dict) else None
            presence = read_presence(item, definitions)
            if isinstance(user_id, str) and presence is not None:
                presences[user_id] = presence

    async def routing_status(user_id: str) -> None:
        routing = read_routing(await client.get(f"/api/v2/users/{user_id}/routingstatus"))
        if routing is not None:
            routings[user_id] = routing

    await asyncio.gather(*(bulk_presence(c) for c in bulk),
                         *(routing_status(a) for a in ids if a not in routings))
    return presences, routings
