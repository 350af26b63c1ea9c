"""What is booked so far: the engine's working copy of the calendars, and how to hold and undo a slot."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.domain.slots.arrays import BREAK, BUSY, WORK, IntArray
from services.domain.slots.model import Placement
from services.domain.slots.problem import SlotProblem
from services.domain.slots.tasks import Task


@dataclass(slots=True)
class Commit:
    placement: Placement
    agents: IntArray
    old_states: NDArray[np.int8]
    pulled: NDArray[np.float64]
    facs: IntArray
    old_facs: NDArray[np.bool_]
    room: int
    old_room: NDArray[np.bool_] | None


class Board:
    """The problem's calendars as they stand with the held slots (copies: the problem is never changed)."""

    def __init__(self, problem: SlotProblem, agent_fac: dict[int, int]) -> None:
        self.problem = problem
        self.states = problem.states.copy()
        self.scheduled = problem.scheduled.copy()
        self.fac_free = problem.facilitator_free.copy()
        self.room_free = problem.room_free.copy()
        # People who are both agents and facilitators are blocked in both calendars when booked.
        self._agent_fac = agent_fac

    def free(self, task: Task, start: int, room: int) -> bool:
        end = start + task.length
        agents_ok = bool(np.isin(self.states[task.agents, start:end], (WORK, BREAK)).all())
        facs_ok = bool(self.fac_free[task.facs, start:end].all())
        room_ok = room < 0 or bool(self.room_free[room, start:end].all())
        return agents_ok and facs_ok and room_ok

    def commit(self, task: Task, start: int, room: int) -> Commit:
        end = start + task.length
        agents = task.agents
        problem = self.problem
        old_states = self.states[agents, start:end].copy()
        pulled = problem.weights[agents].T @ (old_states == WORK).astype(np.float64)
        gap = problem.required[:, start:end] - self.scheduled[:, start:end]
        impact = float((np.maximum(gap + pulled, 0.0) - np.maximum(gap, 0.0)).sum())
        self.scheduled[:, start:end] -= pulled
        self.states[agents, start:end] = BUSY
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
            length=task.length, start=problem.grid.time_of(start), end=problem.grid.time_of(end),
            attendees=task.people.attendees, facilitator=request.facilitator,
            room_id=problem.rooms[room].id if room >= 0 else None, impact=impact)
        return Commit(placement, agents, old_states, pulled, facs, old_facs, room, old_room)

    def undo(self, commit: Commit) -> None:
        start, end = commit.placement.start_index, commit.placement.end_index
        self.states[commit.agents, start:end] = commit.old_states
        self.scheduled[:, start:end] += commit.pulled
        self.fac_free[commit.facs, start:end] = commit.old_facs
        if commit.old_room is not None:
            self.room_free[commit.room, start:end] = commit.old_room

    def undo_all(self, commits: list[Commit]) -> None:
        for commit in reversed(commits):
            self.undo(commit)

    def added_understaffing(self) -> float:
        """Understaffing added by everything booked, in agent-intervals (over all queues)."""
        base = np.maximum(self.problem.required - self.problem.scheduled, 0.0)
        now = np.maximum(self.problem.required - self.scheduled, 0.0)
        return float((now - base).sum())
