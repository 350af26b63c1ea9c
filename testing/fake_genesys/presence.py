"""Presence and routing: the REST routes (bulk presence, a user's presence and routing status, read
and written) and the scenario calls that change a user's live state and push it on the per-user
topics and the management unit's adherence topic."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from testing.fake_genesys.adherence import adherence_body, unit_topic
from testing.fake_genesys.core import FakeCore
from testing.fake_genesys.model import PRESENCES, ROUTING, FakeUser, definition_id, iso, presence_key
from testing.fake_genesys.wire import error_response


class PresenceApi(FakeCore):
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
            await self._push(f"v2.users.{user_id}.presence", lambda: user.presence_json(topic=True))
            if routing_changed:
                await self._push(f"v2.users.{user_id}.routingStatus", lambda: self._routing_body(user))
            await self._push(f"v2.users.{user_id}.activity", lambda: self._activity_body(user))
            await self._push_adherence(user)

    async def set_routing(self, user_id: str, status: str, *, push: bool = True) -> None:
        if status not in ROUTING:
            raise ValueError(f"unknown routing status {status!r}")
        user = self.users[user_id]
        user.routing, user.routing_at = status, self.clock.now()
        if push:
            await self._push(f"v2.users.{user_id}.routingStatus", lambda: self._routing_body(user))
            await self._push(f"v2.users.{user_id}.activity", lambda: self._activity_body(user))
            await self._push_adherence(user)

    async def set_state(self, user_id: str, presence: str, routing: str, *, push: bool = True) -> None:
        """Presence and routing at once, pushed as one ``activity`` event (plus the two single topics)."""
        user = self.users[user_id]
        now = self.clock.now()
        user.presence, user.presence_at = presence_key(presence), now
        user.routing, user.routing_at = routing, now
        if push:
            await self._push(f"v2.users.{user_id}.presence", lambda: user.presence_json(topic=True))
            await self._push(f"v2.users.{user_id}.routingStatus", lambda: self._routing_body(user))
            await self._push(f"v2.users.{user_id}.activity", lambda: self._activity_body(user))
            await self._push_adherence(user)

    async def _push_adherence(self, user: FakeUser) -> None:
        """The same change on the user's management-unit adherence topic (one record per change)."""
        unit = self.units.get(user.mu_id)
        if unit is not None:
            bu = self.business_units.get(unit.bu_id)
            await self._push(unit_topic(unit.id), lambda: adherence_body(user, bu, self.clock.now()))

    @staticmethod
    def _routing_body(user: FakeUser) -> dict[str, Any]:
        return {"id": user.id, "routingStatus": {"status": user.routing, "startTime": iso(user.routing_at)},
                "errorInfo": None}

    @staticmethod
    def _activity_body(user: FakeUser) -> dict[str, Any]:
        presence = user.presence_json(topic=True)
        return {"id": user.id,
                "routingStatus": {"status": user.routing, "startTime": iso(user.routing_at)},
                "presence": {"presenceDefinition": presence["presenceDefinition"], "presenceMessage": "",
                             "modifiedDate": presence["modifiedDate"]},
                "outOfOffice": {"active": False, "modifiedDate": iso(user.presence_at)},
                "activeQueueIds": [], "dateActiveQueuesChanged": iso(user.routing_at)}

    # ---- routes ---------------------------------------------------------------------------------------------
    def _presence_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/api/v2/users/presences/purecloud/bulk", self._presence_bulk)
        router.add_get("/api/v2/users/{user}/presences/purecloud", self._presence_get)
        router.add_patch("/api/v2/users/{user}/presences/purecloud", self._presence_patch)
        router.add_get("/api/v2/users/{user}/routingstatus", self._routing_get)
        router.add_put("/api/v2/users/{user}/routingstatus", self._routing_put)

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
