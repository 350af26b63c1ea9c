"""Genesys JSON -> domain values. Pure functions; anything malformed is logged and skipped.

Normalisation happens here, at the edge: Genesys spells presence ``On Queue``/``OnQueue``/``ON_QUEUE``
depending on the API, and the domain only ever sees :mod:`services.domain.states` enums.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.domain.model import AgentSchedule, ExceptionWindow, ScheduledActivity
from services.domain.states import (
    ActivityCategory,
    Presence,
    RoutingStatus,
    normalize_category,
    normalize_presence,
    normalize_routing,
)

log = logging.getLogger(__name__)


def parse_time(value: Any) -> datetime | None:
    """ISO-8601 (``...Z`` or with an offset) -> aware UTC datetime; ``None`` if missing or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def format_time(value: datetime) -> str:
    """The wire form Genesys uses: ``2026-05-18T07:00:00.000Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (for optional nested objects)."""
    return value if isinstance(value, dict) else {}


def ref_id(value: Any) -> str | None:
    """``{"id": "x", ...}`` -> ``"x"``; a bare id string is accepted too."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r from Genesys; using UTC", name)
        return ZoneInfo("UTC")


# ---- live state -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PresenceReading:
    presence: Presence | None
    at: datetime | None


@dataclass(frozen=True, slots=True)
class RoutingReading:
    routing: RoutingStatus | None
    at: datetime | None


def read_presence(body: Any, definitions: Mapping[str, str] | None = None) -> PresenceReading | None:
    """A ``UserPresence`` (REST, user expand, bulk, presence topic) or the ``presence`` of an activity event.

    ``systemPresence`` is read from the definition when present, else looked up by definition id.
    ``None`` when the body carries no presence at all.
    """
    if not isinstance(body, dict):
        return None
    definition = body.get("presenceDefinition")
    if not isinstance(definition, dict):
        return None
    raw = definition.get("systemPresence")
    if not isinstance(raw, str) and definitions is not None:
        raw = definitions.get(str(definition.get("id")))
    presence = normalize_presence(raw if isinstance(raw, str) else None)
    if presence is None:
        log.debug("unrecognised presence %r (definition %s)", raw, definition.get("id"))
    return PresenceReading(presence, parse_time(body.get("modifiedDate")))


def read_routing(body: Any) -> RoutingReading | None:
    """A ``RoutingStatus`` (``{status, startTime}``); ``None`` when absent."""
    if not isinstance(body, dict) or "status" not in body:
        return None
    raw = body.get("status")
    return RoutingReading(normalize_routing(raw if isinstance(raw, str) else None), parse_time(body.get("startTime")))


# ---- structure ----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CodeInfo:
    category: ActivityCategory
    name: str


def read_activity_codes(body: Any) -> dict[str, CodeInfo]:
    """``BusinessUnitActivityCodeListing`` -> id -> (category, name). Codes with an unknown category are skipped."""
    codes: dict[str, CodeInfo] = {}
    entities = body.get("entities") if isinstance(body, dict) else None
    for entity in entities or []:
        code_id = ref_id(entity)
        category = normalize_category(entity.get("category")) if isinstance(entity, dict) else None
        if code_id is None or category is None:
            log.warning("skipping activity code %r: no id or unknown category", entity)
            continue
        codes[code_id] = CodeInfo(category, str(entity.get("name") or ""))
    return codes


# ---- schedules --------------------------------------------------------------------------------------------

def read_agent_schedules(result: Any, codes: Mapping[str, CodeInfo], time_zone: str | None = None,
                         ) -> tuple[dict[str, list[ScheduledActivity]], set[str]]:
    """The ``result`` of an agentschedules search/query -> (user id -> activities, unknown code ids).

    Shift activities become :class:`ScheduledActivity`; full-day time-off markers cover their whole
    business-unit day. Activities whose code is unknown are left out (and reported, so the caller
    can reload the codes): an unknown activity must not produce an alert.
    """
    by_user: dict[str, list[ScheduledActivity]] = {}
    unknown: set[str] = set()
    if not isinstance(result, dict):
        log.warning("schedule result is not an object: %r", type(result).__name__)
        return by_user, unknown
    tz = zone(time_zone or result.get("businessUnitTimeZone"))
    for item in result.get("agentSchedules") or []:
        user_id = ref_id(item.get("user")) if isinstance(item, dict) else None
        if user_id is None:
            log.warning("skipping an agent schedule without user id")
            continue
        activities = by_user.setdefault(user_id, [])
        for shift in item.get("shifts") or []:
            for raw in (shift.get("activities") if isinstance(shift, dict) else None) or []:
                activity = _activity(raw, codes, unknown, user_id)
                if activity is not None:
                    activities.append(activity)
        for marker in item.get("fullDayTimeOffMarkers") or []:
            activity = _time_off(marker, codes, tz, user_id)
            if activity is not None:
                activities.append(activity)
    return by_user, unknown


def _activity(raw: Any, codes: Mapping[str, CodeInfo], unknown: set[str], user_id: str) -> ScheduledActivity | None:
    if not isinstance(raw, dict):
        return None
    start, minutes, code_id = parse_time(raw.get("startDate")), raw.get("lengthMinutes"), raw.get("activityCodeId")
    if start is None or not isinstance(minutes, (int, float)) or minutes <= 0 or not isinstance(code_id, str):
        log.warning("skipping malformed activity of %s: %r", user_id, raw)
        return None
    code = codes.get(code_id)
    if code is None:
        unknown.add(code_id)
        return None
    name = raw.get("description") or code.name
    return ScheduledActivity(start, start + timedelta(minutes=minutes), code.category, code_id, str(name))


def _time_off(raw: Any, codes: Mapping[str, CodeInfo], tz: ZoneInfo, user_id: str) -> ScheduledActivity | None:
    if not isinstance(raw, dict):
        return None
    try:
        day = date.fromisoformat(str(raw.get("businessUnitDate")))
    except ValueError:
        log.warning("skipping malformed time-off marker of %s: %r", user_id, raw)
        return None
    start = datetime.combine(day, time(), tz)
    end = datetime.combine(day + timedelta(days=1), time(), tz)
    code_id = str(raw.get("activityCodeId") or "")
    name = raw.get("description") or (codes[code_id].name if code_id in codes else "Time off")
    return ScheduledActivity(start.astimezone(UTC), end.astimezone(UTC), ActivityCategory.TIME_OFF, code_id, str(name))


def build_schedule(agent_id: str, activities: Iterable[ScheduledActivity]) -> AgentSchedule:
    """Sorted, de-duplicated and non-overlapping. Genesys shifts do not overlap; if two activities
    ever do, the one that starts later wins its time and the earlier one resumes after it."""
    ordered = sorted({(a.start, a.end, a.code_id): a for a in activities}.values(), key=lambda a: (a.start, a.end))
    painted: list[ScheduledActivity] = []
    for activity in ordered:
        kept: list[ScheduledActivity] = []
        for earlier in painted:
            if earlier.end <= activity.start or earlier.start >= activity.end:
                kept.append(earlier)
                continue
            if earlier.start < activity.start:
                kept.append(replace(earlier, end=activity.start))
            if earlier.end > activity.end:
                kept.append(replace(earlier, start=activity.end))
        kept.append(activity)
        painted = kept
    return AgentSchedule.of(agent_id, painted)


# ---- adherence explanations ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Explanation:
    id: str
    agent_id: str
    mu_id: str | None
    status: str
    start: datetime
    end: datetime
    notes: str
    reviewed_by: str | None

    def window(self) -> ExceptionWindow:
        return ExceptionWindow(self.agent_id, self.start, self.end, reason=self.notes or "WFM adherence explanation",
                               approved_by=self.reviewed_by or "", source="wfm")


def read_explanation(raw: Any) -> Explanation | None:
    """``AdherenceExplanationResponse`` (REST or notification) -> :class:`Explanation`."""
    if not isinstance(raw, dict):
        return None
    explanation_id, agent_id = ref_id(raw), ref_id(raw.get("agent"))
    start, minutes = parse_time(raw.get("startDate")), raw.get("lengthMinutes")
    if explanation_id is None or agent_id is None or start is None or not isinstance(minutes, (int, float)):
        log.warning("skipping malformed adherence explanation %r", raw)
        return None
    return Explanation(explanation_id, agent_id, ref_id(raw.get("managementUnit")), str(raw.get("status") or ""),
                       start, start + timedelta(minutes=minutes), str(raw.get("notes") or ""),
                       ref_id(raw.get("reviewedBy")))
