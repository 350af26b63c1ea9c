"""The vectorised search: every start of a task scored at once, then the cheapest choice per request.

:func:`evaluate` checks each hard constraint over all starts of a task's window (attendees on
shift and free, facilitator free, a room free and big enough, limits kept) and keys each start by
added understaffing, then distance from the preferred time. :func:`choose` picks one start per
occurrence (a small dynamic programme over days keeps a recurrence's minimum gap).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.domain.slots.arrays import BREAK, BUSY, MILLI, PREF_SPAN, WORK, IntArray
from services.domain.slots.board import Board
from services.domain.slots.sliding import all_over, first_min_prefix, sum_over
from services.domain.slots.tasks import Task

_NO = np.iinfo(np.int64).max // 4


@dataclass(slots=True)
class Evaluation:
    task: Task
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


class NoFeasibleStart(Exception):
    """An occurrence has no start where every hard constraint holds."""

    def __init__(self, evaluation: Evaluation) -> None:
        super().__init__(evaluation.task.occurrence)
        self.evaluation = evaluation


class GapImpossible(Exception):
    """Every occurrence has starts, but none keeps consecutive ones the minimum gap apart."""


def evaluate(board: Board, team_rows: dict[str, IntArray], task: Task) -> Evaluation:
    request, d = task.request, task.length
    lo, hi = task.lo, task.hi
    n = max(0, hi - lo - d + 1)
    states = board.states[task.agents, lo:hi]
    avail = (states == WORK) | (states == BREAK) if task.absorb else states == WORK
    n_att = task.people.att_agents.size
    att_ok, fac_ok = _people_ok(board, task, avail)
    by_room, room_any, room_choice = _rooms_ok(board, task, n)

    problem = board.problem
    pulled_q = problem.weights[task.agents].T @ (states == WORK).astype(np.float64)
    gap = problem.required[:, lo:hi] - board.scheduled[:, lo:hi]
    added = (np.maximum(gap + pulled_q, 0.0) - np.maximum(gap, 0.0)).sum(axis=0)
    impact = sum_over(added, d)

    limit = request.params.max_added_per_interval
    limit_ok = (all_over(np.asarray(added <= limit + 1e-9), d) if limit is not None
                else np.ones(n, dtype=np.bool_))
    share_ok = _share_ok(board, team_rows, task, n)

    grid = problem.grid
    pref = (np.abs(grid.minute[lo:lo + n] - request.preferred_minute) // grid.minutes
            if request.preferred_minute is not None else np.zeros(n, dtype=np.int64))
    key = np.rint(impact * MILLI).astype(np.int64) * PREF_SPAN + pref.astype(np.int64)
    return Evaluation(task, task.start_ok, att_ok, fac_ok, room_any, room_choice, limit_ok, share_ok, impact, key,
                      states[:n_att], avail[:n_att], added, pulled_q.sum(axis=0), by_room)


def _people_ok(board: Board, task: Task, avail: NDArray[np.bool_]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Per start: every attendee free for the whole slot; the facilitator free for it."""
    lo, hi, d, people = task.lo, task.hi, task.length, task.people
    n_att = people.att_agents.size
    att_window = np.asarray(avail[:n_att].all(axis=0) & board.fac_free[people.att_facs, lo:hi].all(axis=0))
    fac_window = np.ones(hi - lo, dtype=np.bool_)
    if people.fac_agent >= 0:
        fac_window &= avail[n_att]
    if people.fac_cal >= 0:
        fac_window &= board.fac_free[people.fac_cal, lo:hi]
    return all_over(att_window, d), all_over(fac_window, d)


def _rooms_ok(board: Board, task: Task, n: int) -> tuple[NDArray[np.bool_], NDArray[np.bool_], IntArray]:
    """Per start: which eligible rooms are free for the slot, whether any is, and the smallest free one."""
    if not task.request.room_needed:
        return np.zeros((0, n), dtype=np.bool_), np.ones(n, dtype=np.bool_), np.full(n, -1, dtype=np.intp)
    by_room = all_over(board.room_free[task.rooms, task.lo:task.hi], task.length)
    if not task.rooms.size:
        return by_room, np.zeros(n, dtype=np.bool_), np.full(n, -1, dtype=np.intp)
    room_any = np.asarray(by_room.any(axis=0))
    return by_room, room_any, np.where(room_any, task.rooms[by_room.argmax(axis=0)], -1)


def _share_ok(board: Board, team_rows: dict[str, IntArray], task: Task, n: int) -> NDArray[np.bool_]:
    share = task.request.params.max_team_share
    if share is None or task.agents.size == 0:
        return np.ones(n, dtype=np.bool_)
    lo, hi = task.lo, task.hi
    ok = np.ones(hi - lo, dtype=np.bool_)
    teams: dict[str, int] = {}
    for row in task.agents:
        team = board.problem.agent_teams[row]
        teams[team] = teams.get(team, 0) + 1
    for team, joining in teams.items():
        members = team_rows[team]
        allowed = max(1, math.floor(share * members.size + 1e-9))
        away = (board.states[members, lo:hi] == BUSY).sum(axis=0)
        ok &= away + joining <= allowed
    return all_over(ok, task.length)


def choose(evals: list[Evaluation], gap: int, day: NDArray[np.int32]) -> list[int]:
    """The cheapest start position of each occurrence; raises :class:`NoFeasibleStart`, :class:`GapImpossible`."""
    feasible = []
    for ev in evals:
        positions = np.flatnonzero(ev.feasible)
        if positions.size == 0:
            raise NoFeasibleStart(ev)
        feasible.append(positions)
    if len(evals) == 1:
        positions = feasible[0]
        return [int(positions[np.argmin(evals[0].key[positions])])]
    return _chain(evals, feasible, gap, day)


def _chain(evals: list[Evaluation], feasible: list[IntArray], gap: int, day: NDArray[np.int32]) -> list[int]:
    """Cheapest choice of one start per occurrence with consecutive ones >= ``gap`` days apart."""
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
        raise GapImpossible
    chosen = [int(np.argmin(cost))]
    for i in range(len(evals) - 1, 0, -1):
        chosen.append(int(back[i - 1][chosen[-1]]))
    chosen.reverse()
    return [int(feasible[i][c]) for i, c in enumerate(chosen)]
