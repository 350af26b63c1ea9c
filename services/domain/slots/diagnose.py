"""The search's answers in English: why a request cannot be placed, and why its time was chosen.

Read-only over the :class:`Board` and an :class:`Evaluation`; names come through ``label``
(id -> display name), so only how the text reads depends on it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from services.domain.slots.arrays import ABSENT, BREAK, BUSY, OFF, PREF_SPAN, WORK
from services.domain.slots.board import Board
from services.domain.slots.evaluate import Evaluation, GapImpossible, NoFeasibleStart
from services.domain.slots.model import Alternative, Explanation, IntervalImpact, Reason, SlotRequest
from services.domain.slots.sliding import all_over
from services.domain.slots.tasks import SearchFailure

_STATE_WORDS = {OFF: "is off shift", BREAK: "has a break then", BUSY: "is busy", ABSENT: "is on leave"}


class Diagnosis:
    def __init__(self, board: Board, label: Callable[[str | None], str],
                 suitable_capacity: Callable[[SlotRequest], int]) -> None:
        self.board, self._label, self._suitable_capacity = board, label, suitable_capacity

    # ------------------------------------------------------------------ reasons

    def unplaced(self, error: NoFeasibleStart | GapImpossible, evals: list[Evaluation], request: SlotRequest,
                 *, split: bool, session: int) -> SearchFailure:
        """The failure :func:`evaluate.choose` ran into, as a reason and a sentence."""
        where = f"session {session + 1}: " if split else ""
        if isinstance(error, GapImpossible):
            gap = request.recurrence.min_gap_days if request.recurrence else 0
            return SearchFailure(Reason.RECURRENCE_IMPOSSIBLE, where + (
                f"{len(evals)} occurrences cannot be kept {gap} days apart within their periods"))
        ev = error.evaluation
        reason, detail = self.failure(ev)
        if len(evals) > 1:
            detail = f"occurrence {ev.task.occurrence + 1} (from {ev.task.first_day:%d %b}): {detail}"
        return SearchFailure(reason, where + detail)

    def failure(self, ev: Evaluation) -> tuple[Reason, str]:
        """The first hard constraint, in the order people think of them, that no start passes."""
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

    def _attendee_failure(self, ev: Evaluation) -> tuple[Reason, str]:
        task, d = ev.task, ev.task.length
        states = ev.att_states
        if states.shape[0] and not (all_over(states != OFF, d) & ev.start_ok).any() \
                and not task.people.att_facs.size:
            return Reason.OUTSIDE_SHIFTS, "none of the attendees is on shift at any allowed time"
        never: list[str] = []
        for i, agent in enumerate(task.people.att_agent_ids):
            if not (all_over(ev.att_avail[i], d) & ev.start_ok).any():
                worst = _describe_states(states[i][states[i] != WORK])
                never.append(f"{self._label(agent)} ({worst})")
        for i, person in enumerate(task.people.att_fac_ids):
            row = task.people.att_facs[i]
            if not (all_over(self.board.fac_free[row, task.lo:task.hi], d) & ev.start_ok).any():
                never.append(f"{self._label(person)} (busy)")
        if never:
            return Reason.ATTENDEE_UNAVAILABLE, "never available in the date range: " + _names(never)
        together = np.zeros(ev.start_ok.size, dtype=np.int64)
        for i in range(len(task.people.att_agent_ids)):
            together += all_over(ev.att_avail[i], d) & ev.start_ok
        return Reason.NO_COMMON_TIME, (f"at most {int(together.max())} of the {len(task.people.attendees)} "
                                       f"attendees are free for {task.request.duration_minutes} minutes at once")

    # ------------------------------------------------------------------ explanations

    def explain(self, ev: Evaluation, pos: int) -> Explanation:
        feasible = ev.feasible
        return Explanation(float(ev.impact[pos]), self._intervals(ev, pos), self._runner_up(ev, pos),
                           self._ruled_out(ev, pos), int(feasible.sum()))

    def _intervals(self, ev: Evaluation, pos: int) -> tuple[IntervalImpact, ...]:
        task, problem = ev.task, self.board.problem
        lo, agents = task.lo, task.agents
        queues = (problem.weights[agents] > 0).any(axis=0) if agents.size else np.zeros(
            len(problem.queues), dtype=np.bool_)
        required = problem.required[queues, lo:task.hi].sum(axis=0)
        scheduled = self.board.scheduled[queues, lo:task.hi].sum(axis=0)
        return tuple(
            IntervalImpact(problem.grid.time_of(lo + w), float(required[w]), float(scheduled[w]),
                           float(ev.pulled[w]), float(ev.added[w]))
            for w in range(pos, pos + task.length))

    def _runner_up(self, ev: Evaluation, pos: int) -> Alternative | None:
        """The cheapest other feasible time, preferably one not overlapping the chosen slot."""
        feasible, d = ev.feasible, ev.task.length
        others = np.flatnonzero(feasible & (np.abs(np.arange(feasible.size) - pos) >= d))
        if others.size == 0:
            others = np.flatnonzero(feasible & (np.arange(feasible.size) != pos))
        if not others.size:
            return None
        best = int(others[np.argmin(ev.key[others])])
        return Alternative(self.board.problem.grid.time_of(ev.task.lo + best), float(ev.impact[best]))

    def _ruled_out(self, ev: Evaluation, pos: int) -> tuple[Alternative, ...]:
        """Cheaper-looking times that a conflict rules out, cheapest first, not overlapping each other."""
        task, d = ev.task, ev.task.length
        chosen_level = ev.key[pos] // PREF_SPAN
        # Times that only look cheap because someone is not working then (off shift, on a break, on
        # leave) are not "better-looking": only conflicts with other activities are worth explaining.
        usable = (WORK, BREAK, BUSY) if task.absorb else (WORK, BUSY)
        on_shift = all_over(np.asarray(np.isin(ev.att_states, usable).all(axis=0)), d)
        better = np.flatnonzero(ev.start_ok & on_shift & ~ev.feasible & (ev.key // PREF_SPAN < chosen_level))
        ruled_out: list[Alternative] = []
        taken: list[int] = []
        for p in better[np.argsort(ev.key[better], kind="stable")]:
            if len(ruled_out) >= task.request.params.alternatives:
                break
            if any(abs(int(p) - q) < d for q in taken):
                continue
            taken.append(int(p))
            ruled_out.append(Alternative(self.board.problem.grid.time_of(task.lo + int(p)), float(ev.impact[p]),
                                         self._why_not(ev, int(p))))
        return tuple(ruled_out)

    def _why_not(self, ev: Evaluation, pos: int) -> tuple[str, ...]:
        task, d = ev.task, ev.task.length
        request = task.request
        window = slice(pos, pos + d)
        reasons: list[str] = []
        blocked = []
        for i, agent in enumerate(task.people.att_agent_ids):
            if not ev.att_avail[i, window].all():
                row = ev.att_states[i, window]
                blocked.append(f"{self._label(agent)} {_describe_states(row[row != WORK])}")
        for i, person in enumerate(task.people.att_fac_ids):
            if not self.board.fac_free[task.people.att_facs[i], task.lo + pos:task.lo + pos + d].all():
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


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _describe_states(states: NDArray[np.int8]) -> str:
    """The most telling of the non-working states an agent is in: leave, then busy, off shift, break."""
    present = set(states.tolist())
    for state in (ABSENT, BUSY, OFF, BREAK):
        if state in present:
            return _STATE_WORDS[state]
    return "is busy"


def _names(items: list[str], shown: int = 3) -> str:
    head = ", ".join(items[:shown])
    return head + (f" and {len(items) - shown} more" if len(items) > shown else "")
