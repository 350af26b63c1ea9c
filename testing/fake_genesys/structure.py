"""Users and structure: business units, management units and their users, activity codes, presence
definitions, and ``/api/v2/users`` (with its best-effort ``expand``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.ports import Clock
from testing.fake_genesys.core import FakeCore
from testing.fake_genesys.model import PRESENCES, FakeUnit, FakeUser, definition_id
from testing.fake_genesys.wire import WFM, error_response, paged


class StructureApi(FakeCore):
    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self.drop_expand = False  # /users ignores expand (Genesys calls expand "best effort")

    def _structure_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get(f"{WFM}/businessunits", self._business_units)
        router.add_get(f"{WFM}/businessunits/{{bu}}", self._business_unit)
        router.add_get(f"{WFM}/businessunits/{{bu}}/managementunits", self._bu_units)
        router.add_get(f"{WFM}/managementunits", self._all_units)
        router.add_get(f"{WFM}/managementunits/{{mu}}/users", self._unit_users)
        router.add_get(f"{WFM}/businessunits/{{bu}}/activitycodes", self._activity_codes)
        router.add_get("/api/v2/users", self._users)
        router.add_get("/api/v2/presence/definitions", self._definitions)

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
