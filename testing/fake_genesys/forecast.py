"""The fake's forecast routes (reference §8 and §2.2): short-term forecasts, staffing requirements
through ``downloadUrl``, planning groups with route paths, and WFM agents with their queues.

Scenario API: :meth:`FakeForecasts.add_forecast` (a week's requirement per planning group),
:meth:`add_planning_group`, :meth:`set_agent_queues`, and :meth:`recalculate` (pushes the
``forecasts.staffingrequirement`` notification).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web

from testing.fake_genesys.model import iso, new_id
from testing.fake_genesys.wire import WFM, error_response

if TYPE_CHECKING:
    from testing.fake_genesys.core import FakeCore

WEEK_INTERVALS = 7 * 24 * 4


@dataclass
class FakeForecast:
    id: str
    bu_id: str
    week: date
    per_group: dict[str, list[float]]  # planning group -> one value per 15 minutes from the week's start
    week_count: int = 1
    state: str = "Complete"  # Processing | Complete | Error, as the staffingrequirement route answers
    processing_rounds: int = 0  # answer Processing this many times first
    can_use_for_scheduling: bool = True
    reference_start: datetime | None = None

    def entity(self) -> dict[str, Any]:
        return {"id": self.id, "weekDate": self.week.isoformat(), "weekCount": self.week_count,
                "creationMethod": "Advanced", "description": f"Forecast {self.id}", "legacy": False,
                "canUseForScheduling": self.can_use_for_scheduling, "metadata": {"version": 1},
                "selfUri": f"{WFM}/businessunits/{self.bu_id}/weeks/{self.week}/shorttermforecasts/{self.id}"}


@dataclass
class FakeForecasts:
    server: FakeCore
    forecasts: dict[str, FakeForecast] = field(default_factory=dict)
    planning_groups: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # bu -> group -> queues
    agent_queues: dict[str, list[str]] = field(default_factory=dict)  # user -> queue ids

    # ---- scenario ----------------------------------------------------------------------------------
    def add_forecast(self, bu_id: str, week: date, per_group: dict[str, Sequence[float]], *,
                     forecast_id: str | None = None, **options: Any) -> FakeForecast:
        forecast = FakeForecast(forecast_id or new_id("stf"), bu_id, week,
                                {g: list(v) for g, v in per_group.items()}, **options)
        self.forecasts[forecast.id] = forecast
        return forecast

    def add_planning_group(self, bu_id: str, group_id: str, queues: Sequence[str]) -> None:
        self.planning_groups.setdefault(bu_id, {})[group_id] = list(queues)

    def set_agent_queues(self, user_id: str, queues: Sequence[str]) -> None:
        self.agent_queues[user_id] = list(queues)

    async def recalculate(self, forecast_id: str) -> int:
        """Push ``v2.workforcemanagement.businessunits.{id}.forecasts.staffingrequirement`` (Complete)."""
        forecast = self.forecasts[forecast_id]
        body = self._requirement(forecast, 0)
        return await self.server.push_event(
            f"v2.workforcemanagement.businessunits.{forecast.bu_id}.forecasts.staffingrequirement",
            {"businessUnitId": forecast.bu_id, "state": "Complete",
             "forecast": {"id": forecast.id, "weekDate": forecast.week.isoformat(), "description": ""},
             "weekCount": forecast.week_count, "intervalLengthMinutes": 15,
             "referenceStartDate": body["referenceStartDate"], "results": body["results"]})

    # ---- routes ----------------------------------------------------------------------------------
    def routes(self, router: web.UrlDispatcher) -> None:
        base = f"{WFM}/businessunits/{{bu}}"
        router.add_get(f"{base}/weeks/{{week}}/shorttermforecasts", self._listing)
        router.add_get(f"{base}/weeks/{{week}}/shorttermforecasts/{{id}}/staffingrequirement", self._requirement_get)
        router.add_get(f"{base}/planninggroups", self._planning_groups)
        router.add_get(f"{WFM}/managementunits/{{mu}}/agents/{{agent}}", self._agent)

    def _start_of(self, forecast: FakeForecast) -> datetime:
        if forecast.reference_start is not None:
            return forecast.reference_start
        zone = self.server.business_units[forecast.bu_id].time_zone
        return datetime.combine(forecast.week, time(0), ZoneInfo(zone)).astimezone(UTC)

    async def _listing(self, request: web.Request) -> web.Response:
        bu_id, week = request.match_info["bu"], request.match_info["week"]
        if bu_id not in self.server.business_units:
            return error_response(404, "not.found", "business unit not found")
        if week == "recent":  # the reference: recent forecasts of the business unit, whatever their week
            return web.json_response({"entities": [f.entity() for f in self.forecasts.values() if f.bu_id == bu_id]})
        try:
            wanted = date.fromisoformat(week)
        except ValueError:
            return error_response(400, "bad.request", f"invalid weekDateId {week!r}")
        found = [f.entity() for f in self.forecasts.values() if f.bu_id == bu_id and f.week == wanted]
        return web.json_response({"entities": found})

    def _requirement(self, forecast: FakeForecast, week_number: int) -> dict[str, Any]:
        start = self._start_of(forecast)
        rows = []
        for group, values in forecast.per_group.items():
            chunk = values[week_number * WEEK_INTERVALS:(week_number + 1) * WEEK_INTERVALS]
            rows.append({"planningGroupId": group, "staffingRequirementsPerInterval": chunk,
                         "minimumStaffPerInterval": [0.0] * len(chunk), "effectiveStaffPerInterval": chunk})
        url = self.server._store_download({"planningGroupStaffingRequirements": rows})
        expires = iso(self.server.clock.now() + timedelta(hours=1))
        return {"businessUnitId": forecast.bu_id,
                "forecast": {"id": forecast.id, "weekDate": forecast.week.isoformat()},
                "referenceStartDate": iso(start), "weekCount": forecast.week_count, "intervalLengthMinutes": 15,
                "state": "Complete", "results": [{"weekNumber": week_number, "downloadUrl": url,
                                                  "downloadUrlExpirationDate": expires,
                                                  "planningGroupStaffingRequirements": None}]}

    async def _requirement_get(self, request: web.Request) -> web.Response:
        forecast = self.forecasts.get(request.match_info["id"])
        if forecast is None or forecast.bu_id != request.match_info["bu"]:
            return error_response(404, "not.found", "forecast not found")
        week_number = int(request.query.get("weekNumbers", "0"))
        envelope = {"businessUnitId": forecast.bu_id, "forecast": {"id": forecast.id,
                                                                   "weekDate": forecast.week.isoformat()},
                    "referenceStartDate": iso(self._start_of(forecast)), "weekCount": forecast.week_count,
                    "intervalLengthMinutes": 15}
        if forecast.processing_rounds > 0:
            forecast.processing_rounds -= 1
            return web.json_response({**envelope, "state": "Processing", "results": []})
        if forecast.state == "Error":
            return web.json_response({**envelope, "state": "Error", "results": []})
        return web.json_response(self._requirement(forecast, week_number))

    async def _planning_groups(self, request: web.Request) -> web.Response:
        groups = self.planning_groups.get(request.match_info["bu"], {})
        return web.json_response({"entities": [
            {"id": g, "name": f"Planning group {g}", "serviceGoalTemplate": {"id": "sgt-1"},
             "routePaths": [{"queue": {"id": q}, "mediaType": "Voice"} for q in queues],
             "selfUri": f"{WFM}/businessunits/{request.match_info['bu']}/planninggroups/{g}"}
            for g, queues in groups.items()], "metadata": {"version": 1}})

    async def _agent(self, request: web.Request) -> web.Response:
        user = self.server.users.get(request.match_info["agent"])
        if user is None or user.mu_id != request.match_info["mu"]:
            return error_response(404, "not.found", "agent not found in management unit")
        return web.json_response({
            "id": user.id, "user": {"id": user.id, "selfUri": f"/api/v2/users/{user.id}"},
            "workPlan": {"id": "wp-1"}, "workPlanRotation": None,
            "queues": [{"id": q, "selfUri": f"/api/v2/routing/queues/{q}"} for q in self.agent_queues.get(user.id, [])],
            "languages": [], "skills": [], "schedulable": True, "metadata": {"version": 1}})


def week_values(per_day: dict[int, Sequence[tuple[float, float, float]]]) -> list[float]:
    """A week's requirement (15-minute values) from ``{weekday: [(from_hour, to_hour, staff), ...]}``."""
    values = [0.0] * WEEK_INTERVALS
    for day, parts in per_day.items():
        for lo, hi, staff in parts:
            for i in range(int(lo * 4), int(hi * 4)):
                values[day * 96 + i] = staff
    return values
