"""The slot-search engine: exhaustive, vectorised search for the least harmful time.

For one request the engine looks at every start on the grid inside the request's window and times
of day, keeps those where every hard constraint holds (attendees on shift and free, facilitator
free, a room free and big enough, limits kept), and picks the one adding the least understaffing,
then the one nearest the preferred time, then the earliest. A recurring request places all its
occurrences at once (a small dynamic programme over days keeps the minimum gap). A training too
big for any room is split into sessions. Everything is all-or-nothing per request: if one
occurrence or session cannot be placed, nothing is booked and the request gets a :class:`Reason`.

The engine holds the current state (what it booked so far) and can release a booking, which is
what the batch mode's local search builds on. It never reads a clock or does I/O.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from services.domain.slots.model import (
    Alternative,
    Explanation,
    IntervalImpact,
    Outcome,
    Placement,
    Reason,
    SlotRequest,
    SlotState,
)
from services.domain.slots.problem import SlotProblem
from services.domain.slots.recurrence import Period, occurrence_periods
from services.domain.slots.sliding import all_over, first_min_prefix, sum_over

IntArray = NDArray[np.intp]
_MILLI = 1000  # impacts are compared in thousandths of an agent-interval
_PREF_SPAN = 1_000_000  # key = impact_milli * _PREF_SPAN + preference distance
_NO = np.iinfo(np.int64).max // 4
_WORK, _BREAK, _BUSY, _OFF, _ABSENT = (int(s) for s in (SlotState.WORK, SlotState.BREAK, SlotState.BUSY,
                                                        SlotState.OFF, SlotState.ABSENT))
_STATE_WORDS = {_OFF: "is off shift", _BREAK: "has a break then", _BUSY: "is busy", _ABSENT: "is on leave"}


@dataclass(frozen=True, slots=True)
class _People:
    attendees: tuple[str, ...]
    att_agents: IntArray  # agent rows of attendees who are agents
    att_agent_ids: tuple[str, ...]
    att_facs: IntArray  # facilitator-calendar rows of attendees who are not agents
    att_fac_ids: tuple[str, ...]
    fac_agent: int  # the facilitator's agent row, or -1
    fac_cal: int  # the facilitator's calendar row, or -1


@dataclass(frozen=True, slots=True)
class _Task:
    request: SlotRequest
    occurrence: int
    session: int
    people: _People
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
class _Prepared:
    """Everything about a request that does not depend on what is booked: computed once per request."""

    request: SlotRequest
    tasks: tuple[tuple[_Task, ...], ...] = ()  # per session, per occurrence
    failure: tuple[Reason, str] | None = None


@dataclass(slots=True)
class _Eval:
    task: _Task
    start_ok: NDArray[np.bool_]
    att_ok: NDArray[np.bool_]
    fac_ok: NDArray[np.bool_]
    room_any: NDArray[np.bool_]
    room_choice: IntArray
    limit_ok: NDArray[np.bool_]
    share_ok: NDArray[np.bool_]
    impact: NDArray[np.float64]
    key: NDArray[np.int64]
    att_states: NDArray[np.int8]  # attendee agents' states over the window
    att_avail: NDArray[np.bool_]
    added: NDArray[np.float64]  # added understaffing per interval of the window
    pulled: NDArray[np.float64]  # agents pulled per interval (attendees' queues)
    by_room: NDArray[np.bool_]  # (eligible rooms, starts): room free over the whole slot

    @property
    def feasible(self) -> NDArray[np.bool_]:
        return np.asarray(self.start_ok & self.att_ok & self.fac_ok & self.room_any & self.limit_ok
                          & self.share_ok)


@dataclass(slots=True)
class _Commit:
    placement: Placement
    agents: IntArray
    old_states: NDArray[np.int8]
    pulled: NDArray[np.float64]
    facs: IntArray
    old_facs: NDArray[np.bool_]
    room: int
    old_room: NDArray[np.bool_] | None


@dataclass(frozen=True, slots=True)
class Candidates:
    """One occurrence's feasible starts (grid indices), their costs and free rooms (indices, -1 = none)."""

    occurrence: int
    starts: IntArray
    keys: NDArray[np.int64]
    rooms: list[tuple[int, ...]]
    length: int
    agents: IntArray  # agent rows pulled from the queues
    facilitators: IntArray  # facilitator-calendar rows blocked


