"""The fake's intraday route (reference §8 "Intraday"); the queue observations are in ``analytics``.

Scenario API: :meth:`FakeIntraday.set_intraday` (one business-unit day of a planning group, per 15
minutes), ``delivery``
("inline": the result in the body; "download": behind a ``downloadUrl``), ``processing_rounds``
(answer Processing with an ``operationId`` that many times first) and ``denied`` (permissions the
OAuth client lacks: the route answers 403).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web

from testing.fake_genesys.model import iso, new_id
from testing.fake_genesys.wire import WFM, error_response, forbidden

if TYPE_CHECKING:
    from testing.fake_genesys.core import FakeCore

INTRADAY_PERMISSION = "wfm:intraday:view"


@dataclass(frozen=True)
class IntervalFigures:
    """One 15-minute interval of a planning group: forecast, schedule and performance prediction."""

    offered: float
    handle_seconds: float = 300.0
    on_queue_seconds: float = 0.0
    service_level: float = 80.0


@dataclass
class FakeIntraday:
    server: FakeCore
    days: dict[tuple[str, date], dict[str, list[IntervalFigures]]] = field(default_factory=dict)
    delivery: str = "inline"  # inline | download
    processing_rounds: int = 0
    denied: set[str] = field(default_factory=set)

    # ---- scenario ----------------------------------------------------------------------------------
    def set_intraday(self, bu_id: str, day: date, group_id: str, intervals: Sequence[IntervalFigures]) -> None:
        """``intervals`` from the business unit's local midnight of ``day`` (96 make the whole day)."""
        self.days.setdefault((bu_id, day), {})[group_id] = list(intervals)

    # ---- routes ------------------------------------------------------------------------------------
    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(f"{WFM}/businessunits/{{bu}}/intraday", self._intraday)

    async def _intraday(self, request: web.Request) -> web.Response:
        if INTRADAY_PERMISSION in self.denied:
            return forbidden(INTRADAY_PERMISSION)
        bu_id = request.match_info["bu"]
        unit = self.server.business_units.get(bu_id)
        if unit is None:
            return error_response(404, "not.found", "business unit not found")
        body = await request.json()
        try:
            day = date.fromisoformat(str(body["businessUnitDate"]))
            categories = [str(c) for c in body["categories"]]
        except (KeyError, TypeError, ValueError):
            return error_response(400, "bad.request", "businessUnitDate and categories are required")
        if int(body.get("intervalLengthMinutes") or 15) != 15:
            return error_response(400, "bad.request", "the fake serves 15-minute intervals only")
        operation = new_id("op")
        if self.processing_rounds > 0:
            self.processing_rounds -= 1
            return web.json_response({"status": "Processing", "operationId": operation, "result": None})
        result = self._result(bu_id, day, unit.time_zone, categories, list(body.get("planningGroupIds") or []))
        if self.delivery == "download":
            url = self.server._store_download({"result": result})
            return web.json_response({"status": "Complete", "operationId": operation, "result": None,
                                      "downloadUrl": url})
        return web.json_response({"status": "Complete", "operationId": operation, "result": result})

    def _result(self, bu_id: str, day: date, time_zone: str, categories: list[str],
                group_ids: list[str]) -> dict[str, Any]:
        start = datetime.combine(day, time(0), ZoneInfo(time_zone)).astimezone(UTC)
        groups = self.days.get((bu_id, day), {})
        chosen = [groups[g] for g in (group_ids or list(groups)) if g in groups]
        envelope: dict[str, Any] = {"startDate": iso(start), "endDate": iso(start + timedelta(days=1)),
                                    "intervalLengthMinutes": 15, "categories": categories,
                                    "shortTermForecast": {"id": "stf-intraday"}, "schedule": {"id": "sched-1"}}
        if not chosen:
            return {**envelope, "noDataReason": "NoSourceForecast", "intradayDataGroupings": []}
        length = max(len(c) for c in chosen)
        forecast, schedule, prediction = [], [], []
        for i in range(length):
            parts = [c[i] for c in chosen if i < len(c)]
            offered = sum(p.offered for p in parts)
            handle = sum(p.offered * p.handle_seconds for p in parts) / offered if offered else 0.0
            forecast.append({"offered": offered, "averageHandleTimeSeconds": handle})
            schedule.append({"onQueueTimeSeconds": sum(p.on_queue_seconds for p in parts)})
            prediction.append({"serviceLevelPercent": min(p.service_level for p in parts),
                               "averageSpeedOfAnswerSeconds": 20.0, "occupancyPercent": 80.0})
        grouping: dict[str, Any] = {"mediaType": "Voice"}
        if "ForecastData" in categories:
            grouping["forecastDataSummary"] = {"offered": sum(f["offered"] for f in forecast)}
            grouping["forecastDataPerInterval"] = forecast
        if "ScheduleData" in categories:
            grouping["scheduleDataSummary"] = {"onQueueTimeSeconds": sum(s["onQueueTimeSeconds"] for s in schedule)}
            grouping["scheduleDataPerInterval"] = schedule
        if "PerformancePredictionData" in categories:
            grouping["performancePredictionDataPerInterval"] = prediction
        return {**envelope, "noDataReason": None, "intradayDataGroupings": [grouping]}
