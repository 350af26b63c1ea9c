"""What a request asks for, laid on the grid: its people, rooms, sessions and allowed starts.

A :class:`Task` is one occurrence of one session of a request. Nothing here depends on what is
booked, so a request's tasks are built once (:meth:`TaskBuilder.prepare` caches them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from services.domain.slots.arrays import WORK, IntArray
from services.domain.slots.model import Reason, SlotRequest
from services.domain.slots.problem import SlotProblem
from services.domain.slots.recurrence import Period, occurrence_periods


@dataclass(frozen=True, slots=True)
class People:
    attendees: tuple[str, ...]
    att_agents: IntArray  # agent rows of attendees who are agents
    att_agent_ids: tuple[str, ...]
    att_facs: IntArray  # facilitator-calendar rows of attendees who are not agents
    att_fac_ids: tuple[str, ...]
    fac_agent: int  # the facilitator's agent row, or -1
    fac_cal: int  # the facilitator's calendar row, or -1


@dataclass(frozen=True, slots=True)
class Task:
    request: SlotRequest
    occurrence: int
    session: int
    people: People
    rooms: IntArray  # eligible rooms, smallest first
    first_day: date
    lo: int
    hi: int
    length: int
    absorb: bool
    start_ok: NDArray[np.bool_]  # allowed starts of [lo, hi): window, times of day, weekdays, step

    @property
    def agents(self) -> IntArray:
        rows = self.people.att_agents
        return rows if self.people.fac_agent < 0 else np.append(rows, self.people.fac_agent)

    @property
    def facs(self) -> IntArray:
        rows = self.people.att_facs
        return rows if self.people.fac_cal < 0 else np.append(rows, self.people.fac_cal)


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything about a request that does not depend on what is booked: computed once per request."""

    request: SlotRequest
    tasks: tuple[tuple[Task, ...], ...] = ()  # per session, per occurrence
    failure: tuple[Reason, str] | None = None


class SearchFailure(Exception):
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


