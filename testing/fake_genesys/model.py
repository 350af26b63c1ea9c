"""The fake org's data and the exact JSON shapes Genesys Cloud uses for it (field names and casing)."""

from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids):06d}"


_CORRELATION_PREFIX = str(uuid.uuid4())[:24]  # 8-4-4-4- of a random UUID; the last 12 hex digits count up
_correlations = itertools.count(1)


def correlation_id() -> str:
    """A notification's ``metadata.CorrelationId``: UUID-shaped and unique, without a uuid4 per frame."""
    return f"{_CORRELATION_PREFIX}{next(_correlations):012x}"


def iso(value: datetime) -> str:
    # isoformat, not strftime: the same text (``2026-05-18T07:00:00.000Z``) in a fraction of the time,
    # which matters when the fake pushes thousands of events a second on the benchmark's cores.
    return value.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


#: canonical key -> (REST spelling, definitions/WFM spelling, topic spelling). The reference (§0, §10)
#: says REST shows "Available"/"On Queue", /presence/definitions shows TitleCase ("OnQueue") and the
#: presence topic shows UPPER ("AVAILABLE").
PRESENCES: dict[str, tuple[str, str, str]] = {
    "AVAILABLE": ("Available", "Available", "AVAILABLE"),
    "AWAY": ("Away", "Away", "AWAY"),
    "BUSY": ("Busy", "Busy", "BUSY"),
    "OFFLINE": ("Offline", "Offline", "OFFLINE"),
    "IDLE": ("Idle", "Idle", "IDLE"),
    "ON_QUEUE": ("On Queue", "OnQueue", "ON_QUEUE"),
    "MEAL": ("Meal", "Meal", "MEAL"),
    "TRAINING": ("Training", "Training", "TRAINING"),
    "MEETING": ("Meeting", "Meeting", "MEETING"),
    "BREAK": ("Break", "Break", "BREAK"),
}
ROUTING = ("OFF_QUEUE", "IDLE", "INTERACTING", "NOT_RESPONDING", "COMMUNICATING")


@cache  # a handful of spellings, parsed on every presence change the fake pushes
def presence_key(raw: str) -> str:
    key = re.sub(r"[^A-Z]", "", raw.upper())
    for canonical in PRESENCES:
        if canonical.replace("_", "") == key:
            return canonical
    raise ValueError(f"unknown presence {raw!r}")


def definition_id(key: str) -> str:
    return f"pd-{key.lower().replace('_', '-')}"


@dataclass
class FakeActivity:
    start: datetime
    minutes: int
    code_id: str
    description: str = ""
    external_type: str | None = None
    external_id: str | None = None

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"startDate": iso(self.start), "lengthMinutes": self.minutes,
                               "description": self.description, "activityCodeId": self.code_id,
                               "paid": True, "payableMinutes": self.minutes}
        if self.external_type:
            out["externalActivityType"] = self.external_type
            out["externalActivityId"] = self.external_id
        return out

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)


@dataclass
class FakeUser:
    id: str
    name: str
    email: str
    mu_id: str
    team_id: str | None
    manager_id: str | None
    presence: str
    presence_at: datetime
    routing: str
    routing_at: datetime
    activities: list[FakeActivity] = field(default_factory=list)

    def presence_json(self, *, topic: bool = False) -> dict[str, Any]:
        spelling = PRESENCES[self.presence][2 if topic else 0]
        return {"source": "PURECLOUD", "sourceId": "purecloud", "primary": True,
                "presenceDefinition": {"id": definition_id(self.presence), "systemPresence": spelling,
                                       "selfUri": f"/api/v2/presencedefinitions/{definition_id(self.presence)}"},
                "message": "", "modifiedDate": iso(self.presence_at),
                **({} if topic else {"selfUri": f"/api/v2/users/{self.id}/presences/purecloud"})}

    def routing_json(self) -> dict[str, Any]:
        return {"userId": self.id, "status": self.routing, "startTime": iso(self.routing_at)}


@dataclass
class FakeTeam:
    id: str
    name: str


@dataclass
class FakeUnit:
    id: str
    name: str
    bu_id: str


@dataclass
class FakeBusinessUnit:
    id: str
    name: str
    time_zone: str
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class FakeChannel:
    id: str
    expires: datetime
    topics: list[str] = field(default_factory=list)
    last_used: datetime | None = None


@dataclass
class Fault:
    """One injected fault: the next ``times`` requests matching ``method`` + ``path`` (a regex) get it."""

    path: str
    status: int | None = None
    times: int = 1
    method: str | None = None
    retry_after: str | None = None
    delay: float = 0.0
    body: dict[str, Any] | None = None
    lose_response: bool = False  # served as usual, then the connection closes before the answer
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and re.search(self.path, path) is not None


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None
    body: Any
    status: int = 0


def default_codes() -> dict[str, dict[str, Any]]:
    """A BU's activity codes in the ``BusinessUnitActivityCodeListing`` entity shape."""
    rows = [("ac-onq", "On queue work", "OnQueueWork", True), ("ac-brk", "Break", "Break", False),
            ("ac-meal", "Meal", "Meal", False), ("ac-mtg", "Team meeting", "Meeting", False),
            ("ac-trn", "Training", "Training", False), ("ac-off", "Off queue work", "OffQueueWork", False),
            ("ac-pto", "PTO", "TimeOff", False), ("ac-una", "Unavailable", "Unavailable", False)]
    return {
        code_id: {"id": code_id, "name": name, "active": True, "defaultCode": default, "category": category,
                  "lengthInMinutes": 30, "countsAsPaidTime": True, "countsAsWorkTime": True,
                  "countsTowardShrinkage": category != "OnQueueWork", "plannedShrinkage": True,
                  "interruptible": category == "OnQueueWork", "secondaryPresences": [], "planningGroups": [],
                  "metadata": {"version": 1}}
        for code_id, name, category, default in rows
    }
