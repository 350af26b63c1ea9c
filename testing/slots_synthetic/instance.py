"""The instance the generator gives: its size classes, what it holds, and its digest."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

from services.domain.slots.grid import TimeGrid
from services.domain.slots.model import Reason, SlotRequest
from services.domain.slots.problem import SlotProblem
from services.domain.slots.staffing import Demand

GENERATOR_VERSION = "slots-synth-1.0"


@dataclass(frozen=True, slots=True)
class SizeClass:
    agents: int
    days: int
    queues: int
    teams: int
    trainers: int
    rooms: int
    requests: int


SIZES = {
    "S": SizeClass(agents=100, days=7, queues=2, teams=7, trainers=2, rooms=4, requests=40),
    "M": SizeClass(agents=500, days=28, queues=4, teams=36, trainers=6, rooms=8, requests=200),
    "L": SizeClass(agents=1000, days=28, queues=6, teams=72, trainers=10, rooms=12, requests=400),
    "XL": SizeClass(agents=2000, days=28, queues=8, teams=144, trainers=20, rooms=24, requests=800),
}


@dataclass(eq=False)
class Instance:
    size: str
    seed: int
    problem: SlotProblem
    demand: Demand
    requests: tuple[SlotRequest, ...]  # arrival order
    injected: dict[str, Reason]
    planted: dict[str, tuple[tuple[int, str | None], ...]]  # request -> (start index, room) per occurrence
    team_members: dict[str, tuple[str, ...]]
    managers: dict[str, str]  # team -> manager
    stats: dict[str, float] = field(default_factory=dict)
    version: str = GENERATOR_VERSION

    @property
    def grid(self) -> TimeGrid:
        return self.problem.grid

    def digest(self) -> str:
        """SHA-256 of everything the instance says (arrays and requests, canonically ordered)."""
        h = hashlib.sha256(self.version.encode())
        p = self.problem
        for array in (p.required, p.scheduled, p.states, p.weights, p.facilitator_free, p.room_free,
                      self.demand.calls):
            h.update(np.ascontiguousarray(array).tobytes())
        meta = {
            "ids": [p.agent_ids, p.agent_teams, p.facilitator_ids, [(r.id, r.capacity) for r in p.rooms]],
            "requests": [_request_json(r) for r in self.requests],
            "injected": sorted((k, v.value) for k, v in self.injected.items()),
            "planted": sorted((k, [list(x) for x in v]) for k, v in self.planted.items()),
        }
        h.update(json.dumps(meta, sort_keys=True, separators=(",", ":")).encode())
        return h.hexdigest()


def _request_json(r: SlotRequest) -> dict[str, object]:
    rec = r.recurrence
    return {
        "id": r.id, "kind": r.kind, "att": list(r.attendees), "d": r.duration_minutes,
        "w": [r.window_start.isoformat(), r.window_end.isoformat()], "f": r.facilitator, "room": r.room_needed,
        "tod": [r.earliest_minute, r.latest_minute], "wd": sorted(r.weekdays), "pref": r.preferred_minute,
        "rec": None if rec is None else [rec.frequency, rec.every, rec.min_gap_days, rec.count],
        "prio": r.priority,
    }
