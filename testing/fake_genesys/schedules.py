"""WFM schedules: agent schedule searches (inline, behind a ``downloadUrl``, or Processing first with
the result on the async topic) and publishing a schedule (the BU and MU schedule notifications)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from services.ports import Clock
from testing.fake_genesys.core import FakeCore
from testing.fake_genesys.model import FakeActivity, iso, new_id, parse_iso
from testing.fake_genesys.wire import WFM, error_response


class SchedulesApi(FakeCore):
    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self.schedule_mode = "inline"  # inline | download | processing
        self.processing_rounds = 1  # processing: how many searches answer Processing before one completes
        self.processing_notify = False  # processing: also push the result on the async topic
        self.async_user_id = "oauth-client-user"
        self._processing_left: int | None = None

    # ---- scenario -------------------------------------------------------------------------------------------
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

    # ---- routes ---------------------------------------------------------------------------------------------
    def _schedule_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(f"{WFM}/managementunits/{{mu}}/agentschedules/search", self._schedule_search)
        router.add_post(f"{WFM}/businessunits/{{bu}}/agentschedules/search", self._schedule_search)

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