class TaskBuilder:
    """Turns requests into tasks; holds the problem's id -> row indexes."""

    def __init__(self, problem: SlotProblem, label: Callable[[str | None], str]) -> None:
        self.problem, self.grid, self._label = problem, problem.grid, label
        self.agent = {a: i for i, a in enumerate(problem.agent_ids)}
        self.fac = {f: i for i, f in enumerate(problem.facilitator_ids)}
        self.room = {r.id: i for i, r in enumerate(problem.rooms)}
        self._room_order = sorted(range(len(problem.rooms)),
                                  key=lambda i: (problem.rooms[i].capacity, problem.rooms[i].id))
        self._prepared: dict[int, Prepared] = {}

    def prepare(self, request: SlotRequest) -> Prepared:
        cached = self._prepared.get(id(request))
        if cached is not None and cached.request is request:
            return cached
        if len(self._prepared) > 4096:
            self._prepared.clear()
        try:
            people = self.resolve(request)
            periods = occurrence_periods(request)
            if not periods:
                raise SearchFailure(Reason.OUTSIDE_WINDOW, "the recurrence has no occurrence inside the date range")
            sessions = self._sessions(request, people)
            prepared = Prepared(request, tuple(
                tuple(self._task(request, period, number, group) for period in periods)
                for number, group in enumerate(sessions)))
        except SearchFailure as failure:
            prepared = Prepared(request, failure=(failure.reason, failure.detail))
        self._prepared[id(request)] = prepared
        return prepared

    def resolve(self, request: SlotRequest) -> People:
        unknown = [p for p in (*request.attendees, *([request.facilitator] if request.facilitator else []))
                   if p not in self.agent and p not in self.fac]
        if unknown:
            raise SearchFailure(Reason.UNKNOWN_PERSON, "not in the WFM data: " + ", ".join(
                self._label(p) for p in sorted(set(unknown))))
        attendees = tuple(dict.fromkeys(a for a in request.attendees if a != request.facilitator))
        return self._subset_of(attendees, request.facilitator)

    def _subset_of(self, attendees: Sequence[str], facilitator: str | None) -> People:
        agent_ids = tuple(a for a in attendees if a in self.agent)
        fac_ids = tuple(a for a in attendees if a not in self.agent)
        return People(
            attendees=tuple(attendees),
            att_agents=np.array([self.agent[a] for a in agent_ids], dtype=np.intp),
            att_agent_ids=agent_ids,
            att_facs=np.array([self.fac[a] for a in fac_ids], dtype=np.intp),
            att_fac_ids=fac_ids,
            fac_agent=self.agent.get(facilitator, -1) if facilitator else -1,
            fac_cal=self.fac.get(facilitator, -1) if facilitator else -1,
        )

    def subset(self, people: People, group: set[str]) -> People:
        kept = tuple(a for a in people.attendees if a in group)
        sub = self._subset_of(kept, None)
        return People(sub.attendees, sub.att_agents, sub.att_agent_ids, sub.att_facs, sub.att_fac_ids,
                      people.fac_agent, people.fac_cal)

    def eligible_rooms(self, request: SlotRequest, seats: int) -> IntArray:
        rooms = self.problem.rooms
        keep = [i for i in self._room_order
                if rooms[i].capacity >= seats and request.equipment <= rooms[i].equipment
                and (request.location is None or rooms[i].location == request.location)]
        return np.array(keep, dtype=np.intp)

    def suitable_capacity(self, request: SlotRequest) -> int:
        rooms = self.problem.rooms
        caps = [r.capacity for r in rooms if request.equipment <= r.equipment
                and (request.location is None or r.location == request.location)]
        return max(caps, default=0)

    def _sessions(self, request: SlotRequest, people: People) -> list[People]:
        """One group, or balanced groups small enough for the biggest suitable room."""
        extra = request.room_capacity_needed - len(request.attendees)
        per_session = self.suitable_capacity(request) - extra
        size = len(people.attendees)
        if not (request.room_needed and request.split_sessions) or per_session < 1 or size <= per_session:
            return [people]
        count = math.ceil(size / per_session)
        lo, hi = self.grid.day_span(request.window_start, request.window_end)
        # Attendees who start work at similar times go together, so each session finds a common time.
        def first_on(agent: str) -> int:
            row = self.agent.get(agent)
            if row is None:
                return hi
            on = np.flatnonzero(self.problem.states[row, lo:hi] == WORK)
            return int(on[0]) if on.size else hi
        ordered = sorted(people.attendees, key=lambda a: (first_on(a), a))
        bounds = [round(i * size / count) for i in range(count + 1)]
        return [self.subset(people, set(ordered[bounds[i]:bounds[i + 1]])) for i in range(count)]

    def _task(self, request: SlotRequest, period: Period, session: int, people: People) -> Task:
        grid = self.grid
        lo, hi = grid.day_span(period.first, period.last)
        length = -(-request.duration_minutes // grid.minutes)
        seats = len(people.attendees) + (request.room_capacity_needed - len(request.attendees))
        rooms = self.eligible_rooms(request, seats) if request.room_needed else np.zeros(0, np.intp)
        absorb_from = request.params.absorb_breaks_from_minutes
        absorb = absorb_from is not None and request.duration_minutes >= absorb_from
        n = max(0, hi - lo - length + 1)
        starts = np.arange(lo, lo + n, dtype=np.intp)
        minute = grid.minute[starts]
        allowed_days = np.zeros(7, dtype=np.bool_)
        allowed_days[list(request.weekdays)] = True
        start_ok = ((minute >= request.earliest_minute)
                    & (minute + length * grid.minutes <= request.latest_minute)
                    & (minute % request.params.step_minutes == 0)
                    & allowed_days[grid.weekday[starts]])
        if n:
            start_ok &= grid.day[starts + length - 1] == grid.day[starts]
        return Task(request, period.index, session, people, rooms, period.first, lo, hi, length, absorb,
                    np.asarray(start_ok, dtype=np.bool_))
