"""``GenesysFloorSignals``: the intraday figures and the contacts waiting, for the surplus desk.

1. ``POST /api/v2/workforcemanagement/businessunits/{buId}/intraday`` (``wfm:intraday:view``), once
   per planning group the unit serves and business-unit day, with ``businessUnitDate``, the
   ``ForecastData``, ``ScheduleData`` and ``PerformancePredictionData`` categories and 15-minute
   intervals. The answer is an ``AsyncIntradayResponse``: ``status`` Complete with the ``result``
   in the body or behind a ``downloadUrl`` (GET without auth), or Processing with an
   ``operationId``: the figures are then asked for again at the next evaluation (the desk runs
   every minute; it never waits for them). A day's figures are kept ``ttl`` (5 min).
   ``intradayDataGroupings`` (one per media type) are summed: offered and on-queue time scaled by
   the unit's share of the planning group, the handle time weighted by offered, the predicted
   service level the lowest of the media types.
2. ``POST /api/v2/analytics/queues/observations/query`` with ``oWaiting`` and ``oOnQueueUsers`` for
   the route-path queues of those planning groups: contacts waiting (summed over the queues) and
   idle members (the largest per-queue count: an agent in several queues is counted once at least).

A 403 (the OAuth client lacks the permission) is logged once at WARNING and the figure is left out
for ``forbidden_for`` (1 h) before it is asked again; any other Genesys failure leaves it out of
this evaluation. The surplus is then measured without it (``services/domain/surplus_signals.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.adapters.genesys.client import GenesysClient, as_object
from services.adapters.genesys.errors import GenesysError, GenesysForbidden
from services.adapters.genesys.forecast import GenesysDemand
from services.adapters.genesys.parse import obj, parse_time
from services.adapters.genesys.planning import POOLED, PlanningGroups
from services.domain.surplus import INTERVAL
from services.domain.surplus_signals import FloorReading, IntradayInterval
from services.ports import Clock

log = logging.getLogger(__name__)

WFM = "/api/v2/workforcemanagement"
OBSERVATIONS = "/api/v2/analytics/queues/observations/query"
CATEGORIES = ["ForecastData", "ScheduleData", "PerformancePredictionData"]
PREDICATES_PER_QUERY = 100


def read_intraday(result: Mapping[str, Any], share: float) -> dict[datetime, IntradayInterval]:
    """A ``BuIntradayResponse`` as 15-minute intervals (by start), the unit's ``share`` of it."""
    start = parse_time(result.get("startDate"))
    if start is None:
        return {}
    minutes = int(result.get("intervalLengthMinutes") or 15)
    scale = 15 / minutes  # offered per 15 minutes when Genesys answers in longer intervals
    sums: dict[int, list[float]] = {}  # index -> offered, offered x handle, scheduled seconds
    levels: dict[int, float] = {}
    for group in result.get("intradayDataGroupings") or []:
        group = obj(group)
        for i, raw in enumerate(group.get("forecastDataPerInterval") or []):
            raw = obj(raw)
            offered = _number(raw.get("offered"))
            handle = _number(raw.get("averageHandleTimeSeconds"))
            if offered is not None:
                row = sums.setdefault(i, [0.0, 0.0, 0.0])
                row[0] += offered * share * scale
                row[1] += offered * share * scale * (handle or 0.0)
        for i, raw in enumerate(group.get("scheduleDataPerInterval") or []):
            seconds = _number(obj(raw).get("onQueueTimeSeconds"))
            if seconds is not None:
                sums.setdefault(i, [0.0, 0.0, 0.0])[2] += seconds * share * scale
        for i, raw in enumerate(group.get("performancePredictionDataPerInterval") or []):
            level = _number(obj(raw).get("serviceLevelPercent"))
            if level is not None:
                levels[i] = min(level, levels.get(i, level))
    out: dict[datetime, IntradayInterval] = {}
    for i in sorted(set(sums) | set(levels)):
        offered, work, scheduled = sums.get(i, [0.0, 0.0, 0.0])
        handle = work / offered if offered > 0 else 0.0
        for k in range(max(1, minutes // 15)):
            out[start + timedelta(minutes=i * minutes) + k * INTERVAL] = IntradayInterval(
                offered, handle, scheduled, levels.get(i))
    return out


def merge(parts: Sequence[IntradayInterval]) -> IntradayInterval:
    """Several planning groups' figures for one interval, as one."""
    offered = sum(p.offered or 0.0 for p in parts)
    work = sum((p.offered or 0.0) * (p.handle_seconds or 0.0) for p in parts)
    levels = [p.service_level for p in parts if p.service_level is not None]
    return IntradayInterval(offered, work / offered if offered > 0 else 0.0,
                            sum(p.scheduled_seconds or 0.0 for p in parts), min(levels) if levels else None)


def read_observations(body: Any) -> tuple[int, int]:
    """(contacts waiting summed over the queues, the largest idle-member count of one queue)."""
    waiting, idle = 0, 0
    for result in as_object(body, "queue observations").get("results") or []:
        queue_idle = 0
        for datum in obj(result).get("data") or []:
            datum = obj(datum)
            count = int(_number(obj(datum.get("stats")).get("count")) or 0)
            if datum.get("metric") == "oWaiting":
                waiting += count
            elif datum.get("metric") == "oOnQueueUsers" and str(datum.get("qualifier", "")).upper() == "IDLE":
                queue_idle += count
        idle = max(idle, queue_idle)
    return waiting, idle


class GenesysFloorSignals:
    def __init__(self, client: GenesysClient, demand: GenesysDemand, clock: Clock, *,
                 ttl: timedelta = timedelta(minutes=5), forbidden_for: timedelta = timedelta(hours=1)) -> None:
        self.client, self.demand, self.clock = client, demand, clock
        self.ttl, self.forbidden_for = ttl, forbidden_for
        self._days: dict[tuple[str, str, date], tuple[datetime, dict[datetime, IntradayInterval]]] = {}
        self._forbidden: dict[str, datetime] = {}  # route -> when to ask again
        self._warned: set[str] = set()

    async def read(self, mu_id: str, start: datetime, intervals: int) -> FloorReading:
        notes: list[str] = []
        try:
            unit, groups = await self.demand.unit_groups(mu_id)
        except (GenesysError, KeyError) as error:
            return FloorReading(notes=(f"planning groups not read: {error}",))
        wanted = [start + i * INTERVAL for i in range(intervals)]
        intraday = await self._intraday(unit.bu_id, unit.bu_time_zone, mu_id, groups, wanted, notes)
        waiting, idle = await self._waiting(mu_id, groups, notes)
        return FloorReading(intraday, waiting, idle, tuple(notes))

    # ---- intraday ------------------------------------------------------------------------------------
    async def _intraday(self, bu_id: str, time_zone: str, mu_id: str, groups: PlanningGroups,
                        wanted: Sequence[datetime], notes: list[str]) -> tuple[IntradayInterval | None, ...]:
        if not self._allowed("intraday", notes):
            return ()
        zone = ZoneInfo(time_zone or "UTC")
        days = sorted({w.astimezone(zone).date() for w in wanted})
        per_interval: dict[datetime, list[IntradayInterval]] = {}
        for group in groups.groups_of(mu_id):
            for day in days:
                try:
                    found = await self._day(bu_id, group, day, groups.share(mu_id, group))
                except GenesysForbidden as error:
                    self._forbid("intraday", "wfm:intraday:view", error, notes)
                    return ()
                except GenesysError as error:
                    notes.append(f"intraday figures of {group} on {day} not read: {error}")
                    continue
                if found is None:
                    notes.append(f"intraday figures of {group} on {day} still processing")
                    continue
                for when, figures in found.items():
                    per_interval.setdefault(when, []).append(figures)
        return tuple(merge(per_interval[w]) if w in per_interval else None for w in wanted)

    async def _day(self, bu_id: str, group: str, day: date, share: float) -> dict[datetime, IntradayInterval] | None:
        now = self.clock.now()
        key = (bu_id, group, day)
        cached = self._days.get(key)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        request = {"businessUnitDate": day.isoformat(), "categories": CATEGORIES,
                   "planningGroupIds": [] if group == POOLED else [group], "intervalLengthMinutes": 15}
        body = as_object(await self.client.post(f"{WFM}/businessunits/{bu_id}/intraday", request, idempotent=True),
                         "intraday")
        result = await self._result(body)
        if result is None:
            return cached[1] if cached is not None else None  # processing: the last figures stand meanwhile
        reason = result.get("noDataReason")
        found = {} if reason else read_intraday(result, share)
        if reason:
            log.info("intraday of business unit %s, %s, %s: no data (%s)", bu_id, group, day, reason)
        self._days[key] = (now, found)
        for old in [k for k in self._days if k[2] < day - timedelta(days=1)]:
            del self._days[old]
        return found

    async def _result(self, body: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The ``BuIntradayResponse`` of an ``AsyncIntradayResponse``, or ``None`` while it is processing."""
        status = str(body.get("status") or "Complete")
        if status == "Processing":
            log.info("intraday operation %s is processing; asked again at the next evaluation",
                     body.get("operationId"))
            return None
        if status not in ("Complete", "Completed"):
            raise GenesysError(f"intraday operation {body.get('operationId')} ended {status}")
        result = obj(body.get("result"))
        url = body.get("downloadUrl") or result.get("downloadUrl")
        if isinstance(url, str) and url:
            downloaded = as_object(await self.client.download(url), "intraday download")
            result = obj(downloaded.get("result")) or downloaded
        return result

    # ---- waiting contacts ----------------------------------------------------------------------------
    async def _waiting(self, mu_id: str, groups: PlanningGroups, notes: list[str]) -> tuple[int | None, int | None]:
        queues = sorted(_queues(mu_id, groups))
        if not queues or not self._allowed("observations", notes):
            if not queues:
                notes.append("no queues known for the unit (planning-group route paths): waiting not read")
            return None, None
        waiting = idle = 0
        try:
            for i in range(0, len(queues), PREDICATES_PER_QUERY):
                chunk = queues[i:i + PREDICATES_PER_QUERY]
                query = {"filter": {"type": "or", "predicates": [
                             {"type": "dimension", "dimension": "queueId", "operator": "matches", "value": q}
                             for q in chunk]},
                         "metrics": ["oWaiting", "oOnQueueUsers"]}
                w, n = read_observations(await self.client.post(OBSERVATIONS, query, idempotent=True))
                waiting, idle = waiting + w, max(idle, n)
        except GenesysForbidden as error:
            self._forbid("observations", "analytics:queueObservation:view", error, notes)
            return None, None
        except GenesysError as error:
            notes.append(f"queue observations not read: {error}")
            return None, None
        return waiting, idle

    # ---- permissions ---------------------------------------------------------------------------------
    def _allowed(self, route: str, notes: list[str]) -> bool:
        until = self._forbidden.get(route)
        if until is not None and self.clock.now() < until:
            notes.append(f"{route}: no permission (asked again at {until:%H:%M})")
            return False
        return True

    def _forbid(self, route: str, permission: str, error: GenesysError, notes: list[str]) -> None:
        self._forbidden[route] = self.clock.now() + self.forbidden_for
        notes.append(f"{route}: no permission ({permission})")
        if route not in self._warned:  # once: the surplus goes on without it, the log must not fill up
            self._warned.add(route)
            log.warning("surplus: the Genesys client may not read %s (%s needed: %s); going on without it",
                        route, permission, error)


def _queues(mu_id: str, groups: PlanningGroups) -> set[str]:
    served = groups.groups_of(mu_id)
    if served == (POOLED,):
        return {q for queues in groups.groups.values() for q in queues}
    return {q for g in served for q in groups.groups.get(g, ())}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
