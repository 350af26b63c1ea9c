"""The Notification Service: channels (at most 20, 24 h each, renewed by a subscribe), topic
subscriptions (adherence topics behind a permission, 1,000 per channel), the WebSocket with its
heartbeat and ping/pong, and the scenario calls that drop, expire or announce the closing of sockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from datetime import timedelta
from typing import Any

from aiohttp import WSMsgType, web

from services.ports import Clock
from testing.fake_genesys.adherence import AdherencePermission
from testing.fake_genesys.core import FakeCore
from testing.fake_genesys.model import FakeChannel, iso
from testing.fake_genesys.wire import error_response

HEARTBEAT = json.dumps({"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}})
PONG = json.dumps({"topicName": "channel.metadata", "eventBody": {"message": "pong"}})


class NotificationsApi(FakeCore):
    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self.channels: dict[str, FakeChannel] = {}
        self.heartbeat_every = 30.0
        self.muted = False
        self.ws_refuse = False
        self.pings = 0
        self.channel_lifetime = timedelta(hours=24)
        self.max_topics_per_channel = 1000
        self.adherence_permission = AdherencePermission()  # who may subscribe to unit adherence topics
        self._transports: dict[web.WebSocketResponse, asyncio.Transport] = {}

    # ---- sockets (scenario) ---------------------------------------------------------------------------------
    async def drop_sockets(self) -> int:
        """Cut every WebSocket without a close handshake (a network drop)."""
        dropped = 0
        for sockets in self.sockets.values():
            for ws in list(sockets):
                transport = self._transports.pop(ws, None)
                if transport is not None:
                    transport.abort()
                    dropped += 1
                sockets.discard(ws)
        return dropped

    async def send_socket_closing(self, close_after: float = 0.5) -> None:
        """Maintenance: announce ``v2.system.socket_closing`` on every socket, close them a little later."""
        doomed = [ws for sockets in self.sockets.values() for ws in sockets]
        message = json.dumps({"topicName": "v2.system.socket_closing",
                              "eventBody": {"message": "The socket will close soon"}})
        for ws in doomed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(message)

        async def close_later() -> None:
            await asyncio.sleep(close_after)
            for ws in doomed:
                with contextlib.suppress(Exception):
                    await ws.close()

        self._spawn(close_later())

    async def push_raw(self, frame: str) -> None:
        """Send a raw text frame to every socket (e.g. one that is not JSON)."""
        for sockets in self.sockets.values():
            for ws in list(sockets):
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_str(frame)

    async def send_heartbeats(self) -> None:
        for sockets in self.sockets.values():
            for ws in list(sockets):
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_str(HEARTBEAT)

    async def expire_channels(self) -> list[str]:
        """Remove channels past their expiry (by the fake's clock), closing their sockets."""
        now = self.clock.now()
        expired = [c for c in self.channels.values() if c.expires <= now]
        for channel in expired:
            self._remove_channel(channel.id)
            for ws in list(self.sockets.pop(channel.id, set())):
                with contextlib.suppress(Exception):
                    await ws.close()
        return [c.id for c in expired]

    def connected_channels(self) -> list[str]:
        return [cid for cid, sockets in self.sockets.items() if sockets]

    def subscribers(self, topic: str) -> set[str]:
        return set(self._by_topic.get(topic.lower(), set()))

    async def _close_sockets(self) -> None:
        for sockets in self.sockets.values():
            for ws in list(sockets):
                with contextlib.suppress(Exception):
                    await ws.close()

    # ---- routes ---------------------------------------------------------------------------------------------
    def _notification_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/api/v2/notifications/channels", self._channel_create)
        router.add_get("/api/v2/notifications/channels", self._channel_list)
        router.add_route("HEAD", "/api/v2/notifications/channels/{channel}", self._channel_head)
        router.add_get("/api/v2/notifications/channels/{channel}/subscriptions", self._subscriptions_get)
        router.add_put("/api/v2/notifications/channels/{channel}/subscriptions", self._subscriptions_put)
        router.add_post("/api/v2/notifications/channels/{channel}/subscriptions", self._subscriptions_post)
        router.add_delete("/api/v2/notifications/channels/{channel}/subscriptions", self._subscriptions_delete)

    def _socket_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/channels/{channel}", self._websocket)

    async def _channel_create(self, request: web.Request) -> web.Response:
        channel_id = f"streaming-0-{uuid.uuid4().hex[:20]}"
        channel = FakeChannel(channel_id, self.clock.now() + self.channel_lifetime)
        self.channels[channel_id] = channel
        if len(self.channels) > 20:  # the 21st channel removes the oldest
            oldest = min(self.channels.values(), key=lambda c: (bool(self.sockets.get(c.id)), c.expires))
            self._remove_channel(oldest.id)
        ws_url = self.api_url.replace("http://", "ws://")
        return web.json_response({"connectUri": f"{ws_url}/channels/{channel_id}", "id": channel_id,
                                  "expires": iso(channel.expires)})

    async def _channel_list(self, request: web.Request) -> web.Response:
        return web.json_response({"entities": [
            {"connectUri": f"{self.api_url.replace('http://', 'ws://')}/channels/{c.id}", "id": c.id,
             "expires": iso(c.expires)} for c in self.channels.values()]})

    def _live_channel(self, channel_id: str) -> FakeChannel | None:
        channel = self.channels.get(channel_id)
        if channel is not None and channel.expires <= self.clock.now():
            self._remove_channel(channel_id)
            return None
        return channel

    async def _channel_head(self, request: web.Request) -> web.Response:
        found = self._live_channel(request.match_info["channel"]) is not None
        return web.Response(status=200 if found else 404)

    def _remove_channel(self, channel_id: str) -> None:
        channel = self.channels.pop(channel_id, None)
        if channel is not None:
            for topic in channel.topics:
                self._by_topic[topic.lower()].discard(channel_id)

    def _topics_response(self, channel: FakeChannel) -> dict[str, Any]:
        return {"entities": [{"id": t, "state": "Permitted", "selfUri": f"/api/v2/notifications/topics/{t}"}
                             for t in channel.topics]}

    async def _subscriptions_get(self, request: web.Request) -> web.Response:
        channel = self._live_channel(request.match_info["channel"])
        if channel is None:
            return error_response(404, "not.found", "channel not found")
        return web.json_response(self._topics_response(channel))

    async def _subscriptions_put(self, request: web.Request) -> web.Response:
        return await self._subscribe(request, replace=True)

    async def _subscriptions_post(self, request: web.Request) -> web.Response:
        return await self._subscribe(request, replace=False)

    async def _subscribe(self, request: web.Request, *, replace: bool) -> web.Response:
        channel = self._live_channel(request.match_info["channel"])
        if channel is None:
            return error_response(404, "not.found", "channel not found")
        body = await request.json()
        if not isinstance(body, list) or not all(isinstance(t, dict) and isinstance(t.get("id"), str) for t in body):
            return error_response(400, "bad.request", "body must be a list of {id}")
        topics = [t["id"] for t in body]
        refused = [t for t in topics if self.adherence_permission.denied(t)]
        if refused and self.adherence_permission.mode == "forbid":
            return error_response(403, "missing.permissions", f"Missing permission for topic(s) {', '.join(refused)}")
        topics = [t for t in topics if t not in refused]  # rejected topics are not subscribed
        merged = topics if replace else list(dict.fromkeys([*channel.topics, *topics]))
        if len(merged) > self.max_topics_per_channel:
            return error_response(400, "notification.channel.topic.limit",
                                  f"A channel may have at most {self.max_topics_per_channel} topics")
        for topic in channel.topics:
            self._by_topic[topic.lower()].discard(channel.id)
        channel.topics = merged
        for topic in merged:
            self._by_topic[topic.lower()].add(channel.id)
        channel.expires = self.clock.now() + self.channel_lifetime  # a subscribe resets the 24 h clock
        listing = self._topics_response(channel)
        listing["entities"] += [self.adherence_permission.rejection(t) for t in refused]
        return web.json_response(listing)

    async def _subscriptions_delete(self, request: web.Request) -> web.Response:
        channel = self._live_channel(request.match_info["channel"])
        if channel is None:
            return error_response(404, "not.found", "channel not found")
        for topic in channel.topics:
            self._by_topic[topic.lower()].discard(channel.id)
        channel.topics = []
        return web.Response(status=200)

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        channel_id = request.match_info["channel"]
        if self.ws_refuse:
            return web.Response(status=503, text="unavailable")
        if self._live_channel(channel_id) is None:
            return web.Response(status=404, text="channel not found")
        self.socket_extensions.append(request.headers.get("Sec-WebSocket-Extensions", ""))
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        self.sockets[channel_id].add(ws)
        if isinstance(request.transport, asyncio.Transport):
            self._transports[ws] = request.transport
        beat = asyncio.ensure_future(self._heartbeat(ws))
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                with contextlib.suppress(ValueError):
                    data = json.loads(message.data)
                    if isinstance(data, dict) and data.get("message") == "ping":
                        self.pings += 1
                        if not self.muted:
                            await ws.send_str(PONG)
        finally:
            beat.cancel()
            self.sockets[channel_id].discard(ws)
            self._transports.pop(ws, None)
        return ws

    async def _heartbeat(self, ws: web.WebSocketResponse) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while not ws.closed:
                await asyncio.sleep(self.heartbeat_every)
                if not self.muted:
                    await ws.send_str(HEARTBEAT)
