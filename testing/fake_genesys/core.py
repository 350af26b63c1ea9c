"""What every API family of the fake shares: the org, the event bus the families publish on, the
pre-signed downloads, and the background tasks (stopped with the server).

Each family (``auth``, ``faults``, ``structure``, ``presence``, ``notifications``, ``schedules``,
``explanations``, ``coaching``) is a class over this core; ``server.FakeGenesys`` composes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson
from aiohttp import web

from services.clock import SystemClock
from services.ports import Clock
from testing.fake_genesys.model import (
    FakeActivity,
    FakeBusinessUnit,
    FakeTeam,
    FakeUnit,
    FakeUser,
    correlation_id,
    default_codes,
    presence_key,
)


class FakeCore:
    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self.business_units: dict[str, FakeBusinessUnit] = {}
        self.units: dict[str, FakeUnit] = {}
        self.teams: dict[str, FakeTeam] = {}
        self.users: dict[str, FakeUser] = {}
        self.downloads: dict[str, Any] = {}
        # the event bus: channel id -> its open sockets; topic (lower case) -> subscribed channel ids
        self.sockets: dict[str, set[web.WebSocketResponse]] = defaultdict(set)
        self._by_topic: dict[str, set[str]] = defaultdict(set)
        self.events_pushed = 0
        self.socket_extensions: list[str] = []  # each socket's Sec-WebSocket-Extensions offer ("" for none)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.api_url = self.login_url = ""

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- org building (scenario) -------------------------------------------------------------------------------
    def add_business_unit(self, bu_id: str, name: str = "", time_zone: str = "UTC") -> FakeBusinessUnit:
        bu = FakeBusinessUnit(bu_id, name or bu_id, time_zone, default_codes())
        self.business_units[bu_id] = bu
        return bu

    def add_unit(self, mu_id: str, bu_id: str, name: str = "") -> FakeUnit:
        unit = FakeUnit(mu_id, name or mu_id, bu_id)
        self.units[mu_id] = unit
        return unit

    def add_team(self, team_id: str, name: str = "") -> FakeTeam:
        team = FakeTeam(team_id, name or team_id)
        self.teams[team_id] = team
        return team

    def add_user(self, user_id: str, mu_id: str, *, name: str = "", email: str = "", team_id: str | None = None,
                 manager_id: str | None = None, presence: str = "OFFLINE", routing: str = "OFF_QUEUE") -> FakeUser:
        now = self.clock.now()
        user = FakeUser(user_id, name or user_id, email or f"{user_id}@example.com", mu_id, team_id, manager_id,
                        presence_key(presence), now, routing, now)
        self.users[user_id] = user
        return user

    def set_activities(self, user_id: str, activities: Iterable[FakeActivity]) -> None:
        self.users[user_id].activities = sorted(activities, key=lambda a: a.start)

    # ---- event bus -----------------------------------------------------------------------------------------------
    async def push_event(self, topic: str, body: dict[str, Any]) -> int:
        """Push any event body (e.g. a malformed one) on a topic."""
        return await self._push(topic, body)

    async def _push_later(self, topic: str, body: dict[str, Any], delay: float) -> None:
        await asyncio.sleep(delay)
        await self._push(topic, body)

    async def _push(self, topic: str, body: dict[str, Any] | Callable[[], dict[str, Any]]) -> int:
        """Send an event to every socket of every channel subscribed to ``topic``; returns sockets reached.

        ``body`` may be a function that builds it: called only when someone listens, so a change
        pushed on four topics of which one is subscribed builds one body (the fake shares its cores
        with the adapter it feeds)."""
        channel_ids = self._by_topic.get(topic.lower())
        if not channel_ids:
            return 0
        if callable(body):
            body = body()
        # orjson and a counter-based id: the same frame as json.dumps + uuid4, at a fraction of the CPU
        # (the fake shares the benchmark's cores with the adapter it feeds).
        frame = orjson.dumps({"topicName": topic, "version": "2", "eventBody": body,
                              "metadata": {"CorrelationId": correlation_id()}}).decode()
        reached = 0
        for channel_id in list(channel_ids):
            for ws in list(self.sockets.get(channel_id, ())):
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_str(frame)
                    reached += 1
        self.events_pushed += reached
        return reached

    # ---- pre-signed downloads (``downloadUrl``) ----------------------------------------------------------------------
    def _store_download(self, payload: Any) -> str:
        download_id = uuid.uuid4().hex
        self.downloads[download_id] = payload
        return f"{self.api_url}/downloads/{download_id}?X-Amz-Signature={uuid.uuid4().hex}"

    async def _download(self, request: web.Request) -> web.Response:
        if "Authorization" in request.headers:  # pre-signed storage refuses a second auth mechanism
            return web.Response(status=400, text="Only one auth mechanism allowed")
        payload = self.downloads.get(request.match_info["id"])
        if payload is None:
            return web.Response(status=404, text="NoSuchKey")
        return web.json_response(payload)

