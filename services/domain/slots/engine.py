"""The slot-search engine: exhaustive, vectorised search for the least harmful time.

For one request the engine looks at every start on the grid inside the request's window and times
of day, keeps those where every hard constraint holds, and picks the one adding the least
understaffing, then the one nearest the preferred time, then the earliest. A recurring request
places all its occurrences at once. A training too big for any room is split into sessions.
Everything is all-or-nothing per request: if one occurrence or session cannot be placed, nothing
is booked and the request gets a :class:`Reason`.

The engine holds the current state (what it booked so far) and can release a booking, which is
what the batch mode's local search builds on. It never reads a clock or does I/O. Its parts:
:mod:`tasks` (a request on the grid), :mod:`evaluate` (the numpy search), :mod:`board` (holding
and undoing), :mod:`diagnose` (reasons and explanations in English).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.domain.slots.arrays import IntArray
from services.domain.slots.board import Board, Commit
from services.domain.slots.diagnose import Diagnosis
from services.domain.slots.evaluate import Evaluation, GapImpossible, NoFeasibleStart, choose, evaluate
from services.domain.slots.grid import TimeGrid
from services.domain.slots.model import Explanation, Outcome, SlotRequest
from services.domain.slots.problem import SlotProblem
from services.domain.slots.tasks import Task, TaskBuilder


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
    commits: list[Commit]


class SlotEngine:
    def __init__(self, problem: SlotProblem, names: Mapping[str, str] | None = None) -> None:
        """``names`` (id -> display name) only changes how explanations and reasons read."""
        self.problem = problem
        self._display = dict(names or {})
        self._tasks = TaskBuilder(problem, self._label)
        agent, fac = self._tasks.agent, self._tasks.fac
        self._board = Board(problem, {agent[p]: fac[p] for p in fac if p in agent})
        self._diagnosis = Diagnosis(self._board, self._label, self._tasks.suitable_capacity)
        teams: dict[str, list[int]] = {}
        for i, team in enumerate(problem.agent_teams):
            teams.setdefault(team, []).append(i)
        self._team_rows = {t: np.array(rows, dtype=np.intp) for t, rows in teams.items()}
        self._bookings: dict[str, Booking] = {}

    # ------------------------------------------------------------------ the calendars as they stand

    @property
    def grid(self) -> TimeGrid:
        return self.problem.grid

    @property
    def states(self) -> NDArray[np.int8]:
        return self._board.states

    @property
    def scheduled(self) -> NDArray[np.float64]:
        return self._board.scheduled

    @property
    def fac_free(self) -> NDArray[np.bool_]:
        return self._board.fac_free

    @property
    def room_free(self) -> NDArray[np.bool_]:
        return self._board.room_free

    @property
    def bookings(self) -> Mapping[str, Booking]:
        return self._bookings

    # ------------------------------------------------------------------ booking

    def book(self, request: SlotRequest, *, explain: bool = True) -> Outcome:
        """Search and, if every occurrence and session fits, hold the placements."""
        if request.id in self._bookings:
            raise ValueError(f"request {request.id!r} is already booked")
        prepared = self._tasks.prepare(request)
        if prepared.failure is not None:
            return Outcome(request.id, reason=prepared.failure[0], detail=prepared.failure[1])
        commits: list[Commit] = []
        explanations: list[Explanation] = []
        key = 0
        gap = request.recurrence.min_gap_days if request.recurrence else 0
        for number, tasks in enumerate(prepared.tasks):
            evals = [self._evaluate(task) for task in tasks]
            try:
                positions = choose(evals, gap, self.grid.day)
            except (NoFeasibleStart, GapImpossible) as error:
                # Described before the undo: the reasons read the calendars as the earlier sessions left them.
                failure = self._diagnosis.unplaced(error, evals, request, split=len(prepared.tasks) > 1,
                                                   session=number)
                self._board.undo_all(commits)
                return Outcome(request.id, reason=failure.reason, detail=failure.detail)
            for ev, pos in zip(evals, positions, strict=True):
                if explain:
                    explanations.append(self._diagnosis.explain(ev, pos))
                key += int(ev.key[pos])
                commits.append(self._board.commit(ev.task, ev.task.lo + pos, int(ev.room_choice[pos])))
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
            self._board.undo_all(booking.commits)
        return booking

    def restore(self, booking: Booking) -> None:
        """Hold a released booking again, at exactly the same times and rooms."""
        if booking.request.id in self._bookings:
            raise ValueError(f"request {booking.request.id!r} is already booked")
        people = self._tasks.resolve(booking.request)
        commits: list[Commit] = []
        for placement in booking.outcome.placements:
            sub = self._tasks.subset(people, set(placement.attendees))
            task = Task(booking.request, placement.occurrence, placement.session, sub, np.zeros(0, np.intp),
                        placement.start.date(), placement.start_index, placement.end_index, placement.length, True,
                        np.ones(1, dtype=np.bool_))
            room = self._tasks.room[placement.room_id] if placement.room_id is not None else -1
            if not self._board.free(task, placement.start_index, room):
                self._board.undo_all(commits)
                raise ValueError(f"cannot restore {booking.request.id!r}: its slot is taken")
            commits.append(self._board.commit(task, placement.start_index, room))
        self._bookings[booking.request.id] = Booking(booking.request, booking.outcome, booking.key, commits)

    def book_at(self, request: SlotRequest, choices: Sequence[tuple[int, str | None]]) -> Outcome:
        """Hold ``request`` at the given (start index, room) of each occurrence; ``ValueError`` if not allowed.

        Only for requests held as one session. ``room`` ``None`` takes the smallest free suitable room.
        """
        if request.id in self._bookings:
            raise ValueError(f"request {request.id!r} is already booked")
        prepared = self._tasks.prepare(request)
        if prepared.failure is not None or len(prepared.tasks) != 1 or len(choices) != len(prepared.tasks[0]):
            raise ValueError(f"request {request.id!r} cannot be booked at chosen times")
        gap = request.recurrence.min_gap_days if request.recurrence else 0
        days = [int(self.grid.day[start]) for start, _ in choices]
        if any(b - a < gap for a, b in itertools.pairwise(days)):
            raise ValueError(f"request {request.id!r}: occurrences closer than {gap} days")
        commits: list[Commit] = []
        key = 0
        for task, (start, room_id) in zip(prepared.tasks[0], choices, strict=True):
            ev = self._evaluate(task)
            pos = start - task.lo
            room = -1
            ok = 0 <= pos < ev.feasible.size and bool(ev.feasible[pos])
            if ok and request.room_needed:
                room = self._tasks.room[room_id] if room_id is not None else int(ev.room_choice[pos])
                ok = room in task.rooms.tolist() and bool(self.room_free[room, start:start + task.length].all())
            if not ok:
                self._board.undo_all(commits)
                raise ValueError(f"request {request.id!r} does not fit at interval {start}")
            key += int(ev.key[pos])
            commits.append(self._board.commit(task, start, room))
        outcome = Outcome(request.id, tuple(c.placement for c in commits))
        self._bookings[request.id] = Booking(request, outcome, key, commits)
        return outcome

    # ------------------------------------------------------------------ what could go where, now

    def options(self, request: SlotRequest) -> list[tuple[IntArray, NDArray[np.int64]]]:
        """Per occurrence (first session): feasible start indices now and their costs (lower is better)."""
        return [(ev.task.lo + positions, ev.key[positions]) for ev, positions in self._first_session(request) or []]

    def feasible_starts(self, request: SlotRequest) -> list[IntArray]:
        """Grid indices where each occurrence (first session) could start now, ignoring the gap rule."""
        return [ev.task.lo + positions for ev, positions in self._first_session(request) or []]

    def candidates(self, request: SlotRequest, limit: int, rooms_per_start: int,
                   keep: Mapping[int, int] | None = None) -> list[Candidates] | None:
        """The ``limit`` cheapest feasible starts of each occurrence now, with free suitable rooms.

        ``None`` for a request that is split into sessions or cannot be searched at all.
        """
        occurrences = self._first_session(request, one_session=True)
        if occurrences is None:
            return None
        out = []
        for ev, feasible in occurrences:
            task = ev.task
            positions = feasible[np.argsort(ev.key[feasible], kind="stable")[:limit]]
            wanted = (keep or {}).get(task.occurrence)
            if wanted is not None and 0 <= wanted - task.lo < ev.feasible.size and ev.feasible[wanted - task.lo]:
                positions = np.union1d(positions, [wanted - task.lo])  # the current slot stays a choice
            rooms: list[tuple[int, ...]] = []
            for pos in positions.tolist():
                free = task.rooms[ev.by_room[:, pos]] if task.rooms.size else np.zeros(0, np.intp)
                rooms.append(tuple(int(m) for m in free[:rooms_per_start]) if request.room_needed else (-1,))
            out.append(Candidates(task.occurrence, task.lo + positions, ev.key[positions], rooms, task.length,
                                  task.agents, task.facs))
        return out

    def candidate_count(self, request: SlotRequest) -> int:
        """Feasible starts of the most constrained occurrence now (0 if it cannot be placed)."""
        return min((int(s.size) for s in self.feasible_starts(request)), default=0)

    def sessions(self, request: SlotRequest) -> int:
        return len(self._tasks.prepare(request).tasks)

    def eligible_room_ids(self, request: SlotRequest) -> list[str]:
        """Rooms big and equipped enough for the whole request (empty when no room is needed)."""
        if not request.room_needed:
            return []
        return [self.problem.rooms[i].id for i in self._tasks.eligible_rooms(request, request.room_capacity_needed)]

    def room_free_at(self, room_id: str, start: int, end: int) -> bool:
        return bool(self.room_free[self._tasks.room[room_id], start:end].all())

    def added_understaffing(self) -> float:
        """Understaffing added by everything booked, in agent-intervals (over all queues)."""
        return self._board.added_understaffing()

    # ------------------------------------------------------------------ helpers

    def _first_session(self, request: SlotRequest, *,
                       one_session: bool = False) -> list[tuple[Evaluation, IntArray]] | None:
        """Each occurrence of the first session evaluated now, with its feasible positions.

        ``None`` if the request cannot be searched (or, with ``one_session``, is split into sessions).
        """
        prepared = self._tasks.prepare(request)
        if prepared.failure is not None or (one_session and len(prepared.tasks) != 1):
            return None
        evals = (self._evaluate(task) for task in prepared.tasks[0])
        return [(ev, np.flatnonzero(ev.feasible)) for ev in evals]

    def _evaluate(self, task: Task) -> Evaluation:
        return evaluate(self._board, self._team_rows, task)

    def _label(self, person: str | None) -> str:
        return self._display.get(person or "", person or "")
