"""Coaching (quality management): appointments created (optionally added to the attendees' schedules),
listed by user and interval, read, patched and deleted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from services.ports import Clock
from testing.fake_genesys.core import FakeCore
from testing.fake_genesys.model import FakeActivity, iso, new_id, parse_iso
from testing.fake_genesys.wire import error_response, paged


class CoachingApi(FakeCore):
    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self.appointments: dict[str, dict[str, Any]] = {}

    def _coaching_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/api/v2/coaching/appointments", self._appointment_create)
        router.add_get("/api/v2/coaching/appointments", self._appointment_list)
        router.add_get("/api/v2/coaching/appointments/{id}", self._appointment_get)
        router.add_patch("/api/v2/coaching/appointments/{id}", self._appointment_patch)
        router.add_delete("/api/v2/coaching/appointments/{id}", self._appointment_delete)

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
