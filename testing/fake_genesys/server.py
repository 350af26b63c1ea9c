"""A fake Genesys Cloud: real HTTP + WebSocket servers on 127.0.0.1 speaking the documented wire format.

Two hosts, like the real thing: the login host serves ``/oauth/token``; the API host serves the REST
routes the adapter uses and the Notification Service WebSockets (``connectUri`` points at it).
Downloads (``downloadUrl``) are served without auth and refuse an Authorization header, as a
pre-signed storage URL would.

Tests drive it through the scenario API (``set_presence``, ``publish_schedule``,
``drop_sockets``...) and inject faults with :meth:`FakeGenesys.fail` / :meth:`FakeGenesys.slow`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import re
import socket
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from services.clock import SystemClock
from services.ports import Clock
from testing.fake_genesys.adherence import AdherencePermission, adherence_body, unit_topic
from testing.fake_genesys.forecast import FakeForecasts
from testing.fake_genesys.intraday import FakeIntraday
from testing.fake_genesys.model import (
    PRESENCES,
    ROUTING,
    FakeActivity,
    FakeBusinessUnit,
    FakeChannel,
    FakeTeam,
    FakeUnit,
    FakeUser,
    Fault,
    RequestRecord,
    correlation_id,
    default_codes,
    definition_id,
    iso,
    new_id,
    parse_iso,
    presence_key,
)

log = logging.getLogger(__name__)

WFM = "/api/v2/workforcemanagement"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class FakeGenesys:
    def __init__(self, clock: Clock | None = None, *, client_id: str = "fake-client",
                 client_secret: str = "fake-secret") -> None:
        self.clock = clock or SystemClock()
        self.client_id, self.client_secret = client_id, client_secret
        # org
        self.business_units: dict[str, FakeBusinessUnit] = {}
        self.units: dict[str, FakeUnit] = {}
        self.teams: dict[str, FakeTeam] = {}
        self.users: dict[str, FakeUser] = {}
        # tokens
        self.token_lifetime = 86399
        self.tokens: set[str] = set()
        self.token_requests = 0
        # schedules
        self.schedule_mode = "inline"  # inline | download | processing
        self.processing_rounds = 1  # processing: how many searches answer Processing before one completes
        self.processing_notify = False  # processing: also push the result on the async topic
        self.async_user_id = "oauth-client-user"
        self._processing_left: int | None = None
        self.downloads: dict[str, Any] = {}
        # notifications
        self.channels: dict[str, FakeChannel] = {}
        self.sockets: dict[str, set[web.WebSocketResponse]] = defaultdict(set)
        self._by_topic: dict[str, set[str]] = defaultdict(set)
        self.heartbeat_every = 30.0
        self.muted = False
        self.ws_refuse = False
        self.rest_down = False  # every REST route answers 500 (see :meth:`outage`)
        self.pings = 0
        self.events_pushed = 0
        self.channel_lifetime = timedelta(hours=24)
        self.max_topics_per_channel = 1000
        self.adherence_permission = AdherencePermission()  # who may subscribe to unit adherence topics
        # explanations and coaching
        self.explanations: dict[str, dict[str, Any]] = {}
        self.explanation_mode = "inline"  # inline | job
        self._jobs: dict[str, dict[str, Any]] = {}
        self.appointments: dict[str, dict[str, Any]] = {}
        self.forecasts = FakeForecasts(self)  # forecast, planning-group and WFM-agent routes
        self.intraday = FakeIntraday(self)  # intraday figures and queue observations (the surplus)
        # faults and observation
        self.faults: list[Fault] = []
        self.requests: list[RequestRecord] = []
        self.in_flight = self.max_in_flight = 0
        self.drop_expand = False  # /users ignores expand (Genesys calls expand "best effort")
        self._transports: dict[web.WebSocketResponse, asyncio.Transport] = {}
        self._runners: list[web.AppRunner] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self.api_url = self.login_url = ""

    # ---- lifecycle --------------------------------------------------------------------------------------
    async def start(self) -> FakeGenesys:
        login = web.Application(middlewares=[self._observe])
        login.router.add_post("/oauth/token", self._token)
        api = web.Application(middlewares=[self._observe, self._authenticate])
        self._routes(api)
        for app, attr in ((login, "login_url"), (api, "api_url")):
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
            await runner.setup()
            sock = _bound_socket()
            await web.SockSite(runner, sock).start()
            self._runners.append(runner)
            setattr(self, attr, f"http://127.0.0.1:{sock.getsockname()[1]}")
        return self

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for sockets in self.sockets.values():
            for ws in list(sockets):
                with contextlib.suppress(Exception):
                    await ws.close()
        for runner in self._runners:
            await runner.cleanup()

    async def __aenter__(self) -> FakeGenesys:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

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

    # ---- live state (scenario) ----------------------------------------------------------------------------
    async def set_presence(self, user_id: str, presence: str, *, push: bool = True) -> None:
        """Change a user's presence; ``push=False`` simulates an event Genesys never delivered.

        As in Genesys, leaving On Queue takes the user off queue (routing OFF_QUEUE) and going On Queue
        makes them IDLE; the routing change is pushed as well.
        """
        user = self.users[user_id]
        now = self.clock.now()
        user.presence, user.presence_at = presence_key(presence), now
        routing = ("IDLE" if user.routing == "OFF_QUEUE" else user.routing) if user.presence == "ON_QUEUE" \
            else "OFF_QUEUE"
        routing_changed = routing != user.routing
        if routing_changed:
            user.routing, user.routing_at = routing, now
        if push:
            await self._push(f"v2.users.{user_id}.presence", user.presence_json(topic=True))
            if routing_changed:
                await self._push(f"v2.users.{user_id}.routingStatus", self._routing_body(user))
            await self._push(f"v2.users.{user_id}.activity", self._activity_body(user))
            await self._push_adherence(user)

    async def _push_adherence(self, user: FakeUser) -> None:
        """The same change on the user's management-unit adherence topic (one record per change)."""
        unit = self.units.get(user.mu_id)
        if unit is not None:
            await self._push(unit_topic(unit.id),
                             adherence_body(user, self.business_units.get(unit.bu_id), self.clock.now()))

    @staticmethod
    def _routing_body(user: FakeUser) -> dict[str, Any]:
        return {"id": user.id, "routingStatus": {"status": user.routing, "startTime": iso(user.routing_at)},
                "errorInfo": None}

    async def set_routing(self, user_id: str, status: str, *, push: bool = True) -> None:
        if status not in ROUTING:
            raise ValueError(f"unknown routing status {status!r}")
        user = self.users[user_id]
        user.routing, user.routing_at = status, self.clock.now()
        if push:
            await self._push(f"v2.users.{user_id}.routingStatus", self._routing_body(user))
            await self._push(f"v2.users.{user_id}.activity", self._activity_body(user))
            await self._push_adherence(user)

    async def set_state(self, user_id: str, presence: str, routing: str, *, push: bool = True) -> None:
        """Presence and routing at once, pushed as one ``activity`` event (plus the two single topics)."""
        user = self.users[user_id]
        now = self.clock.now()
        user.presence, user.presence_at = presence_key(presence), now
        user.routing, user.routing_at = routing, now
        if push:
            await self._push(f"v2.users.{user_id}.presence", user.presence_json(topic=True))
            await self._push(f"v2.users.{user_id}.routingStatus", self._routing_body(user))
            await self._push(f"v2.users.{user_id}.activity", self._activity_body(user))
            await self._push_adherence(user)

    @staticmethod
    def _activity_body(user: FakeUser) -> dict[str, Any]:
        presence = user.presence_json(topic=True)
        return {"id": user.id,
                "routingStatus": {"status": user.routing, "startTime": iso(user.routing_at)},
                "presence": {"presenceDefinition": presence["presenceDefinition"], "presenceMessage": "",
                             "modifiedDate": presence["modifiedDate"]},
                "outOfOffice": {"active": False, "modifiedDate": iso(user.presence_at)},
                "activeQueueIds": [], "dateActiveQueuesChanged": iso(user.routing_at)}

    # ---- schedules (scenario) ----------------------------------------------------------------------------------
    async def publish_schedule(self, mu_id: str, activities: dict[str, list[FakeActivity]]) -> None:
        """Replace these users' schedules and send the BU + MU schedule notifications (eventType Update)."""
        for user_id, items in activities.items():
            self.set_activities(user_id, items)
        unit = self.units[mu_id]
        now = self.clock.now()
        week = (now - timedelta(days=now.weekday())).date().isoformat()
        await self._push(f"v2.workforcemanagement.businessunits.{unit.bu_id}.schedules", {
            "status": "Complete", "operationId": new_id("op"), "eventType": "Update",
            "result": {"id": new_id("sched"), "weekDate": week, "weekCount": 1, "description": "", "published": True,
                       "managementUnits": [{"managementUnit": {"id": mu_id}, "startDate": iso(now),
                                            "endDate": iso(now + timedelta(days=7)),
                                            "agents": [{"id": u} for u in activities], "agentCount": len(activities)}],
                       "metadata": {"version": 2, "dateModified": iso(now)}}})
        await self._push(f"v2.workforcemanagement.managementunits.{mu_id}.schedules", {
            "status": "Complete", "operationId": new_id("op"), "downloadUrl": None, "percentComplete": 100,
            "eventType": "Update"})

    # ---- explanations (scenario) -------------------------------------------------------------------------------
    async def add_explanation(self, agent_id: str, start: datetime, minutes: int, *, status: str = "Approved",
                              notes: str = "", reviewer: str | None = "sup-1", push: bool = True) -> dict[str, Any]:
        user = self.users[agent_id]
        unit = self.units[user.mu_id]
        explanation: dict[str, Any] = {
                       "id": new_id("expl"), "agent": {"id": agent_id}, "managementUnit": {"id": unit.id},
                       "businessUnit": {"id": unit.bu_id}, "type": "Late", "status": status,
                       "startDate": iso(start), "lengthMinutes": minutes, "notes": notes,
                       "reviewedBy": {"id": reviewer} if reviewer and status != "Pending" else None,
                       "reviewedDate": iso(self.clock.now()) if status != "Pending" else None}
        self.explanations[explanation["id"]] = explanation
        if push:
            await self._push(f"v2.workforcemanagement.businessunits.{unit.bu_id}.adherence.explanations", explanation)
            await self._push(f"v2.workforcemanagement.agents.{agent_id}.adherence.explanations", explanation)
        return explanation

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

    async def outage(self, down: bool = True) -> None:
        """A Genesys outage: sockets dropped and refused, every REST route answering 500; ``False`` ends it."""
        self.ws_refuse = self.rest_down = down
        if down:
            await self.drop_sockets()

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

    async def push_event(self, topic: str, body: dict[str, Any]) -> int:
        """Push any event body (e.g. a malformed one) on a topic."""
        return await self._push(topic, body)

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
                    await ws.send_str(_HEARTBEAT)

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

    # ---- faults ----------------------------------------------------------------------------------------------
    def fail(self, path: str, status: int = 500, *, times: int = 1, method: str | None = None,
             retry_after: str | None = None, body: dict[str, Any] | None = None) -> Fault:
        fault = Fault(path, status, times, method, retry_after, 0.0, body)
        self.faults.append(fault)
        return fault

    def slow(self, path: str, seconds: float, *, times: int = 1, method: str | None = None) -> Fault:
        fault = Fault(path, None, times, method, None, seconds)
        self.faults.append(fault)
        return fault

    def expire_tokens(self) -> None:
        """Every issued token becomes invalid (a revocation, or expiry on Genesys's side): 401 until refreshed."""
        self.tokens.clear()

    def requests_to(self, pattern: str, method: str | None = None) -> list[RequestRecord]:
        return [r for r in self.requests if re.search(pattern, r.path) and (method is None or r.method == method)]

    # ---- middlewares ---------------------------------------------------------------------------------------------
    @web.middleware
    async def _observe(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body: Any = None
        if request.can_read_body and request.content_type == "application/json":
            with contextlib.suppress(ValueError):
                body = await request.json()
        query: dict[str, list[str]] = defaultdict(list)
        for key, value in request.query.items():
            query[key].append(value)
        record = RequestRecord(request.method, request.path, dict(query), request.headers.get("Authorization"), body)
        self.requests.append(record)
        if request.path.startswith("/channels/"):  # a WebSocket lives long: not a request in flight
            return await self._serve(request, handler, record)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._serve(request, handler, record)
        finally:
            self.in_flight -= 1

    async def _serve(self, request: web.Request, handler: Handler, record: RequestRecord) -> web.StreamResponse:
        if self.rest_down and request.path.startswith("/api/"):
            record.status = 500
            return error_response(500, "internal.server.error", "The requested operation failed with status 500")
        for fault in self.faults:
            if fault.hits < fault.times and fault.matches(request.method, request.path):
                fault.hits += 1
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.status is not None:
                    record.status = fault.status
                    return self._fault_response(fault)
                break
        response = await handler(request)
        record.status = response.status
        return response

    def _fault_response(self, fault: Fault) -> web.Response:
        assert fault.status is not None
        headers = {}
        if fault.status == 429:
            headers = {"inin-ratelimit-allowed": "300", "inin-ratelimit-count": "301", "inin-ratelimit-reset": "38"}
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            return error_response(429, "too.many.requests.retry.after", "Rate limit exceeded the maximum",
                                  headers=headers)
        if fault.body is not None:
            return web.json_response(fault.body, status=fault.status)
        code = {500: "internal.server.error", 502: "bad.gateway", 503: "service.unavailable",
                504: "gateway.timeout"}.get(fault.status, "bad.request")
        return error_response(fault.status, code, f"The requested operation failed with status {fault.status}")

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/api/"):
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or token not in self.tokens:
                return error_response(401, "bad.credentials", "Invalid login credentials.")
        return await handler(request)

    # ---- login host -------------------------------------------------------------------------------------------
    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        form = await request.post()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response({"error": "invalid_client", "description": "client not found",
                                      "error_description": "client not found"}, status=401)
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        token = f"tok-{uuid.uuid4().hex}"
        self.tokens.add(token)
        return web.json_response({"access_token": token, "token_type": "bearer", "expires_in": self.token_lifetime})

    # ---- API host ---------------------------------------------------------------------------------------------
    def _routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get(f"{WFM}/businessunits", self._business_units)
        r.add_get(f"{WFM}/businessunits/{{bu}}", self._business_unit)
        r.add_get(f"{WFM}/businessunits/{{bu}}/managementunits", self._bu_units)
        r.add_get(f"{WFM}/managementunits", self._all_units)
        r.add_get(f"{WFM}/managementunits/{{mu}}/users", self._unit_users)
        r.add_get(f"{WFM}/businessunits/{{bu}}/activitycodes", self._activity_codes)
        r.add_post(f"{WFM}/managementunits/{{mu}}/agentschedules/search", self._schedule_search)
        r.add_post(f"{WFM}/businessunits/{{bu}}/agentschedules/search", self._schedule_search)
        r.add_post(f"{WFM}/businessunits/{{bu}}/adherence/explanations/query", self._explanations_query)
        r.add_get(f"{WFM}/adherence/explanations/jobs/{{job}}", self._explanation_job)
        r.add_post(f"{WFM}/agents/{{agent}}/adherence/explanations", self._explanation_add)
        r.add_get(f"{WFM}/agents/{{agent}}/adherence/explanations/{{id}}", self._explanation_get)
        r.add_patch(f"{WFM}/agents/{{agent}}/adherence/explanations/{{id}}", self._explanation_patch)
        r.add_get("/api/v2/users", self._users)
        r.add_get("/api/v2/users/presences/purecloud/bulk", self._presence_bulk)
        r.add_get("/api/v2/users/{user}/presences/purecloud", self._presence_get)
        r.add_patch("/api/v2/users/{user}/presences/purecloud", self._presence_patch)
        r.add_get("/api/v2/users/{user}/routingstatus", self._routing_get)
        r.add_put("/api/v2/users/{user}/routingstatus", self._routing_put)
        r.add_get("/api/v2/presence/definitions", self._definitions)
        r.add_post("/api/v2/notifications/channels", self._channel_create)
        r.add_get("/api/v2/notifications/channels", self._channel_list)
        r.add_route("HEAD", "/api/v2/notifications/channels/{channel}", self._channel_head)
        r.add_get("/api/v2/notifications/channels/{channel}/subscriptions", self._subscriptions_get)
        r.add_put("/api/v2/notifications/channels/{channel}/subscriptions", self._subscriptions_put)
        r.add_post("/api/v2/notifications/channels/{channel}/subscriptions", self._subscriptions_post)
        r.add_delete("/api/v2/notifications/channels/{channel}/subscriptions", self._subscriptions_delete)
        r.add_post("/api/v2/coaching/appointments", self._appointment_create)
        r.add_get("/api/v2/coaching/appointments", self._appointment_list)
        r.add_get("/api/v2/coaching/appointments/{id}", self._appointment_get)
        r.add_patch("/api/v2/coaching/appointments/{id}", self._appointment_patch)
        r.add_delete("/api/v2/coaching/appointments/{id}", self._appointment_delete)
        r.add_get("/downloads/{id}", self._download)
        self.forecasts.routes(r)
        self.intraday.routes(r)
        r.add_get("/channels/{channel}", self._websocket)

    # structure
    async def _business_units(self, request: web.Request) -> web.Response:
        return web.json_response({"entities": [
            {"id": b.id, "name": b.name, "authorized": True, "division": {"id": "div-1", "selfUri": "/api/v2/x"},
             "selfUri": f"{WFM}/businessunits/{b.id}"} for b in self.business_units.values()]})

    async def _business_unit(self, request: web.Request) -> web.Response:
        bu = self.business_units.get(request.match_info["bu"])
        if bu is None:
            return error_response(404, "not.found", "business unit not found")
        return web.json_response({"id": bu.id, "name": bu.name, "division": {"id": "div-1"},
                                  "settings": {"startDayOfWeek": "Monday", "timeZone": bu.time_zone,
                                               "metadata": {"version": 3}}})

    def _unit_json(self, unit: FakeUnit) -> dict[str, Any]:
        return {"id": unit.id, "name": unit.name, "businessUnit": {"id": unit.bu_id}, "division": {"id": "div-1"},
                "selfUri": f"{WFM}/managementunits/{unit.id}"}

    async def _bu_units(self, request: web.Request) -> web.Response:
        bu_id = request.match_info["bu"]
        return web.json_response({"entities": [self._unit_json(u) for u in self.units.values() if u.bu_id == bu_id]})

    async def _all_units(self, request: web.Request) -> web.Response:
        return web.json_response({"entities": [self._unit_json(u) for u in self.units.values()]})

    async def _unit_users(self, request: web.Request) -> web.Response:
        mu_id = request.match_info["mu"]
        if mu_id not in self.units:
            return error_response(404, "not.found", "management unit not found")
        return web.json_response({"entities": [{"id": u.id, "selfUri": f"/api/v2/users/{u.id}"}
                                               for u in self.users.values() if u.mu_id == mu_id]})

    async def _activity_codes(self, request: web.Request) -> web.Response:
        bu = self.business_units.get(request.match_info["bu"])
        if bu is None:
            return error_response(404, "not.found", "business unit not found")
        return web.json_response({"entities": list(bu.codes.values()), "downloadUrl": None})

    async def _definitions(self, request: web.Request) -> web.Response:
        entities = [{"id": definition_id(k), "type": "System", "languageLabels": {"en_US": v[0]},
                     "systemPresence": v[1], "divisionId": "*", "deactivated": False} for k, v in PRESENCES.items()]
        return web.json_response({"total": len(entities), "entities": entities})

    async def _users(self, request: web.Request) -> web.Response:
        ids = request.query.getall("id", [])
        expand = set(request.query.getall("expand", []))
        users = [self.users[i] for i in ids if i in self.users] if ids else list(self.users.values())
        page_size = int(request.query.get("pageSize", "25"))
        page_number = int(request.query.get("pageNumber", "1"))
        return web.json_response(paged(request, [self._user_json(u, expand) for u in users], page_size, page_number))

    def _user_json(self, user: FakeUser, expand: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": user.id, "name": user.name, "email": user.email, "state": "active",
                               "division": {"id": "div-1"}, "version": 1, "selfUri": f"/api/v2/users/{user.id}"}
        if user.team_id:
            team = self.teams.get(user.team_id)
            out["team"] = {"id": user.team_id, "name": team.name if team else user.team_id,
                           "selfUri": f"/api/v2/teams/{user.team_id}"}
        if user.manager_id:
            out["manager"] = {"id": user.manager_id, "selfUri": f"/api/v2/users/{user.manager_id}"}
        if not self.drop_expand:
            if "presence" in expand:
                out["presence"] = user.presence_json()
            if "routingStatus" in expand:
                out["routingStatus"] = user.routing_json()
        return out

    # presence and routing
    async def _presence_bulk(self, request: web.Request) -> web.Response:
        ids = request.query.getall("id", [])
        if len(ids) > 50:
            return error_response(400, "bad.request", "A maximum of 50 ids is allowed")
        out = []
        for user_id in ids:
            user = self.users.get(user_id)
            if user is not None:
                body = user.presence_json()
                out.append({"userId": user_id, "presenceDefinition": body["presenceDefinition"], "message": "",
                            "modifiedDate": body["modifiedDate"]})
        return web.json_response(out)

    async def _presence_get(self, request: web.Request) -> web.Response:
        user = self.users.get(request.match_info["user"])
        if user is None:
            return error_response(404, "not.found", "user not found")
        return web.json_response(user.presence_json())

    async def _presence_patch(self, request: web.Request) -> web.Response:
        user = self.users.get(request.match_info["user"])
        if user is None:
            return error_response(404, "not.found", "user not found")
        body = await request.json()
        definition = body.get("presenceDefinition", {}).get("id", "")
        key = next((k for k in PRESENCES if definition_id(k) == definition), None)
        if key is None:
            return error_response(400, "bad.request", "unknown presence definition")
        await self.set_presence(user.id, key)
        return web.json_response(user.presence_json())

    async def _routing_get(self, request: web.Request) -> web.Response:
        user = self.users.get(request.match_info["user"])
        if user is None:  # the reference: OFF_QUEUE is also returned for a user that does not exist
            return web.json_response({"userId": request.match_info["user"], "status": "OFF_QUEUE"})
        return web.json_response(user.routing_json())

    async def _routing_put(self, request: web.Request) -> web.Response:
        user = self.users.get(request.match_info["user"])
        if user is None:
            return error_response(404, "not.found", "user not found")
        body = await request.json()
        await self.set_routing(user.id, str(body.get("status")))
        return web.json_response(user.routing_json())

    # schedules
    async def _schedule_search(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            start, end = parse_iso(body["startDate"]), parse_iso(body["endDate"])
        except (KeyError, ValueError, TypeError):
            return error_response(400, "bad.request", "startDate and endDate are required")
        mu_id = request.match_info.get("mu")
        bu_id = request.match_info.get("bu") or (self.units[mu_id].bu_id if mu_id in self.units else None)
        if bu_id is None:
            return error_response(404, "not.found", "management unit not found")
        user_ids = body.get("userIds") or [u.id for u in self.users.values() if mu_id is None or u.mu_id == mu_id]
        result = self._schedule_result(bu_id, user_ids, start, end)
        operation = new_id("op")
        mode = self.schedule_mode
        if request.query.get("forceAsync") == "true":
            mode = "processing"
        elif request.query.get("forceDownloadService") == "true":
            mode = "download"
        if mode == "processing":
            if self._processing_left is None:
                self._processing_left = self.processing_rounds
            if self._processing_left > 0:
                self._processing_left -= 1
                if self.processing_notify:
                    url = self._store_download(result)
                    self._spawn(self._push_later(
                        f"v2.workforcemanagement.users.{self.async_user_id}.schedules.search",
                        {"operationId": operation, "businessUnitId": bu_id, "downloadUrl": url}, 0.05))
                return web.json_response({"status": "Processing", "operationId": operation, "progress": 10,
                                          "downloadUrl": None, "result": None})
            self._processing_left = None
        if mode == "download":
            return web.json_response({"status": "Complete", "operationId": operation, "progress": 100,
                                      "downloadUrl": self._store_download(result), "result": None})
        return web.json_response({"status": "Complete", "operationId": operation, "progress": 100,
                                  "downloadUrl": None, "result": result})

    def _schedule_result(self, bu_id: str, user_ids: Sequence[str], start: datetime, end: datetime) -> dict[str, Any]:
        week = (start - timedelta(days=start.weekday())).date().isoformat()
        agent_schedules = []
        for user_id in user_ids:
            user = self.users.get(user_id)
            if user is None:
                continue
            inside = [a for a in user.activities if a.start < end and a.end > start]
            shifts = []
            if inside:
                first = inside[0].start
                length = int((max(a.end for a in inside) - first).total_seconds() // 60)
                shifts.append({"id": f"sh-{user_id}-{first:%Y%m%d}", "startDate": iso(first), "lengthMinutes": length,
                               "manuallyEdited": False, "schedule": {"id": "sched-1", "weekDate": week},
                               "workPlanId": "wp1", "workPlanShiftId": "wps1",
                               "activities": [a.json() for a in inside]})
            agent_schedules.append({"user": {"id": user_id}, "shifts": shifts, "fullDayTimeOffMarkers": []})
        return {"businessUnitTimeZone": self.business_units[bu_id].time_zone,
                "publishedSchedules": [{"id": "sched-1", "weekDate": week, "weekCount": 1,
                                        "selfUri": f"{WFM}/businessunits/{bu_id}/weeks/{week}/schedules/sched-1"}],
                "agentSchedules": agent_schedules}

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

    # explanations
    async def _explanations_query(self, request: web.Request) -> web.Response:
        body = await request.json()
        start, end = parse_iso(body["startDate"]), parse_iso(body["endDate"])
        units = set(body.get("managementUnitIds") or [])
        agents = set(body.get("agentIds") or [])
        bu_id = request.match_info["bu"]
        found = []
        for item in self.explanations.values():
            item_start = parse_iso(item["startDate"])
            item_end = item_start + timedelta(minutes=item["lengthMinutes"])
            if item["businessUnit"]["id"] != bu_id or not (item_start < end and item_end > start):
                continue
            if units and item["managementUnit"]["id"] not in units:
                continue
            if agents and item["agent"]["id"] not in agents:
                continue
            found.append(item)
        job = {"id": new_id("job"), "type": "QueryBuExplanations", "status": "Processing"}
        if self.explanation_mode == "job":
            url = self._store_download({"entities": found})
            self._jobs[job["id"]] = {**job, "status": "Complete", "downloadUrl": url}
            return web.json_response({"job": job, "result": None, "downloadUrl": None})
        return web.json_response({"job": {**job, "status": "Complete"}, "result": {"entities": found},
                                  "downloadUrl": None})

    async def _explanation_job(self, request: web.Request) -> web.Response:
        job = self._jobs.get(request.match_info["job"])
        if job is None:
            return error_response(404, "not.found", "job not found")
        return web.json_response({**job, "adherenceExplanation": None, "error": None})

    async def _explanation_add(self, request: web.Request) -> web.Response:
        agent_id = request.match_info["agent"]
        if agent_id not in self.users:
            return error_response(404, "not.found", "agent not found")
        body = await request.json()
        if body.get("type") != "Late" or "startDate" not in body or "lengthMinutes" not in body:
            return error_response(400, "bad.request", "type, startDate and lengthMinutes are required")
        await self.add_explanation(agent_id, parse_iso(body["startDate"]), int(body["lengthMinutes"]),
                                   status=body.get("status", "Pending"), notes=body.get("notes", ""),
                                   reviewer="oauth-client")
        return web.json_response({"job": {"id": new_id("job"), "type": "AddExplanation", "status": "Processing"}})

    async def _explanation_get(self, request: web.Request) -> web.Response:
        item = self.explanations.get(request.match_info["id"])
        if item is None or item["agent"]["id"] != request.match_info["agent"]:
            return error_response(404, "not.found", "explanation not found")
        return web.json_response(item)

    async def _explanation_patch(self, request: web.Request) -> web.Response:
        item = self.explanations.get(request.match_info["id"])
        if item is None or item["agent"]["id"] != request.match_info["agent"]:
            return error_response(404, "not.found", "explanation not found")
        body = await request.json()
        if body.get("status") not in ("Pending", "Approved", "Denied"):
            return error_response(400, "bad.request", "invalid status")
        item.update(status=body["status"], reviewedBy={"id": "oauth-client"}, reviewedDate=iso(self.clock.now()))
        await self._push(f"v2.workforcemanagement.businessunits.{item['businessUnit']['id']}.adherence.explanations",
                         item)
        return web.json_response({"job": {"id": new_id("job"), "type": "UpdateExplanation", "status": "Processing"}})

    # notifications
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
                            await ws.send_str(_PONG)
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
                    await ws.send_str(_HEARTBEAT)

    async def _push_later(self, topic: str, body: dict[str, Any], delay: float) -> None:
        await asyncio.sleep(delay)
        await self._push(topic, body)

    async def _push(self, topic: str, body: dict[str, Any]) -> int:
        """Send an event to every socket of every channel subscribed to ``topic``; returns sockets reached."""
        channel_ids = self._by_topic.get(topic.lower())
        if not channel_ids:
            return 0
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

    # coaching
    async def _appointment_create(self, request: web.Request) -> web.Response:
        body = await request.json()
        missing = [f for f in ("name", "description", "dateStart", "lengthInMinutes", "attendeeIds") if f not in body]
        if missing:
            return error_response(400, "bad.request", f"missing required field(s): {', '.join(missing)}")
        start = parse_iso(body["dateStart"]).replace(second=0, microsecond=0)
        now = iso(self.clock.now())
        appointment = {
            "id": new_id("appt"), "name": body["name"], "description": body["description"], "dateStart": iso(start),
            "lengthInMinutes": body["lengthInMinutes"], "status": "Scheduled",
            "facilitator": {"id": body["facilitatorId"]} if body.get("facilitatorId") else None,
            "attendees": [{"id": a} for a in body["attendeeIds"]], "createdBy": {"id": "oauth-client"},
            "dateCreated": now, "modifiedBy": {"id": "oauth-client"}, "dateModified": now,
            "conversations": [], "documents": [], "isOverdue": False, "wfmSchedule": None, "dateCompleted": None,
            "externalLinks": body.get("externalLinks", []), "location": body.get("location", ""),
            "shareInsightsData": bool(body.get("shareInsightsData", False)), "addToSchedule": body.get("addToSchedule"),
        }
        appointment["selfUri"] = f"/api/v2/coaching/appointments/{appointment['id']}"
        self.appointments[appointment["id"]] = appointment
        if body.get("addToSchedule"):
            for attendee in body["attendeeIds"]:
                user = self.users.get(attendee)
                if user is not None:
                    user.activities.append(FakeActivity(start, int(body["lengthInMinutes"]), "ac-mtg", body["name"],
                                                        "Coaching", appointment["id"]))
                    user.activities.sort(key=lambda a: a.start)
        return web.json_response(appointment)

    async def _appointment_list(self, request: web.Request) -> web.Response:
        users = set(request.query.getall("userIds", []))
        interval = request.query.get("interval")
        items = list(self.appointments.values())
        if users:
            items = [a for a in items if users & ({x["id"] for x in a["attendees"]}
                                                  | ({a["facilitator"]["id"]} if a["facilitator"] else set()))]
        if interval:
            lo, hi = (parse_iso(p) for p in interval.split("/"))
            items = [a for a in items if parse_iso(a["dateStart"]) < hi
                     and parse_iso(a["dateStart"]) + timedelta(minutes=a["lengthInMinutes"]) > lo]
        page_size = int(request.query.get("pageSize", "25"))
        page_number = int(request.query.get("pageNumber", "1"))
        return web.json_response(paged(request, items, page_size, page_number))

    async def _appointment_get(self, request: web.Request) -> web.Response:
        item = self.appointments.get(request.match_info["id"])
        return web.json_response(item) if item else error_response(404, "not.found", "appointment not found")

    async def _appointment_patch(self, request: web.Request) -> web.Response:
        item = self.appointments.get(request.match_info["id"])
        if item is None:
            return error_response(404, "not.found", "appointment not found")
        body = await request.json()
        item.update({k: v for k, v in body.items() if k in ("name", "description", "dateStart", "lengthInMinutes",
                                                           "status", "location")})
        return web.json_response(item)

    async def _appointment_delete(self, request: web.Request) -> web.Response:
        if self.appointments.pop(request.match_info["id"], None) is None:
            return error_response(404, "not.found", "appointment not found")
        return web.Response(status=204)


_HEARTBEAT = json.dumps({"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}})
_PONG = json.dumps({"topicName": "channel.metadata", "eventBody": {"message": "pong"}})


def error_response(status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> web.Response:
    """Genesys's ``ErrorBody``; ``contextId`` equals the ``inin-correlation-id`` header."""
    context_id = str(uuid.uuid4())
    return web.json_response(
        {"message": message, "code": code, "status": status, "messageWithParams": message, "messageParams": {},
         "contextId": context_id, "details": [], "errors": []},
        status=status, headers={"inin-correlation-id": context_id, **(headers or {})})


def paged(request: web.Request, items: list[Any], page_size: int, page_number: int) -> dict[str, Any]:
    total = len(items)
    page_count = max(1, -(-total // page_size)) if page_size > 0 else 1
    chunk = items[(page_number - 1) * page_size: page_number * page_size]
    base = request.path

    def uri(n: int) -> str:
        return f"{base}?pageSize={page_size}&pageNumber={n}"

    return {"entities": chunk, "pageSize": page_size, "pageNumber": page_number, "total": total,
            "pageCount": page_count, "firstUri": uri(1), "selfUri": uri(page_number), "lastUri": uri(page_count),
            "nextUri": uri(page_number + 1) if page_number < page_count else None,
            "previousUri": uri(page_number - 1) if page_number > 1 else None}

