"""A fake Slack Web API: a real aiohttp server on 127.0.0.1 that answers like Slack and records calls.

Point ``AsyncWebClient(base_url=fake.api_url)`` at it, and put ``fake.response_url()`` in payloads
so Bolt's ``respond()`` lands here too. Faults are injected per method (429 with Retry-After, 5xx,
or an ``ok: false`` error). Messages are kept per channel so tests can read a card after updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

BOT_TOKEN = "xoxb-test-token"
TEAM_ID = "T0TEST001"
BOT_USER_ID = "U0BOT0001"


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    authorization: str | None = None


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    edits: int = 0


@dataclass
class Fault:
    status: int = 200
    retry_after: int | None = None
    error: str | None = None
    times: int = 1


def _decode(value: Any) -> Any:
    """Form fields holding JSON (blocks, view) are decoded so tests see the same shapes either way."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@dataclass
class FakeSlack:
    token: str = BOT_TOKEN
    users_by_email: dict[str, str] = field(default_factory=dict)
    user_names: dict[str, str] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    webhook_posts: list[dict[str, Any]] = field(default_factory=list)
    messages: dict[str, list[Message]] = field(default_factory=lambda: defaultdict(list))
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: dict[str, list[Fault]] = field(default_factory=lambda: defaultdict(list))
    delays: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    _runner: web.AppRunner | None = None
    _port: int = 0
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Condition | None = None
    # Set by stop(): a slowed answer still pending ends then, instead of holding the server's shutdown
    # (aiohttp waits for running handlers) for the rest of its delay after its client is gone.
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    socket_acks: list[dict[str, Any]] = field(default_factory=list)

    # ---- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/webhook/{hook}", self._webhook)
        app.router.add_get("/link", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        self._changed = asyncio.Condition()
        self._stopping.clear()  # started again after a stop: delays hold again
        return self

    async def stop(self) -> None:
        self._stopping.set()
        for socket in list(self.sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/api/"

    def response_url(self, hook: str = "1") -> str:
        return f"http://127.0.0.1:{self._port}/webhook/{hook}"

    # ---- test controls -----------------------------------------------------------------------
    def fail(self, method: str, *, status: int = 200, retry_after: int | None = None, error: str | None = None,
             times: int = 1) -> None:
        """The next ``times`` calls of ``method`` fail this way (429 + Retry-After, 5xx, or ok:false)."""
        self.faults[method].append(Fault(status, retry_after, error, times))

    def slow(self, method: str, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` are recorded at once but answered ``seconds`` later."""
        self.delays[method].extend([seconds] * times)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def card(self, channel: str, ts: str) -> Message:
        return next(m for m in self.messages[channel] if m.ts == ts)

    def thread(self, channel: str, ts: str) -> list[Message]:
        return [m for m in self.messages[channel] if m.thread_ts == ts]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Any]:
        """Wait until ``method`` was called ``count`` times (listeners run after ``ack``); returns its calls,
        or for ``"webhook"`` the JSON bodies posted to response URLs."""
        assert self._changed is not None

        def enough() -> bool:
            if method == "webhook":
                return len(self.webhook_posts) >= count
            if method == "socket_acks":
                return len(self.socket_acks) >= count
            if method == "socket_connections":
                return len(self.sockets) >= count
            return len(self.calls_to(method)) >= count

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(enough), timeout)
        special: dict[str, list[Any]] = {"webhook": self.webhook_posts, "socket_acks": self.socket_acks,
                                         "socket_connections": self.sockets}
        return list(special[method]) if method in special else self.calls_to(method)

    async def send_envelope(self, envelope: dict[str, Any]) -> None:
        """Push a Socket Mode envelope (events_api / interactive / slash_commands) to the connected app."""
        await self.sockets[-1].send_str(json.dumps(envelope))

    # ---- HTTP --------------------------------------------------------------------------------
    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: say hello, then record every envelope ack the app sends back."""
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self.sockets.append(socket)
        await self._notify()
        await socket.send_str(json.dumps({"type": "hello", "num_connections": 1,
                                          "debug_info": {"host": "fake"}, "connection_info": {"app_id": "A0APP0001"}}))
        async for message in socket:
            if message.type.name == "TEXT":
                self.socket_acks.append(json.loads(message.data))
                await self._notify()
        self.sockets.remove(socket)
        return socket

    async def _webhook(self, request: web.Request) -> web.Response:
        self.webhook_posts.append(await request.json())
        await self._notify()
        return web.Response(text="ok")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body: dict[str, Any] = dict(request.query)
        raw = await request.read()
        if raw:
            if request.content_type == "application/json":
                body.update(json.loads(raw))
            else:
                body.update({k: _decode(v) for k, v in parse_qsl(raw.decode())})
        self.calls.append(Call(method, body, request.headers.get("Authorization")))
        if self.delays.get(method):
            await self._notify()  # the call is visible in flight, before its answer
            delay = self.delays[method].pop(0)
            with contextlib.suppress(TimeoutError):  # the delay ran out with the fake still up: answer now
                await asyncio.wait_for(self._stopping.wait(), delay)
        try:
            return self._answer(method, body, request.headers.get("Authorization"))
        finally:
            await self._notify()

    def _answer(self, method: str, body: dict[str, Any], authorization: str | None) -> web.Response:
        queue = self.faults.get(method)
        if queue:
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            if fault.status == 429:
                return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                         headers={"Retry-After": str(fault.retry_after or 1)})
            if fault.status >= 500:
                return web.Response(status=fault.status, text="upstream trouble", content_type="text/html")
            return web.json_response({"ok": False, "error": fault.error or "fatal_error"})
        if method == "apps.connections.open":  # the only method called with the app-level token
            if not (authorization or "").startswith("Bearer xapp-"):
                return web.json_response({"ok": False, "error": "invalid_auth"})
            return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self._port}/link"})
        if authorization != f"Bearer {self.token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response(self._ok(method, body))

    def _ok(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test, "chat.postMessage": self._post_message, "chat.update": self._update,
            "chat.getPermalink": self._permalink, "chat.postEphemeral": self._ephemeral,
            "conversations.open": self._open_conversation, "users.lookupByEmail": self._lookup_by_email,
            "users.info": self._user_info, "views.open": self._view, "views.publish": self._view,
            "views.update": self._view, "views.push": self._view,
        }
        handler = handlers.get(method)
        return handler(body) if handler is not None else {"ok": True}

    def _auth_test(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://test.slack.com/", "team": "Test", "user": "adherence",
                "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": "B0BOT0001"}

    def _post_message(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body["channel"])
        ts = f"1700000000.{next(self._ts):06d}"
        self.messages[channel].append(Message(channel, ts, str(body.get("text", "")),
                                              list(body.get("blocks") or []), body.get("thread_ts")))
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": body.get("text", ""), "ts": ts}}

    def _update(self, body: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(body["channel"]), str(body["ts"])
        found = [m for m in self.messages[channel] if m.ts == ts]
        if not found:
            return {"ok": False, "error": "message_not_found"}
        found[0].text = str(body.get("text", found[0].text))
        if "blocks" in body:
            found[0].blocks = list(body["blocks"] or [])
        found[0].edits += 1
        return {"ok": True, "channel": channel, "ts": ts, "text": found[0].text}

    def _permalink(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": body["channel"],
                "permalink": f"https://test.slack.com/archives/{body['channel']}/p{body['message_ts']}"}

    def _ephemeral(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}

    def _open_conversation(self, body: dict[str, Any]) -> dict[str, Any]:
        users = str(body.get("users", ""))
        prefix = "G" if "," in users else "D"
        return {"ok": True, "channel": {"id": prefix + users.replace(",", "")[:20]}}

    def _lookup_by_email(self, body: dict[str, Any]) -> dict[str, Any]:
        user_id = self.users_by_email.get(str(body.get("email", "")).lower())
        if user_id is None:
            return {"ok": False, "error": "users_not_found"}
        return {"ok": True, "user": {"id": user_id, "team_id": TEAM_ID}}

    def _user_info(self, body: dict[str, Any]) -> dict[str, Any]:
        user_id = str(body.get("user"))
        name = self.user_names.get(user_id, user_id)
        return {"ok": True, "user": {"id": user_id, "name": name.lower().replace(" ", "."),
                                     "real_name": name, "profile": {"real_name": name}}}

    def _view(self, body: dict[str, Any]) -> dict[str, Any]:
        view = body.get("view") or {}
        view_id = f"V{next(self._ts):08d}"
        key = str(body.get("user_id") or view_id)
        self.views[key] = view
        return {"ok": True, "view": {**view, "id": view_id}}
