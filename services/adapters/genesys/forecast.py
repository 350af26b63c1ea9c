"""``GenesysDemand``: the slot search's required staff from the business unit's short-term forecast.

Per business-unit week (weeks start on the BU's ``startDayOfWeek``, in its time zone):

1. ``GET .../businessunits/{bu}/weeks/{weekDate}/shorttermforecasts`` (then ``weeks/recent``, where a
   multi-week forecast that started earlier is listed): the forecast covering the week (one usable for
   scheduling and not legacy preferred, then the latest; a multi-week one is read at its week number);
2. ``GET .../shorttermforecasts/{id}/staffingrequirement?weekNumbers=n``: ``state`` Processing (asked
   again with backoff), Error (the week counts as having no forecast) or Complete, whose results
   always arrive through ``downloadUrl`` (GET without auth): ``planningGroupStaffingRequirements``
   with ``staffingRequirementsPerInterval`` from ``referenceStartDate`` every ``intervalLengthMinutes``.

Planning groups become the search's queues, with the unit's share of each (``planning.py``). Weeks
are cached per (BU, week) until a ``forecasts.staffingrequirement`` or schedule notification of the
BU arrives (or ``ttl`` passes); the planning-group map (one GET per agent of the BU) is kept for
``mapping_ttl`` and, when its refresh fails, until the next one succeeds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from services.adapters.genesys.async_job import JobWait, follow
from services.adapters.genesys.backoff import Backoff, Sleep, real_sleep
from services.adapters.genesys.client import GenesysClient, as_object
from services.adapters.genesys.errors import GenesysError, GenesysJobFailed, GenesysMalformed
from services.adapters.genesys.parse import obj, parse_time, ref_id
from services.adapters.genesys.planning import PlanningGroups, load_planning_groups
from services.adapters.genesys.structure import WFM, StructureReader, UnitInfo
from services.booking.demand import Demand
from services.domain.slots import AgentCalendar, TimeGrid
from services.ports import Clock

log = logging.getLogger(__name__)

NO_GROUP = "no-planning-group"  # the unit's agents serve no planning group: they carry no forecast demand
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class WeekRequirement:
    """One week's staffing requirement per planning group, or why there is none."""

    week: date
    forecast_id: str | None
    reference_start: datetime | None = None
    interval_minutes: int = 15
    per_group: Mapping[str, NDArray[np.float64]] | None = None
    missing: str = ""


def pick_forecast(entities: Sequence[Any], week: date) -> tuple[str, int] | None:
    """(forecast id, week number) of the forecast covering ``week``: usable for scheduling, not legacy first."""
    covering: list[tuple[tuple[bool, bool, int], str, int]] = []
    for raw in entities:
        forecast_id = ref_id(raw)
        try:
            start = date.fromisoformat(str(raw.get("weekDate")))
        except ValueError:
            continue
        count = int(raw.get("weekCount") or 1)
        number = (week - start).days // 7
        if forecast_id is None or not 0 <= number < count:
            continue
        rank = (raw.get("canUseForScheduling") is False, bool(raw.get("legacy")), -start.toordinal())
        covering.append((rank, forecast_id, number))
    if not covering:
        return None
    _, forecast_id, number = min(covering, key=lambda c: c[0])  # ties: the first listed (min is stable)
    return forecast_id, number


def read_requirement_file(body: Any) -> dict[str, NDArray[np.float64]]:
    """The downloaded file: ``planningGroupStaffingRequirements[{planningGroupId,
    staffingRequirementsPerInterval}]``."""
    out: dict[str, NDArray[np.float64]] = {}
    for raw in as_object(body, "staffing requirement file").get("planningGroupStaffingRequirements") or []:
        group = raw.get("planningGroupId") if isinstance(raw, dict) else None
        values = raw.get("staffingRequirementsPerInterval") if isinstance(raw, dict) else None
        if isinstance(group, str) and isinstance(values, list):
            out[group] = np.array([float(v or 0.0) for v in values], dtype=np.float64)
    return out


