"""Holds, booking changes, attendance marks and external ids in memory, with the semantics of their
Redis adapters (``services/adapters/booking/redis_changes.py``): outcomes are first-writer-wins, a
decided hold is never revived, the same attendance mark keeps the first marker, due registers are
given out once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from services.booking.model import AttendanceMark, ChangeOutcome, Hold, HoldOutcome


class MemoryHolds:
    def __init__(self) -> None:
        self.held: dict[str, Hold] = {}
        self.outcomes: dict[str, HoldOutcome] = {}

    async def add(self, hold: Hold) -> bool:
        if hold.request_id in self.outcomes:
            return False
        self.held.setdefault(hold.request_id, hold)
        return True

    async def get(self, request_id: str) -> Hold | None:
        return self.held.get(request_id)

    async def active(self, mu_id: str | None, now: datetime) -> Sequence[Hold]:
        return [h for h in self.held.values() if mu_id in (None, h.mu_id) and h.expires_at > now]

    async def due(self, now: datetime) -> Sequence[Hold]:
        return sorted((h for h in self.held.values() if h.expires_at <= now), key=lambda h: h.expires_at)

    async def claim(self, outcome: HoldOutcome) -> bool:
        if outcome.request_id in self.outcomes:
            return False
        self.outcomes[outcome.request_id] = outcome
        return True

    async def outcome(self, request_id: str) -> HoldOutcome | None:
        return self.outcomes.get(request_id)

    async def release(self, request_id: str) -> None:
        self.held.pop(request_id, None)


class MemoryChanges:
    def __init__(self) -> None:
        self.mine: dict[str, dict[str, datetime]] = {}
        self.revisions: dict[str, int] = {}
        self.outcomes: dict[tuple[str, int], ChangeOutcome] = {}

    async def add_booking(self, requester: str, request_id: str, first_start: datetime) -> None:
        self.mine.setdefault(requester, {})[request_id] = first_start

    async def bookings_of(self, requester: str) -> Sequence[str]:
        return [rid for rid, _ in sorted(self.mine.get(requester, {}).items(), key=lambda kv: (kv[1], kv[0]))]

    async def remove_booking(self, requester: str, request_id: str) -> None:
        self.mine.get(requester, {}).pop(request_id, None)

    async def revision(self, request_id: str) -> int:
        return self.revisions.get(request_id, 0)

    async def set_revision(self, request_id: str, revision: int) -> None:
        self.revisions[request_id] = revision

    async def claim(self, outcome: ChangeOutcome) -> bool:
        key = (outcome.request_id, outcome.revision)
        if key in self.outcomes:
            return False
        self.outcomes[key] = outcome
        return True

    async def update(self, outcome: ChangeOutcome) -> None:
        self.outcomes[(outcome.request_id, outcome.revision)] = outcome

    async def outcome(self, request_id: str, revision: int) -> ChangeOutcome | None:
        return self.outcomes.get((request_id, revision))

    async def forget(self, request_id: str, revision: int) -> None:
        self.outcomes.pop((request_id, revision), None)


class MemoryAttendance:
    def __init__(self) -> None:
        self.registers: dict[str, dict[str, AttendanceMark]] = {}
        self.due: dict[str, datetime] = {}

    async def mark(self, request_id: str, mark: AttendanceMark) -> AttendanceMark | None:
        marks = self.registers.setdefault(request_id, {})
        old = marks.get(mark.agent_id)
        if old is None or old.attended != mark.attended:
            marks[mark.agent_id] = mark
        return old

    async def marks(self, request_id: str) -> Mapping[str, AttendanceMark]:
        return dict(self.registers.get(request_id, {}))

    async def expect(self, request_id: str, after: datetime) -> None:
        self.due[request_id] = after

    async def take_due(self, now: datetime) -> Sequence[str]:
        taken = [rid for rid, at in sorted(self.due.items(), key=lambda kv: (kv[1], kv[0])) if at <= now]
        for rid in taken:
            del self.due[rid]
        return taken


class MemoryExternalIds:
    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        return self.ids.get(key)

    async def put(self, key: str, value: str) -> None:
        self.ids[key] = value

    async def pop(self, key: str) -> str | None:
        return self.ids.pop(key, None)
