"""Tiny hand-made calendars for slot-search tests: one week from Monday 1 June 2026, UTC."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import numpy as np

from services.domain.slots import (
    AgentCalendar,
    FacilitatorCalendar,
    Room,
    RoomCalendar,
    SlotProblem,
    SlotRequest,
    SlotState,
    StateSpan,
    TimeGrid,
    build_problem,
)

MONDAY = date(2026, 6, 1)
START = datetime(2026, 6, 1, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return START + timedelta(days=day, hours=hour, minutes=minute)


def index(day: int, hour: int, minute: int = 0) -> int:
    return day * 96 + hour * 4 + minute // 15


def shift(days: Iterable[int] = range(5), begin: int = 8, end: int = 17,
          breaks: Iterable[tuple[int, int]] = ((10, 0), (15, 0)), lunch: tuple[int, int] | None = (12, 0),
          extra: Iterable[StateSpan] = ()) -> list[StateSpan]:
    """Working days with two 15-minute breaks and a 30-minute lunch, plus ``extra`` spans."""
    spans: list[StateSpan] = []
    for d in days:
        spans.append(StateSpan(at(d, begin), at(d, end), SlotState.WORK))
        for h, m in breaks:
            spans.append(StateSpan(at(d, h, m), at(d, h, m) + timedelta(minutes=15), SlotState.BREAK))
        if lunch:
            spans.append(StateSpan(at(d, *lunch), at(d, *lunch) + timedelta(minutes=30), SlotState.BREAK))
    return spans + list(extra)


def office_hours(days: Iterable[int] = range(5), begin: int = 8, end: int = 17) -> list[tuple[datetime, datetime]]:
    return [(at(d, begin), at(d, end)) for d in days]


def problem(agents: list[AgentCalendar], *, required: float | np.ndarray = 0.0,
            facilitators: list[FacilitatorCalendar] | None = None,
            rooms: list[RoomCalendar] | None = None, days: int = 7, queues: tuple[str, ...] = ("q1",)) -> SlotProblem:
    grid = TimeGrid(START, days * 96)
    req = np.broadcast_to(np.asarray(required, dtype=float), (len(queues), grid.intervals)).copy()
    return build_problem(grid, queues, req, agents, facilitators or [], rooms or [])


def agent(agent_id: str, spans: list[StateSpan] | None = None, team: str = "t1",
          skills: dict[str, float] | None = None) -> AgentCalendar:
    return AgentCalendar(agent_id, team, spans if spans is not None else shift(), skills or {"q1": 1.0})


def facilitator(person: str = "sup", busy: Iterable[tuple[datetime, datetime]] = (),
                days: Iterable[int] = range(5)) -> FacilitatorCalendar:
    return FacilitatorCalendar(person, office_hours(days), list(busy))


def room(room_id: str, capacity: int, busy: Iterable[tuple[datetime, datetime]] = (),
         equipment: frozenset[str] = frozenset(), location: str = "HQ") -> RoomCalendar:
    return RoomCalendar(Room(room_id, room_id.title(), capacity, equipment, location), list(busy))


def request(request_id: str = "r1", attendees: tuple[str, ...] = ("a1",), minutes: int = 30,
            **kwargs: object) -> SlotRequest:
    fields: dict[str, object] = {"window_start": MONDAY, "window_end": MONDAY + timedelta(days=4),
                                 "earliest_minute": 8 * 60, "latest_minute": 17 * 60}
    fields.update(kwargs)
    return SlotRequest(request_id, "meeting", attendees, minutes, **fields)  # type: ignore[arg-type]