class GenesysDemand:
    def __init__(self, client: GenesysClient, clock: Clock, *, structure: StructureReader | None = None,
                 ttl: timedelta = timedelta(hours=6), mapping_ttl: timedelta = timedelta(hours=24),
                 sleep: Sleep = real_sleep, backoff: Backoff | None = None, max_rounds: int = 6) -> None:
        self.client, self.clock = client, clock
        self.structure = structure or StructureReader(client)
        self.ttl, self.mapping_ttl = ttl, mapping_ttl
        self._sleep = sleep
        self._backoff = backoff or Backoff(base=1.0, cap=20.0)
        self.max_rounds = max_rounds
        self._units: dict[str, UnitInfo] = {}
        self._week_start: dict[str, int] = {}  # BU -> weekday its weeks start on (Monday = 0)
        self._weeks: dict[tuple[str, date], tuple[datetime, WeekRequirement]] = {}
        self._groups: dict[str, tuple[datetime, PlanningGroups]] = {}

    # ---- notifications ---------------------------------------------------------------------------------
    def forecast_changed(self, bu_id: str, body: Mapping[str, Any] | None = None) -> None:
        """A staffing requirement of ``bu_id`` was (re)calculated: forget its cached weeks."""
        dropped = [key for key in self._weeks if key[0] == bu_id]
        for key in dropped:
            del self._weeks[key]
        forecast = ref_id(obj((body or {}).get("forecast")))
        log.info("staffing requirement of business unit %s changed (forecast %s); %d cached week(s) dropped",
                 bu_id, forecast or "?", len(dropped))

    def schedule_changed(self, mu_id: str) -> None:
        """A schedule of ``mu_id`` was published or changed: its BU's forecast weeks are read again."""
        unit = self._units.get(mu_id)
        if unit is not None:
            self.forecast_changed(unit.bu_id)

    # ---- DemandSource ----------------------------------------------------------------------------------
    async def demand(self, mu_id: str, grid: TimeGrid, published: Sequence[AgentCalendar]) -> Demand:
        unit = await self._unit(mu_id)
        groups = await self._planning_groups(unit.bu_id)
        queues = groups.groups_of(mu_id) or (NO_GROUP,)
        required = np.zeros((len(queues), grid.intervals), dtype=np.float64)
        covered = np.zeros(grid.intervals, dtype=np.bool_)
        used: list[WeekRequirement] = []
        missing: list[WeekRequirement] = []
        times = np.array([grid.time_of(t).timestamp() for t in range(grid.intervals)])
        for week in await self._weeks_of(unit, grid):
            found = await self._week(unit.bu_id, week)
            if found.per_group is None or found.reference_start is None:
                missing.append(found)
                continue
            used.append(found)
            size = found.interval_minutes * 60
            index = np.floor((times - found.reference_start.timestamp()) / size).astype(np.int64)
            for q, group in enumerate(queues):
                values = self._group_values(found, groups, group)
                inside = (index >= 0) & (index < values.size)
                required[q, inside] = values[index[inside]] * groups.share(mu_id, group)
            length = max((v.size for v in found.per_group.values()), default=0)
            covered |= (index >= 0) & (index < length)  # a file shorter than the week leaves the rest uncovered
        skills = {a.agent_id: groups.skills(a.agent_id) for a in published}
        provenance = _provenance(used, unit.bu_id, groups)
        if queues == (NO_GROUP,):
            provenance += f", no planning group served by {mu_id}'s agents"
        reason = ""
        if missing:
            weeks = ", ".join(w.week.isoformat() for w in missing)
            causes = "; ".join(dict.fromkeys(w.missing for w in missing if w.missing))
            reason = f"no Genesys short-term forecast for the week(s) of {weeks} (business unit {unit.bu_id})"
            if causes:
                reason += f": {causes}"
        elif not covered.all():
            reason = f"the Genesys staffing requirement does not cover the whole period (business unit {unit.bu_id})"
        if reason:
            required[:] = 0.0  # the policy places on availability alone, never on a half-known curve
        return Demand(queues, required, provenance, skills, tuple(w.forecast_id or "" for w in used), reason)

    @staticmethod
    def _group_values(found: WeekRequirement, groups: PlanningGroups, group: str) -> NDArray[np.float64]:
        per_group = found.per_group or {}
        if groups.pooled:
            arrays = list(per_group.values())
            if not arrays:
                return np.zeros(0)
            length = max(a.size for a in arrays)
            return np.asarray(sum(np.pad(a, (0, length - a.size)) for a in arrays), dtype=np.float64)
        return per_group.get(group, np.zeros(max((a.size for a in per_group.values()), default=0)))

    async def unit_groups(self, mu_id: str) -> tuple[UnitInfo, PlanningGroups]:
        """The unit's business unit and planning groups (the cached map the demand reads; the surplus
        reads the intraday figures and queue observations of the same groups)."""
        unit = await self._unit(mu_id)
        return unit, await self._planning_groups(unit.bu_id)

    # ---- reading -----------------------------------------------------------------------------------------
    async def _unit(self, mu_id: str) -> UnitInfo:
        if mu_id not in self._units:
            self._units = {u.mu.id: u for u in await self.structure.units()}
        if mu_id not in self._units:
            raise KeyError(f"unknown management unit {mu_id!r}")
        return self._units[mu_id]

    async def _planning_groups(self, bu_id: str) -> PlanningGroups:
        now = self.clock.now()
        cached = self._groups.get(bu_id)
        if cached is not None and now - cached[0] < self.mapping_ttl:
            return cached[1]
        units = [mu for mu, info in self._units.items() if info.bu_id == bu_id]
        try:
            groups = await load_planning_groups(self.client, self.structure, bu_id, units)
        except GenesysError as error:
            if cached is None:
                raise
            log.warning("planning groups of %s not refreshed (%s); keeping the map from %s", bu_id, error,
                        cached[0].isoformat())
            return cached[1]
        self._groups[bu_id] = (now, groups)
        return groups

    async def _weeks_of(self, unit: UnitInfo, grid: TimeGrid) -> list[date]:
        if unit.bu_id not in self._week_start:
            body = as_object(await self.client.get(f"{WFM}/businessunits/{unit.bu_id}",
                                                   {"expand": ["settings.startDayOfWeek"]}), "business unit")
            day = str(obj(body.get("settings")).get("startDayOfWeek") or "Monday")
            self._week_start[unit.bu_id] = DAYS.index(day) if day in DAYS else 0
        start_day = self._week_start[unit.bu_id]
        zone = ZoneInfo(unit.bu_time_zone)
        first = grid.start.astimezone(zone).date()
        last = (grid.end - timedelta(seconds=1)).astimezone(zone).date()
        week = first - timedelta(days=(first.weekday() - start_day) % 7)
        weeks = []
        while week <= last:
            weeks.append(week)
            week += timedelta(days=7)
        return weeks

    async def _week(self, bu_id: str, week: date) -> WeekRequirement:
        now = self.clock.now()
        cached = self._weeks.get((bu_id, week))
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        found = await self._read_week(bu_id, week)
        self._weeks[(bu_id, week)] = (now, found)
        return found

    async def _read_week(self, bu_id: str, week: date) -> WeekRequirement:
        bu_path = f"{WFM}/businessunits/{bu_id}"
        listing = as_object(await self.client.get(f"{bu_path}/weeks/{week.isoformat()}/shorttermforecasts"),
                            "short-term forecasts")
        picked = pick_forecast([e for e in listing.get("entities") or [] if isinstance(e, dict)], week)
        if picked is None:  # a multi-week forecast that started earlier is listed under its own week
            recent = as_object(await self.client.get(f"{bu_path}/weeks/recent/shorttermforecasts"),
                               "recent short-term forecasts")
            picked = pick_forecast([e for e in recent.get("entities") or [] if isinstance(e, dict)], week)
        if picked is None:
            log.info("no short-term forecast for business unit %s, week of %s", bu_id, week)
            return WeekRequirement(week, None, missing="")
        forecast_id, number = picked
        path = f"{bu_path}/weeks/{_week_of(week, number)}/shorttermforecasts/{forecast_id}"
        what = f"staffing requirement of forecast {forecast_id}"

        async def ask() -> Any:
            return await self.client.get(f"{path}/staffingrequirement", {"weekNumbers": str(number)})

        try:  # Processing: asked again (there is no job to poll); Complete: the file is behind a downloadUrl
            done = await follow(await ask(), lambda _: ask(), what=what,
                                wait=JobWait(self.max_rounds, self._backoff, self._sleep))
        except GenesysJobFailed as failed:
            log.warning("%s (BU %s)", failed, bu_id)
            return WeekRequirement(week, forecast_id,
                                   missing=f"the staffing requirement of forecast {forecast_id} ended in Error")
        return await self._complete(week, forecast_id, number, done.body)

    async def _complete(self, week: date, forecast_id: str, number: int, body: Mapping[str, Any]) -> WeekRequirement:
        result = next((r for r in body.get("results") or []
                       if isinstance(r, dict) and int(r.get("weekNumber", number)) == number), None)
        url = result.get("downloadUrl") if result else None
        if not isinstance(url, str) or not url:
            raise GenesysMalformed(f"staffing requirement of {forecast_id}: Complete without a downloadUrl")
        per_group = read_requirement_file(await self.client.download(url))
        reference = parse_time(body.get("referenceStartDate"))
        if reference is None:
            raise GenesysMalformed(f"staffing requirement of {forecast_id}: no referenceStartDate")
        reference += timedelta(days=7 * number)  # the file of week n starts n weeks after the reference
        minutes = int(body.get("intervalLengthMinutes") or 15)
        return WeekRequirement(week, forecast_id, reference, minutes, per_group)


def _week_of(week: date, number: int) -> str:
    """The forecast's own week id (its first week), from the week we look at and its week number."""
    return (week - timedelta(days=7 * number)).isoformat()


def _provenance(used: Sequence[WeekRequirement], bu_id: str, groups: PlanningGroups) -> str:
    if not used:
        return f"Genesys short-term forecast: none (business unit {bu_id})"
    named = ", ".join(f"{w.forecast_id} (week of {w.week.isoformat()})" for w in used)
    text = f"Genesys short-term forecast{'s' if len(used) > 1 else ''} {named}"
    if groups.pooled:
        text += ", planning groups pooled"
    return text