@dataclass(slots=True)
class Booking:
    """A request the engine holds, with how to undo it."""

    request: SlotRequest
    outcome: Outcome
    key: int
    commits: list[_Commit]


class _Failure(Exception):
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


class SlotEngine:
    def __init__(self, problem: SlotProblem, names: Mapping[str, str] | None = None) -> None:
        """``names`` (id -> display name) only changes how explanations and reasons read."""
        self.problem = problem
        self._display = dict(names or {})
        self.grid = problem.grid
        self.states = problem.states.copy()
        self.scheduled = problem.scheduled.copy()
        self.fac_free = problem.facilitator_free.copy()
        self.room_free = problem.room_free.copy()
        self._agent = {a: i for i, a in enumerate(problem.agent_ids)}
        self._fac = {f: i for i, f in enumerate(problem.facilitator_ids)}
        self._room = {r.id: i for i, r in enumerate(problem.rooms)}
        self._room_caps = np.array([r.capacity for r in problem.rooms], dtype=np.int64)
        self._room_order = sorted(range(len(problem.rooms)),
                                  key=lambda i: (problem.rooms[i].capacity, problem.rooms[i].id))
        teams: dict[str, list[int]] = {}
        for i, team in enumerate(problem.agent_teams):
            teams.setdefault(team, []).append(i)
        self._team_rows = {t: np.array(rows, dtype=np.intp) for t, rows in teams.items()}
        # People who are both agents and facilitators are blocked in both calendars when booked.
        self._agent_fac = {self._agent[p]: self._fac[p] for p in self._fac if p in self._agent}
        self._bookings: dict[str, Booking] = {}
        self._prepared: dict[int, _Prepared] = {}

    # ------------------------------------------------------------------ public API

    @property
    def bookings(self) -> Mapping[str, Booking]:
        return self._bookings

    def book(self, request: SlotRequest, *, explain: bool = True) -> Outcome:
        """Search and, if every occurrence and session fits, hold the placements."""
        if request.id in self._bookings:
            raise ValueError(f"request {request.id!r} is already booked")
        prepared = self._prepare(request)
        if prepared.failure is not None:
            return Outcome(request.id, reason=prepared.failure[0], detail=prepared.failure[1])
        commits: list[_Commit] = []
        explanations: list[Explanation] = []
        key = 0
        split = len(prepared.tasks) > 1
        try:
            for number, tasks in enumerate(prepared.tasks):
                evals = [self._evaluate(task) for task in tasks]
                positions = self._choose(evals, request, split, number)
                for ev, pos in zip(evals, positions, strict=True):
                    if explain:
                        explanations.append(self._explain(ev, pos))
                    key += int(ev.key[pos])
                    commits.append(self._commit(ev.task, ev.task.lo + pos, int(ev.room_choice[pos])))
        except _Failure as failure:
            for commit in reversed(commits):
                self._undo(commit)
            return Outcome(request.id, reason=failure.reason, detail=failure.detail)
        outcome = Outcome(request.id, tuple(c.placement for c in commits), tuple(explanations))
        self._bookings[request.id] = Booking(request, outcome, key, commits)
        return outcome

    def search(self, request: SlotRequest, *, explain: bool = True) -> Outcome:
        """What :meth:`book` would do, without holding anything."""
        outcome = self.book(request, explain=explain)
        if outcome.placed:
            self.release(request.id)
        return outcome

    def release(self, request_id: str) -> Booking | None:
        booking = self._bookings.pop(request_id, None)
        if booking is not None:
            for commit in reversed(booking.commits):
                self._undo(commit)
        return booking

    def restore(self, booking: Booking) -> None:
        """Hold a released booking again, at exactly the same times and rooms."""
        if booking.request.id in self._bookings:
            raise ValueError(f"request {booking.request.id!r} is already booked")
        people = self._resolve(booking.request)
        commits: list[_Commit] = []
        for placement in booking.outcome.placements:
            group = set(placement.attendees)
            sub = self._subset(people, group)
            task = _Task(booking.request, placement.occurrence, placement.session, sub, np.zeros(0, np.intp),
                         placement.start.date(), placement.start_index, placement.end_index, placement.length, True,
                         np.ones(1, dtype=np.bool_))
            room = self._room[placement.room_id] if placement.room_id is not None else -1
            if not self._free(task, placement.start_index, room):
                for commit in reversed(commits):
                    self._undo(commit)
                raise ValueError(f"cannot restore {booking.request.id!r}: its slot is taken")
            commits.append(self._commit(task, placement.start_index, room))
        self._bookings[booking.request.id] = Booking(booking.request, booking.outcome, booking.key, commits)

    def book_at(self, request: SlotRequest, choices: Sequence[tuple[int, str | None]]) -> Outcome:
        """Hold ``request`` at the given (start index, room) of each occurrence; ``ValueError`` if not allowed.

        Only for requests held as one session. ``room`` ``None`` takes the smallest free suitable room.
        """
        if request.id in self._bookings:
            raise ValueError(f"request {request.id!r} is already booked")
        prepared = self._prepare(request)
        if prepared.failure is not None or len(prepared.tasks) != 1 or len(choices) != len(prepared.tasks[0]):
            raise ValueError(f"request {request.id!r} cannot be booked at chosen times")
        gap = request.recurrence.min_gap_days if request.recurrence else 0
        days = [int(self.grid.day[start]) for start, _ in choices]
        if any(b - a < gap for a, b in itertools.pairwise(days)):
            raise ValueError(f"request {request.id!r}: occurrences closer than {gap} days")
        commits: list[_Commit] = []
        key = 0
        for task, (start, room_id) in zip(prepared.tasks[0], choices, strict=True):
            ev = self._evaluate(task)
            pos = start - task.lo
            room = -1
            ok = 0 <= pos < ev.feasible.size and bool(ev.feasible[pos])
            if ok and request.room_needed:
                room = self._room[room_id] if room_id is not None else int(ev.room_choice[pos])
                ok = room in task.rooms.tolist() and bool(self.room_free[room, start:start + task.length].all())
            if not ok:
                for commit in reversed(commits):
                    self._undo(commit)
                raise ValueError(f"request {request.id!r} does not fit at interval {start}")
            key += int(ev.key[pos])
            commits.append(self._commit(task, start, room))
        outcome = Outcome(request.id, tuple(c.placement for c in commits))
        self._bookings[request.id] = Booking(request, outcome, key, commits)
        return outcome

    def options(self, request: SlotRequest) -> list[tuple[IntArray, NDArray[np.int64]]]:
        """Per occurrence (first session): feasible start indices now and their costs (lower is better)."""
        prepared = self._prepare(request)
        if prepared.failure is not None:
            return []
        out = []
        for task in prepared.tasks[0]:
            ev = self._evaluate(task)
            positions = np.flatnonzero(ev.feasible)
            out.append((task.lo + positions, ev.key[positions]))
        return out

    def candidates(self, request: SlotRequest, limit: int, rooms_per_start: int,
                   keep: Mapping[int, int] | None = None) -> list[Candidates] | None:
        """The ``limit`` cheapest feasible starts of each occurrence now, with free suitable rooms.

        ``None`` for a request that is split into sessions or cannot be searched at all.
        """
        prepared = self._prepare(request)
        if prepared.failure is not None or len(prepared.tasks) != 1:
            return None
        out = []
        for task in prepared.tasks[0]:
            ev = self._evaluate(task)
            positions = np.flatnonzero(ev.feasible)
            cheapest = positions[np.argsort(ev.key[positions], kind="stable")[:limit]]
            wanted = (keep or {}).get(task.occurrence)
            if wanted is not None and 0 <= wanted - task.lo < ev.feasible.size and ev.feasible[wanted - task.lo]:
                cheapest = np.union1d(cheapest, [wanted - task.lo])  # the current slot stays a choice
            positions = cheapest
            rooms: list[tuple[int, ...]] = []
            for pos in positions.tolist():
                free = task.rooms[ev.by_room[:, pos]] if task.rooms.size else np.zeros(0, np.intp)
                rooms.append(tuple(int(m) for m in free[:rooms_per_start]) if request.room_needed else (-1,))
            out.append(Candidates(task.occurrence, task.lo + positions, ev.key[positions], rooms, task.length,
                                  task.agents, task.facs))
        return out

    def sessions(self, request: SlotRequest) -> int:
        prepared = self._prepare(request)
        return len(prepared.tasks)

    def candidate_count(self, request: SlotRequest) -> int:
        """Feasible starts of the most constrained occurrence now (0 if it cannot be placed)."""
        return min((int(s.size) for s in self.feasible_starts(request)), default=0)

    def feasible_starts(self, request: SlotRequest) -> list[IntArray]:
        """Grid indices where each occurrence (first session) could start now, ignoring the gap rule."""
        prepared = self._prepare(request)
        if prepared.failure is not None:
            return []
        out = []
        for task in prepared.tasks[0]:
            ev = self._evaluate(task)
            out.append(task.lo + np.flatnonzero(ev.feasible))
        return out

    def eligible_room_ids(self, request: SlotRequest) -> list[str]:
        """Rooms big and equipped enough for the whole request (empty when no room is needed)."""
        if not request.room_needed:
            return []
        return [self.problem.rooms[i].id for i in self._eligible_rooms(request, request.room_capacity_needed)]

    def room_free_at(self, room_id: str, start: int, end: int) -> bool:
        return bool(self.room_free[self._room[room_id], start:end].all())

    def added_understaffing(self) -> float:
        """Understaffing added by everything booked, in agent-intervals (over all queues)."""
        base = np.maximum(self.problem.required - self.problem.scheduled, 0.0)
        now = np.maximum(self.problem.required - self.scheduled, 0.0)
        return float((now - base).sum())

    def _label(self, person: str | None) -> str:
        return self._display.get(person or "", person or "")

    # ------------------------------------------------------------------ building tasks

    def _prepare(self, request: SlotRequest) -> _Prepared:
        cached = self._prepared.get(id(request))
        if cached is not None and cached.request is request:
            return cached
        if len(self._prepared) > 4096:
            self._prepared.clear()
        try:
            people = self._resolve(request)
            periods = occurrence_periods(request)
            if not periods:
                raise _Failure(Reason.OUTSIDE_WINDOW, "the recurrence has no occurrence inside the date range")
            sessions = self._sessions(request, people)
            prepared = _Prepared(request, tuple(
                tuple(self._task(request, period, number, group) for period in periods)
                for number, group in enumerate(sessions)))
        except _Failure as failure:
            prepared = _Prepared(request, failure=(failure.reason, failure.detail))
        self._prepared[id(request)] = prepared
        return prepared

    def _resolve(self, request: SlotRequest) -> _People:
        unknown = [p for p in (*request.attendees, *([request.facilitator] if request.facilitator else []))
                   if p not in self._agent and p not in self._fac]
        if unknown:
            raise _Failure(Reason.UNKNOWN_PERSON, "not in the WFM data: " + ", ".join(
                self._label(p) for p in sorted(set(unknown))))
        attendees = tuple(dict.fromkeys(a for a in request.attendees if a != request.facilitator))
        return self._subset_of(attendees, request.facilitator)

    def _subset_of(self, attendees: Sequence[str], facilitator: str | None) -> _People:
        agent_ids = tuple(a for a in attendees if a in self._agent)
        fac_ids = tuple(a for a in attendees if a not in self._agent)
        return _People(
            attendees=tuple(attendees),
            att_agents=np.array([self._agent[a] for a in agent_ids], dtype=np.intp),
            att_agent_ids=agent_ids,
            att_facs=np.array([self._fac[a] for a in fac_ids], dtype=np.intp),
            att_fac_ids=fac_ids,
            fac_agent=self._agent.get(facilitator, -1) if facilitator else -1,
            fac_cal=self._fac.get(facilitator, -1) if facilitator else -1,
        )

    def _subset(self, people: _People, group: set[str]) -> _People:
        kept = tuple(a for a in people.attendees if a in group)
        sub = self._subset_of(kept, None)
        return _People(sub.attendees, sub.att_agents, sub.att_agent_ids, sub.att_facs, sub.att_fac_ids,
                       people.fac_agent, people.fac_cal)

    def _eligible_rooms(self, request: SlotRequest, seats: int) -> IntArray:
        rooms = self.problem.rooms
        keep = [i for i in self._room_order
                if rooms[i].capacity >= seats and request.equipment <= rooms[i].equipment
                and (request.location is None or rooms[i].location == request.location)]
        return np.array(keep, dtype=np.intp)

    def _suitable_capacity(self, request: SlotRequest) -> int:
        rooms = self.problem.rooms
        caps = [r.capacity for r in rooms if request.equipment <= r.equipment
                and (request.location is None or r.location == request.location)]
        return max(caps, default=0)

    def _sessions(self, request: SlotRequest, people: _People) -> list[_People]:
        """One group, or balanced groups small enough for the biggest suitable room."""
        extra = request.room_capacity_needed - len(request.attendees)
        per_session = self._suitable_capacity(request) - extra
        size = len(people.attendees)
        if not (request.room_needed and request.split_sessions) or per_session < 1 or size <= per_session:
            return [people]
        count = math.ceil(size / per_session)
        lo, hi = self.grid.day_span(request.window_start, request.window_end)
        # Attendees who start work at similar times go together, so each session finds a common time.
        def first_on(agent: str) -> int:
            row = self._agent.get(agent)
            if row is None:
                return hi
            on = np.flatnonzero(self.problem.states[row, lo:hi] == _WORK)
            return int(on[0]) if on.size else hi
        ordered = sorted(people.attendees, key=lambda a: (first_on(a), a))
        bounds = [round(i * size / count) for i in range(count + 1)]
        return [self._subset(people, set(ordered[bounds[i]:bounds[i + 1]])) for i in range(count)]

    def _task(self, request: SlotRequest, period: Period, session: int, people: _People) -> _Task:
        grid = self.grid
        lo, hi = grid.day_span(period.first, period.last)
        length = -(-request.duration_minutes // grid.minutes)
        seats = len(people.attendees) + (request.room_capacity_needed - len(request.attendees))
        rooms = self._eligible_rooms(request, seats) if request.room_needed else np.zeros(0, np.intp)
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
        return _Task(request, period.index, session, people, rooms, period.first, lo, hi, length, absorb,
                     np.asarray(start_ok, dtype=np.bool_))

    # ------------------------------------------------------------------ evaluation

    def _evaluate(self, task: _Task) -> _Eval:
        request, grid, d = task.request, self.grid, task.length
        lo, hi = task.lo, task.hi
        width = hi - lo
        n = max(0, width - d + 1)
        start_ok = task.start_ok

        agents = task.agents
        states = self.states[agents, lo:hi]
        avail = (states == _WORK) | (states == _BREAK) if task.absorb else states == _WORK
        people = task.people
        n_att = people.att_agents.size
        att_window = avail[:n_att].all(axis=0) & self.fac_free[people.att_facs, lo:hi].all(axis=0)
        att_ok = all_over(att_window, d)
        fac_window = np.ones(width, dtype=np.bool_)
        if people.fac_agent >= 0:
            fac_window &= avail[n_att]
        if people.fac_cal >= 0:
            fac_window &= self.fac_free[people.fac_cal, lo:hi]
        fac_ok = all_over(fac_window, d)

        by_room = np.zeros((0, n), dtype=np.bool_)
        if request.room_needed:
            by_room = all_over(self.room_free[task.rooms, lo:hi], d)
            room_any = np.asarray(by_room.any(axis=0)) if task.rooms.size else np.zeros(n, dtype=np.bool_)
            room_choice = (np.where(room_any, task.rooms[by_room.argmax(axis=0)], -1) if task.rooms.size
                           else np.full(n, -1, dtype=np.intp))
        else:
            room_any = np.ones(n, dtype=np.bool_)
            room_choice = np.full(n, -1, dtype=np.intp)

        weights = self.problem.weights[agents]
        pulled_q = weights.T @ (states == _WORK).astype(np.float64)
        gap = self.problem.required[:, lo:hi] - self.scheduled[:, lo:hi]
        added = (np.maximum(gap + pulled_q, 0.0) - np.maximum(gap, 0.0)).sum(axis=0)
        impact = sum_over(added, d)

        limit = request.params.max_added_per_interval
        limit_ok = (all_over(np.asarray(added <= limit + 1e-9), d) if limit is not None
                    else np.ones(n, dtype=np.bool_))
        share_ok = self._share_ok(task, lo, hi, d, n)

        pref = (np.abs(grid.minute[lo:lo + n] - request.preferred_minute) // grid.minutes
                if request.preferred_minute is not None else np.zeros(n, dtype=np.int64))
        key = np.rint(impact * _MILLI).astype(np.int64) * _PREF_SPAN + pref.astype(np.int64)
        return _Eval(task, start_ok, att_ok, fac_ok, room_any, room_choice, limit_ok, share_ok, impact, key,
                     states[:n_att], avail[:n_att], added, pulled_q.sum(axis=0), by_room)

    def _share_ok(self, task: _Task, lo: int, hi: int, d: int, n: int) -> NDArray[np.bool_]:
        share = task.request.params.max_team_share
        if share is None or task.agents.size == 0:
            return np.ones(n, dtype=np.bool_)
        ok = np.ones(hi - lo, dtype=np.bool_)
        teams: dict[str, int] = {}
        for row in task.agents:
            team = self.problem.agent_teams[row]
            teams[team] = teams.get(team, 0) + 1
        for team, joining in teams.items():
            members = self._team_rows[team]
            allowed = max(1, math.floor(share * members.size + 1e-9))
            away = (self.states[members, lo:hi] == _BUSY).sum(axis=0)
            ok &= away + joining <= allowed
        return all_over(ok, d)

    # ------------------------------------------------------------------ choosing

    def _choose(self, evals: list[_Eval], request: SlotRequest, split: bool, session: int) -> list[int]:
        where = f"session {session + 1}: " if split else ""
        feasible = []
        for ev in evals:
            positions = np.flatnonzero(ev.feasible)
            if positions.size == 0:
                reason, detail = self._failure(ev)
                if len(evals) > 1:
                    detail = f"occurrence {ev.task.occurrence + 1} (from {ev.task.first_day:%d %b}): {detail}"
                raise _Failure(reason, where + detail)
            feasible.append(positions)
        if len(evals) == 1:
            positions = feasible[0]
            return [int(positions[np.argmin(evals[0].key[positions])])]
        gap = request.recurrence.min_gap_days if request.recurrence else 0
        return self._chain(evals, feasible, gap, where)

    def _chain(self, evals: list[_Eval], feasible: list[IntArray], gap: int, where: str) -> list[int]:
        """Cheapest choice of one start per occurrence with consecutive ones >= ``gap`` days apart."""
        day = self.grid.day
        cost = evals[0].key[feasible[0]].astype(np.int64)
        back: list[IntArray] = []
        for i in range(1, len(evals)):
            prev_days = day[evals[i - 1].task.lo + feasible[i - 1]]
            days = day[evals[i].task.lo + feasible[i]]
            running, arg = first_min_prefix(cost)
            last_ok = np.searchsorted(prev_days, days - gap, side="right") - 1
            valid = (last_ok >= 0)
            safe = np.maximum(last_ok, 0)
            prev_best = np.where(valid, running[safe], _NO)
            cost = np.where(valid & (prev_best < _NO), evals[i].key[feasible[i]] + prev_best, _NO)
            back.append(arg[safe])
        if cost.size == 0 or int(cost.min()) >= _NO:
            raise _Failure(Reason.RECURRENCE_IMPOSSIBLE,
                           where + f"{len(evals)} occurrences cannot be kept {gap} days apart within their periods")
        chosen = [int(np.argmin(cost))]
        for i in range(len(evals) - 1, 0, -1):
            chosen.append(int(back[i - 1][chosen[-1]]))
        chosen.reverse()
        return [int(feasible[i][c]) for i, c in enumerate(chosen)]

    # ------------------------------------------------------------------ reasons and explanations

    def _failure(self, ev: _Eval) -> tuple[Reason, str]:
        task, request = ev.task, ev.task.request
        if not ev.start_ok.any():
            return Reason.OUTSIDE_WINDOW, (
                f"no {request.duration_minutes}-minute slot between {_hhmm(request.earliest_minute)} and "
                f"{_hhmm(request.latest_minute)} from {request.window_start:%d %b} to "
                f"{request.window_end:%d %b} inside the schedule data")
        if request.room_needed and task.rooms.size == 0:
            seats = len(task.people.attendees) + (request.room_capacity_needed - len(request.attendees))
            return Reason.NO_ROOM_BIG_ENOUGH, (
                f"needs {seats} seats" + (f" with {', '.join(sorted(request.equipment))}" if request.equipment
                                          else "") + f"; the largest suitable room holds "
                f"{self._suitable_capacity(request)}")
        found = ev.start_ok & ev.att_ok
        if not found.any():
            return self._attendee_failure(ev)
        found &= ev.fac_ok
        if not found.any():
            alone = (ev.start_ok & ev.fac_ok).any()
            return Reason.NO_FACILITATOR_TIME, (
                f"facilitator {self._label(request.facilitator)} is never free when the attendees are" if alone
                else f"facilitator {self._label(request.facilitator)} has no free {request.duration_minutes} minutes "
                     "in the date range")
        found &= ev.room_any
        if not found.any():
            return Reason.NO_ROOM_FREE, "no suitable room is free when the people are"
        found &= ev.limit_ok
        if not found.any():
            cheapest = float(ev.added.max()) if ev.added.size else 0.0
            return Reason.IMPACT_ABOVE_LIMIT, (
                f"every free time adds more than {request.params.max_added_per_interval:g} agents of "
                f"understaffing in some interval (up to {cheapest:.1f})")
        return Reason.TEAM_SHARE_LIMIT, (
            f"more than {request.params.max_team_share:.0%} of a team would be off the queue at once")

    def _attendee_failure(self, ev: _Eval) -> tuple[Reason, str]:
        task, d = ev.task, ev.task.length
        states = ev.att_states
        if states.shape[0] and not (all_over(states != _OFF, d) & ev.start_ok).any() \
                and not task.people.att_facs.size:
            return Reason.OUTSIDE_SHIFTS, "none of the attendees is on shift at any allowed time"
        never: list[str] = []
        for i, agent in enumerate(task.people.att_agent_ids):
            if not (all_over(ev.att_avail[i], d) & ev.start_ok).any():
                worst = _describe_states(states[i][states[i] != _WORK])
                never.append(f"{self._label(agent)} ({worst})")
        for i, person in enumerate(task.people.att_fac_ids):
            row = task.people.att_facs[i]
            if not (all_over(self.fac_free[row, task.lo:task.hi], d) & ev.start_ok).any():
                never.append(f"{self._label(person)} (busy)")
        if never:
            return Reason.ATTENDEE_UNAVAILABLE, "never available in the date range: " + _names(never)
        together = np.zeros(ev.start_ok.size, dtype=np.int64)
        for i in range(len(task.people.att_agent_ids)):
            together += all_over(ev.att_avail[i], d) & ev.start_ok
        return Reason.NO_COMMON_TIME, (f"at most {int(together.max())} of the {len(task.people.attendees)} "
                                       f"attendees are free for {task.request.duration_minutes} minutes at once")

    def _explain(self, ev: _Eval, pos: int) -> Explanation:
        task, grid, d = ev.task, self.grid, ev.task.length
        lo = task.lo
        agents = task.agents
        queues = (self.problem.weights[agents] > 0).any(axis=0) if agents.size else np.zeros(
            len(self.problem.queues), dtype=np.bool_)
        required = self.problem.required[queues, lo:task.hi].sum(axis=0)
        scheduled = self.scheduled[queues, lo:task.hi].sum(axis=0)
        intervals = tuple(
            IntervalImpact(grid.time_of(lo + w), float(required[w]), float(scheduled[w]), float(ev.pulled[w]),
                           float(ev.added[w]))
            for w in range(pos, pos + d))
        feasible = ev.feasible
        others = np.flatnonzero(feasible & (np.abs(np.arange(feasible.size) - pos) >= d))
        if others.size == 0:
            others = np.flatnonzero(feasible & (np.arange(feasible.size) != pos))
        runner_up = None
        if others.size:
            best = int(others[np.argmin(ev.key[others])])
            runner_up = Alternative(grid.time_of(lo + best), float(ev.impact[best]))
        chosen_level = ev.key[pos] // _PREF_SPAN
        # Times that only look cheap because someone is not working then (off shift, on a break, on
        # leave) are not "better-looking": only conflicts with other activities are worth explaining.
        usable = (_WORK, _BREAK, _BUSY) if task.absorb else (_WORK, _BUSY)
        on_shift = all_over(np.asarray(np.isin(ev.att_states, usable).all(axis=0)), d)
        better = np.flatnonzero(ev.start_ok & on_shift & ~feasible & (ev.key // _PREF_SPAN < chosen_level))
        ruled_out: list[Alternative] = []
        taken: list[int] = []
        for p in better[np.argsort(ev.key[better], kind="stable")]:
            if len(ruled_out) >= task.request.params.alternatives:
                break
            if any(abs(int(p) - q) < d for q in taken):
                continue
            taken.append(int(p))
            ruled_out.append(Alternative(grid.time_of(lo + int(p)), float(ev.impact[p]), self._why_not(ev, int(p))))
        return Explanation(float(ev.impact[pos]), intervals, runner_up, tuple(ruled_out), int(feasible.sum()))

    def _why_not(self, ev: _Eval, pos: int) -> tuple[str, ...]:
        task, d = ev.task, ev.task.length
        request = task.request
        window = slice(pos, pos + d)
        reasons: list[str] = []
        blocked = []
        for i, agent in enumerate(task.people.att_agent_ids):
            if not ev.att_avail[i, window].all():
                row = ev.att_states[i, window]
                blocked.append(f"{self._label(agent)} {_describe_states(row[row != _WORK])}")
        for i, person in enumerate(task.people.att_fac_ids):
            if not self.fac_free[task.people.att_facs[i], task.lo + pos:task.lo + pos + d].all():
                blocked.append(f"{self._label(person)} is busy")
        if blocked:
            reasons.append(_names(blocked))
        if not ev.fac_ok[pos]:
            reasons.append(f"facilitator {self._label(request.facilitator)} is not free")
        if request.room_needed and not ev.room_any[pos]:
            reasons.append("no suitable room is free")
        if not ev.limit_ok[pos]:
            reasons.append(f"it adds more than {request.params.max_added_per_interval:g} agents of "
                           "understaffing in one interval")
        if not ev.share_ok[pos]:
            reasons.append("too much of a team would be off the queue")
        return tuple(reasons)

    # ------------------------------------------------------------------ holding and undoing

    def _free(self, task: _Task, start: int, room: int) -> bool:
        end = start + task.length
        agents_ok = bool(np.isin(self.states[task.agents, start:end], (_WORK, _BREAK)).all())
        facs_ok = bool(self.fac_free[task.facs, start:end].all())
        room_ok = room < 0 or bool(self.room_free[room, start:end].all())
        return agents_ok and facs_ok and room_ok

    def _commit(self, task: _Task, start: int, room: int) -> _Commit:
        end = start + task.length
        agents = task.agents
        old_states = self.states[agents, start:end].copy()
        pulled = self.problem.weights[agents].T @ (old_states == _WORK).astype(np.float64)
        gap = self.problem.required[:, start:end] - self.scheduled[:, start:end]
        impact = float((np.maximum(gap + pulled, 0.0) - np.maximum(gap, 0.0)).sum())
        self.scheduled[:, start:end] -= pulled
        self.states[agents, start:end] = _BUSY
        facs = np.unique(np.concatenate([task.facs, [self._agent_fac[a] for a in agents.tolist()
                                                     if a in self._agent_fac]]).astype(np.intp))
        old_facs = self.fac_free[facs, start:end].copy()
        self.fac_free[facs, start:end] = False
        old_room = None
        if room >= 0:
            old_room = self.room_free[room, start:end].copy()
            self.room_free[room, start:end] = False
        request = task.request
        placement = Placement(
            request_id=request.id, occurrence=task.occurrence, session=task.session, start_index=start,
            length=task.length, start=self.grid.time_of(start), end=self.grid.time_of(end),
            attendees=task.people.attendees, facilitator=request.facilitator,
            room_id=self.problem.rooms[room].id if room >= 0 else None, impact=impact)
        return _Commit(placement, agents, old_states, pulled, facs, old_facs, room, old_room)

    def _undo(self, commit: _Commit) -> None:
        start, end = commit.placement.start_index, commit.placement.end_index
        self.states[commit.agents, start:end] = commit.old_states
        self.scheduled[:, start:end] += commit.pulled
        self.fac_free[commit.facs, start:end] = commit.old_facs
        if commit.old_room is not None:
            self.room_free[commit.room, start:end] = commit.old_room


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _describe_states(states: NDArray[np.int8]) -> str:
    """The most telling of the non-working states an agent is in: leave, then busy, off shift, break."""
    present = set(states.tolist())
    for state in (_ABSENT, _BUSY, _OFF, _BREAK):
        if state in present:
            return _STATE_WORDS[state]
    return "is busy"


def _names(items: list[str], shown: int = 3) -> str:
    head = ", ".join(items[:shown])
    return head + (f" and {len(items) - shown} more" if len(items) > shown else "")
