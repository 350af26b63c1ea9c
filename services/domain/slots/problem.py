"""The search's view of the world: per-interval arrays built once from calendars.

``required``/``scheduled`` are agents per queue and interval; ``states`` says per agent and
interval whether a new activity may go there (:class:`SlotState`); facilitators and rooms are free
or not. Calendars are given as time spans and painted onto the grid; where spans overlap, the more
blocking state wins, and a span that only partly covers an interval blocks the whole interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from services.domain.slots.grid import TimeGrid
from services.domain.slots.model import Room, SlotState

Span = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class StateSpan:
    start: datetime
    end: datetime
    state: SlotState


@dataclass(frozen=True, slots=True)
class AgentCalendar:
    agent_id: str
    team_id: str
    spans: Sequence[StateSpan]
    skills: Mapping[str, float] = field(default_factory=dict)  # queue -> share of productive time


@dataclass(frozen=True, slots=True)
class FacilitatorCalendar:
    person_id: str
    available: Sequence[Span]  # working time
    busy: Sequence[Span] = ()


@dataclass(frozen=True, slots=True)
class RoomCalendar:
    room: Room
    busy: Sequence[Span] = ()
    open: Sequence[Span] | None = None  # None: always open


@dataclass(frozen=True, eq=False)
class SlotProblem:
    grid: TimeGrid
    queues: tuple[str, ...]
    required: NDArray[np.float64]  # (queues, T)
    scheduled: NDArray[np.float64]  # (queues, T), before any new placement
    agent_ids: tuple[str, ...]
    agent_teams: tuple[str, ...]
    states: NDArray[np.int8]  # (agents, T)
    weights: NDArray[np.float64]  # (agents, queues)
    facilitator_ids: tuple[str, ...]
    facilitator_free: NDArray[np.bool_]  # (facilitators, T)
    rooms: tuple[Room, ...]
    room_free: NDArray[np.bool_]  # (rooms, T)

    def __post_init__(self) -> None:
        t, q, a = self.grid.intervals, len(self.queues), len(self.agent_ids)
        checks = {
            "required": (self.required.shape, (q, t)),
            "scheduled": (self.scheduled.shape, (q, t)),
            "states": (self.states.shape, (a, t)),
            "weights": (self.weights.shape, (a, q)),
            "facilitator_free": (self.facilitator_free.shape, (len(self.facilitator_ids), t)),
            "room_free": (self.room_free.shape, (len(self.rooms), t)),
        }
        for name, (got, want) in checks.items():
            if got != want:
                raise ValueError(f"{name} has shape {got}, expected {want}")
        if len(self.agent_teams) != a:
            raise ValueError("one team per agent expected")
        for ids, what in ((self.agent_ids, "agent"), (self.facilitator_ids, "facilitator"),
                          (tuple(r.id for r in self.rooms), "room")):
            if len(set(ids)) != len(ids):
                raise ValueError(f"duplicate {what} ids")


def scheduled_from_states(states: NDArray[np.int8], weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """Scheduled productive agents per queue and interval implied by the agents' states."""
    working = (states == SlotState.WORK).astype(np.float64)
    return np.asarray(weights.T @ working, dtype=np.float64)


def _paint(row: NDArray[np.int8] | NDArray[np.bool_], grid: TimeGrid, start: datetime, end: datetime,
           value: int | bool, *, blocking: bool) -> None:
    """Write ``value`` over the intervals of ``[start, end)``: all touched ones if ``blocking``, else whole ones."""
    lo = grid.index_of(start, ceil=not blocking)
    hi = grid.index_of(end, ceil=blocking)
    if hi <= lo:
        return
    if row.dtype == np.bool_:
        row[lo:hi] = value
    else:
        np.maximum(row[lo:hi], value, out=row[lo:hi])


def build_problem(grid: TimeGrid, queues: Sequence[str], required: NDArray[np.float64],
                  agents: Sequence[AgentCalendar], facilitators: Sequence[FacilitatorCalendar] = (),
                  rooms: Sequence[RoomCalendar] = (),
                  scheduled: NDArray[np.float64] | None = None) -> SlotProblem:
    """Paint calendars onto ``grid``; ``scheduled`` defaults to what the agents' states imply."""
    queue_index = {q: i for i, q in enumerate(queues)}
    states = np.zeros((len(agents), grid.intervals), dtype=np.int8)
    weights = np.zeros((len(agents), len(queues)), dtype=np.float64)
    for i, agent in enumerate(agents):
        row = states[i]
        for span in agent.spans:
            # Work only counts for whole intervals; anything that blocks, blocks every interval it touches.
            _paint(row, grid, span.start, span.end, int(span.state), blocking=span.state != SlotState.WORK)
        for queue, weight in agent.skills.items():
            if queue in queue_index:
                weights[i, queue_index[queue]] = weight
    fac_free = np.zeros((len(facilitators), grid.intervals), dtype=np.bool_)
    for i, person in enumerate(facilitators):
        for start, end in person.available:
            _paint(fac_free[i], grid, start, end, True, blocking=False)
        for start, end in person.busy:
            _paint(fac_free[i], grid, start, end, False, blocking=True)
    room_free = np.ones((len(rooms), grid.intervals), dtype=np.bool_)
    for i, calendar in enumerate(rooms):
        if calendar.open is not None:
            room_free[i] = False
            for start, end in calendar.open:
                _paint(room_free[i], grid, start, end, True, blocking=False)
        for start, end in calendar.busy:
            _paint(room_free[i], grid, start, end, False, blocking=True)
    required = np.asarray(required, dtype=np.float64)
    return SlotProblem(
        grid=grid, queues=tuple(queues), required=required,
        scheduled=scheduled_from_states(states, weights) if scheduled is None
        else np.asarray(scheduled, dtype=np.float64),
        agent_ids=tuple(a.agent_id for a in agents), agent_teams=tuple(a.team_id for a in agents),
        states=states, weights=weights,
        facilitator_ids=tuple(f.person_id for f in facilitators), facilitator_free=fac_free,
        rooms=tuple(r.room for r in rooms), room_free=room_free,
    )
