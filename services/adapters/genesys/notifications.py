"""The Notification Service: channels, topic subscriptions, and one WebSocket per channel.

Each channel carries at most ``topics_per_channel`` topics (Genesys allows 1,000), so N topics use
ceil(N / limit) channels, up to ``max_channels`` (Genesys allows 20 per OAuth client). Every channel
has its own runner task that keeps it alive for as long as the hub runs:

* connect to ``connectUri``, then ``PUT`` the channel's topics (this also resets its 24 h expiry),
  then tell the owner (``on_connected``) so it can reconcile over REST whatever it may have missed;
* read events; heartbeats and pongs prove the socket is alive (``on_alive``); a ``ping`` is sent
  every ``ping_every`` seconds and a socket silent for ``silence_timeout`` is closed;
* ``v2.system.socket_closing`` (maintenance), a dropped socket, a lost subscription or an expired
  channel: reconnect with backoff (checking the channel still exists, else creating a new one)
  and go through the same steps again. The runner never gives up: outages end by themselves.

:meth:`NotificationHub.renew_due` re-subscribes channels that get close to their expiry, measured
with the injected clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedOK, WebSocketException

from services import telemetry
from services.adapters.genesys.backoff import Backoff, Sleep, real_sleep
from services.adapters.genesys.client import GenesysClient, as_object
from services.adapters.genesys.errors import GenesysBadRequest, GenesysError, GenesysForbidden, GenesysNotFound
from services.adapters.genesys.parse import parse_time
from services.ports import Clock

log = logging.getLogger(__name__)

CHANNELS = "/api/v2/notifications/channels"
HEARTBEAT_TOPIC = "channel.metadata"
SOCKET_CLOSING = "v2.system.socket_closing"

EventHandler = Callable[[str, dict[str, Any]], None]
#: the channel, and the topics Genesys answered ``Rejected`` (``None``: the whole subscribe refused with a 4xx)
TopicsRefused = Callable[["Channel", tuple[str, ...] | None], None]


@dataclass(frozen=True)
class HubOptions:
    topics_per_channel: int = 1000
    max_channels: int = 20
    ping_every: float = 30.0
    silence_timeout: float = 75.0
    open_timeout: float = 10.0
    channel_lifetime: timedelta = timedelta(hours=24)
    renew_before: timedelta = timedelta(hours=1)
    reconnect_backoff: Backoff = field(default_factory=lambda: Backoff(base=1.0, cap=60.0))


@dataclass(eq=False)
class Channel:
    index: int
    topics: tuple[str, ...]
    id: str | None = None
    connect_uri: str | None = None
    expires: datetime | None = None
    #: Topics Genesys accepted on the last subscribe (rejected ones get no events).
    permitted: tuple[str, ...] = ()
    socket: ClientConnection | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    connects: int = 0
    renewals: int = 0
    last_heard: float = 0.0
    task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self.socket is not None


class _After(Enum):
    CLOSING = "closing"  # server asked us to move: reconnect at once
    RESUBSCRIBE = "resubscribe"


class NotificationHub:
    def __init__(self, client: GenesysClient, clock: Clock, *, handler: EventHandler,
                 on_connected: Callable[[Channel], Awaitable[None]] | None = None,
                 on_alive: Callable[[Channel], None] | None = None,
                 on_down: Callable[[Channel], None] | None = None,
                 options: HubOptions | None = None, sleep: Sleep = real_sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client, self.clock = client, clock
        self.options = options or HubOptions()
        self._handler = handler
        self._on_connected = on_connected
        self._on_alive = on_alive
        self._on_down = on_down
        self.on_refused: TopicsRefused | None = None  # set by the source's topic fallback (built on the hub)
        self._sleep = sleep
        self._monotonic = monotonic
        self.channels: list[Channel] = []
        self.unsubscribed: tuple[str, ...] = ()  # topics beyond the channel limit
        self._spare: list[tuple[str, str, datetime | None]] = []  # channels created elsewhere, taken first
        self._closed = False
        telemetry.watch_genesys_channels(lambda: sum(1 for c in self.channels if c.connected))

    # ---- lifecycle ----------------------------------------------------------------------------------
    async def start(self, topics: Sequence[str]) -> None:
        await self.add_topics(topics)

    async def add_topics(self, topics: Sequence[str]) -> None:
        """Subscribe topics not yet subscribed: fill channels that have room, then open new ones."""
        known = {t for channel in self.channels for t in channel.topics}
        fresh = [t for t in dict.fromkeys(topics) if t not in known]
        limit = self.options.topics_per_channel
        for channel in self.channels:
            room = limit - len(channel.topics)
            if room > 0 and fresh:
                channel.topics, fresh = channel.topics + tuple(fresh[:room]), fresh[room:]
                if channel.connected:
                    await self._subscribe_quietly(channel)
        while fresh and len(self.channels) < self.options.max_channels:
            channel = Channel(len(self.channels), tuple(fresh[:limit]))
            fresh = fresh[limit:]
            self.channels.append(channel)
            channel.task = asyncio.create_task(self._run(channel), name=f"genesys-channel-{channel.index}")
        if fresh:
            log.error("%d topic(s) exceed %d channels x %d topics; their agents are kept up to date by REST "
                      "reconciliation only", len(fresh), self.options.max_channels, limit)
        self.unsubscribed = tuple(dict.fromkeys((*self.unsubscribed, *fresh)))

    async def remove_topics(self, topics: Sequence[str]) -> None:
        """Stop subscribing these topics (each channel holding one is re-subscribed without it)."""
        gone = set(topics)
        for channel in self.channels:
            kept = tuple(t for t in channel.topics if t not in gone)
            if kept != channel.topics:
                channel.topics = kept
                channel.permitted = tuple(t for t in channel.permitted if t not in gone)
                if channel.connected:
                    await self._subscribe_quietly(channel)
        self.unsubscribed = tuple(t for t in self.unsubscribed if t not in gone)

    def adopt(self, channel_id: str, connect_uri: str, expires: datetime | None) -> None:
        """A channel created before the hub started (the topic probe's): the next new channel uses it
        instead of creating one, so the probe does not cost one of the 20 channels."""
        self._spare.append((channel_id, connect_uri, expires))

    async def wait_ready(self, timeout: float) -> bool:
        """Wait until every channel is connected, subscribed and reconciled; False on timeout."""
        try:
            await asyncio.wait_for(asyncio.gather(*(c.ready.wait() for c in self.channels)), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        self._closed = True
        tasks = [c.task for c in self.channels if c.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in self.channels:
            if channel.socket is not None:
                await channel.socket.close()

    # ---- upkeep ---------------------------------------------------------------------------------------
    async def renew_due(self) -> int:
        """Re-subscribe channels within ``renew_before`` of their expiry (this resets the 24 h clock)."""
        now, renewed = self.clock.now(), 0
        for channel in self.channels:
            if channel.connected and channel.expires is not None and now >= channel.expires - self.options.renew_before:
                try:
                    await self._subscribe(channel)
                except GenesysNotFound:
                    log.warning("channel %s is gone; reconnecting on a new one", channel.id)
                    channel.id = None
                    await self._drop(channel)
                    continue
                except GenesysError as error:
                    log.warning("renewing channel %s failed (%s); will retry", channel.id, error)
                    continue
                channel.renewals += 1
                renewed += 1
                log.info("channel %s renewed until %s", channel.id, channel.expires)
        return renewed

    # ---- one channel ------------------------------------------------------------------------------------
    async def _run(self, channel: Channel) -> None:
        failures = 0
        while not self._closed:
            after: _After | None = None
            try:
                await self._ensure_channel(channel)
                assert channel.connect_uri is not None
                # No permessage-deflate: the frames are small JSON events arriving thousands a second, and
                # inflating each costs more CPU on both ends than the bandwidth it saves.
                async with connect(channel.connect_uri, ping_interval=None, open_timeout=self.options.open_timeout,
                                   close_timeout=2, max_size=None, max_queue=256, compression=None) as socket:
                    channel.socket = socket
                    channel.last_heard = self._monotonic()
                    await self._subscribe(channel)
                    channel.connects += 1
                    failures = 0
                    log.info("channel %s connected with %d topic(s) (connection %d)", channel.id,
                             len(channel.permitted), channel.connects)
                    pump = asyncio.create_task(self._pump(channel, socket))
                    try:
                        await self._report_connected(channel)
                        after = await pump
                    finally:
                        pump.cancel()
                        with contextlib.suppress(BaseException):  # already handled or being cancelled
                            await pump
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, WebSocketException, GenesysError) as error:
                log.warning("channel %s: %s: %s", channel.id, type(error).__name__, error)
            except Exception:
                log.exception("channel %s: unexpected failure; reconnecting", channel.id)
            finally:
                channel.socket = None
                channel.ready.clear()
                if self._on_down is not None and not self._closed:
                    self._on_down(channel)
            if self._closed:
                return
            if after is _After.CLOSING:
                continue  # Genesys gives about a minute: move now, no backoff
            delay = self.options.reconnect_backoff.delay(failures)
            failures += 1
            log.info("channel %s: reconnecting in %.1fs", channel.id, delay)
            await self._sleep(delay)

    async def _report_connected(self, channel: Channel) -> None:
        try:
            if self._on_connected is not None:
                await self._on_connected(channel)
        except Exception:
            log.exception("post-connect reconciliation of channel %s failed; states stay unconfirmed", channel.id)
        finally:
            channel.ready.set()

    async def _ensure_channel(self, channel: Channel) -> None:
        expired = channel.expires is not None and self.clock.now() >= channel.expires
        if channel.id is not None and not expired and await self.client.exists(f"{CHANNELS}/{channel.id}"):
            return
        if channel.id is None and self._spare:
            channel.id, channel.connect_uri, expires = self._spare.pop(0)
            channel.expires = expires or self.clock.now() + self.options.channel_lifetime
            if await self.client.exists(f"{CHANNELS}/{channel.id}"):
                log.info("using notification channel %s (created by the topic probe)", channel.id)
                return
        body = as_object(await self.client.post(CHANNELS, idempotent=True), CHANNELS)
        channel_id, uri = body.get("id"), body.get("connectUri")
        if not isinstance(channel_id, str) or not isinstance(uri, str):
            raise GenesysError(f"channel creation returned no id/connectUri: {body!r}")
        channel.id, channel.connect_uri = channel_id, uri
        channel.expires = parse_time(body.get("expires")) or self.clock.now() + self.options.channel_lifetime
        log.info("created notification channel %s (expires %s)", channel_id, channel.expires)

    async def _subscribe(self, channel: Channel) -> None:
        """``PUT`` the whole topic list at once: replacing in one request leaves no gap."""
        path = f"{CHANNELS}/{channel.id}/subscriptions"
        try:
            body = await self.client.put(path, [{"id": t} for t in channel.topics])
        except (GenesysForbidden, GenesysBadRequest):
            if self.on_refused is not None:  # some orgs refuse the whole request for one topic not permitted
                self.on_refused(channel, None)
            raise
        entities = body.get("entities") if isinstance(body, dict) else None
        if not entities:
            channel.permitted = channel.topics
        else:
            permitted: list[dict[str, Any]] = []
            rejected: list[dict[str, Any]] = []
            for entity in entities:
                if not isinstance(entity, dict):
                    continue
                state = str(entity.get("state") or "Permitted").lower()
                (permitted if state == "permitted" else rejected).append(entity)
            channel.permitted = tuple(str(e.get("id")) for e in permitted)
            for entity in rejected[:20]:
                log.warning("topic %s rejected: %s (missing permissions: %s)", entity.get("id"),
                            entity.get("rejectionReason"), ", ".join(entity.get("missingPermissions") or []) or "-")
            if len(rejected) > 20:
                log.warning("... and %d more rejected topic(s)", len(rejected) - 20)
            if rejected and self.on_refused is not None:
                self.on_refused(channel, tuple(str(e.get("id")) for e in rejected))
        channel.expires = self.clock.now() + self.options.channel_lifetime

    async def _subscribe_quietly(self, channel: Channel) -> None:
        try:
            await self._subscribe(channel)
        except GenesysError as error:
            log.warning("updating the topics of channel %s failed (%s); reconnecting", channel.id, error)
            await self._drop(channel)

    async def _drop(self, channel: Channel) -> None:
        if channel.socket is not None:
            await channel.socket.close()

    async def _pump(self, channel: Channel, socket: ClientConnection) -> _After | None:
        watchdog = asyncio.create_task(self._watch(channel, socket))
        try:
            while True:
                try:
                    raw = await socket.recv(decode=False)  # bytes: orjson reads them without a UTF-8 str first
                except ConnectionClosedOK:
                    return None
                channel.last_heard = self._monotonic()
                after = self._dispatch(channel, raw)
                if after is not None:
                    return after
        finally:
            watchdog.cancel()

    async def _watch(self, channel: Channel, socket: ClientConnection) -> None:
        """Ping every ``ping_every``; close a socket that stayed silent for ``silence_timeout``."""
        every = min(self.options.ping_every, self.options.silence_timeout / 2)
        while True:
            await self._sleep(every)  # injected with the monotonic clock, so a test can let the silence pass
            silent = self._monotonic() - channel.last_heard
            if silent > self.options.silence_timeout:
                log.warning("channel %s silent for %.0fs (no heartbeat or pong); reconnecting", channel.id, silent)
                await socket.close()
                return
            await self._ping(socket)

    @staticmethod
    async def _ping(socket: ClientConnection) -> None:
        with contextlib.suppress(WebSocketException):  # the reader sees the closed socket and reconnects
            await socket.send('{"message":"ping"}')

    def _dispatch(self, channel: Channel, raw: str | bytes) -> _After | None:
        try:
            message = orjson.loads(raw)  # every state change arrives here: orjson decodes it in a fraction
        except orjson.JSONDecodeError:
            log.warning("channel %s: skipping a frame that is not JSON", channel.id)
            return None
        if not isinstance(message, dict):
            return None
        topic = message.get("topicName")
        body = message.get("eventBody")
        if topic == HEARTBEAT_TOPIC:
            if self._on_alive is not None:
                self._on_alive(channel)
            return None
        if not isinstance(topic, str):
            if message.get("result") not in (None, "200"):
                log.warning("channel %s: socket reply %r", channel.id, message)
            return None
        if topic == SOCKET_CLOSING:
            log.info("channel %s: Genesys is closing the socket (maintenance); moving now", channel.id)
            return _After.CLOSING
        if topic.startswith("v2.system."):
            log.warning("channel %s: %s %r; resubscribing", channel.id, topic, body)
            return _After.RESUBSCRIBE
        if not isinstance(body, dict):
            log.warning("channel %s: event on %s without an eventBody; skipped", channel.id, topic)
            return None
        telemetry.genesys_event(topic)
        try:
            self._handler(topic, body)
        except Exception:
            log.exception("channel %s: handling an event on %s failed; skipped", channel.id, topic)
        return None
