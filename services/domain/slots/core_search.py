"""The batch core's older alternative: backtracking over the most constrained requests' starts.

Used by :func:`batch.plan_batch` with ``core_milp=False`` (the default core is one exact MILP).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.domain.slots.engine import SlotEngine
from services.domain.slots.model import SlotRequest


@dataclass
class _Var:
    request: int  # index into the core list
    occurrence: int
    starts: NDArray[np.intp]  # cheapest first
    days: NDArray[np.intp]
    length: int
    rooms: list[int]


class _Stop(Exception):
    pass


class CoreSearch:
    """Backtracking over the core requests' feasible starts: fewest options first, cheapest value first.

    Conflicts between candidates (shared people at overlapping times, occurrences closer than the
    minimum gap) are precomputed; rooms are checked when a value is tried. It looks for a time for
    every core request; if the node budget runs out, it keeps the deepest partial assignment found.
    """

    def __init__(self, engine: SlotEngine, core: list[SlotRequest], node_limit: int) -> None:
        self.engine, self.core, self.node_limit = engine, core, node_limit
        self.vars = self._variables()
        self.conflicts = self._conflicts()
        self.neighbours: list[list[int]] = [[] for _ in self.vars]
        for u, v in self.conflicts:
            self.neighbours[u].append(v)
        self.room_free = engine.problem.room_free.copy()
        # Per var: which of its candidates each of its rooms could take (rooms are forward-checked too).
        self.room_ok: list[NDArray[np.bool_]] = []
        self.room_users: dict[int, list[tuple[int, int]]] = {}  # room -> (var, row in that var's room_ok)
        for u, var in enumerate(self.vars):
            if not var.rooms:
                self.room_ok.append(np.ones((1, var.starts.size), dtype=np.bool_))
                continue
            ok = np.array([[bool(self.room_free[m, s:s + var.length].all()) for s in var.starts.tolist()]
                           for m in var.rooms], dtype=np.bool_).reshape(len(var.rooms), var.starts.size)
            self.room_ok.append(ok)
            for row, m in enumerate(var.rooms):
                self.room_users.setdefault(m, []).append((u, row))
        self.nodes = 0
        self.best: list[tuple[int, int, int]] = []  # (var, start, room) of the best partial

    def _variables(self) -> list[_Var]:
        """One variable per occurrence of each core request, its feasible starts cheapest first."""
        engine = self.engine
        room_index = {room.id: i for i, room in enumerate(engine.problem.rooms)}
        out: list[_Var] = []
        for r_index, request in enumerate(self.core):
            rooms = [room_index[x] for x in engine.eligible_room_ids(request)]
            length = -(-request.duration_minutes // engine.grid.minutes)
            for occurrence, (starts, keys) in enumerate(engine.options(request)):
                order = np.argsort(keys, kind="stable")
                ordered = starts[order]
                days = np.asarray(engine.grid.day[ordered], dtype=np.intp)
                out.append(_Var(r_index, occurrence, ordered, days, length, rooms))
        return out

    def _conflicts(self) -> dict[tuple[int, int], NDArray[np.bool_]]:
        """(u, v) -> which pairs of their candidates cannot both be chosen (both directions stored)."""
        people = [set(r.attendees) | ({r.facilitator} if r.facilitator else set()) for r in self.core]
        conflicts: dict[tuple[int, int], NDArray[np.bool_]] = {}
        for u, a in enumerate(self.vars):
            for v in range(u + 1, len(self.vars)):
                b = self.vars[v]
                if a.request == b.request:
                    if b.occurrence != a.occurrence + 1:
                        continue
                    rec = self.core[a.request].recurrence
                    gap = rec.min_gap_days if rec else 0
                    clash = (b.days[None, :] - a.days[:, None]) < gap
                elif people[a.request] & people[b.request]:
                    clash = ((a.starts[:, None] < b.starts[None, :] + b.length)
                             & (b.starts[None, :] < a.starts[:, None] + a.length))
                else:
                    continue
                if clash.any():
                    conflicts[(u, v)] = clash
                    conflicts[(v, u)] = clash.T
        return conflicts

    def run(self) -> list[tuple[SlotRequest, list[tuple[int, str | None]]]]:
        alive = [np.ones(v.starts.size, dtype=np.bool_) for v in self.vars]
        chosen: dict[int, tuple[int, int]] = {}
        with contextlib.suppress(_Stop):
            self._search(alive, chosen)
        by_request: dict[int, dict[int, tuple[int, int]]] = {}
        for var_index, start, room in self.best:
            var = self.vars[var_index]
            by_request.setdefault(var.request, {})[var.occurrence] = (start, room)
        out = []
        rooms = self.engine.problem.rooms
        for r_index, occurrences in sorted(by_request.items()):
            expected = sum(1 for v in self.vars if v.request == r_index)
            if len(occurrences) != expected:
                continue  # a recurring request only partly placed: leave it to the other phases
            out.append((self.core[r_index], [(s, rooms[m].id if m >= 0 else None)
                                             for _, (s, m) in sorted(occurrences.items())]))
        return out

    def _record(self, chosen: dict[int, tuple[int, int]]) -> None:
        if len(chosen) > len(self.best):
            self.best = [(u, s, m) for u, (s, m) in chosen.items()]

    def _search(self, alive: list[NDArray[np.bool_]], chosen: dict[int, tuple[int, int]]) -> None:
        self.nodes += 1
        if self.nodes > self.node_limit:
            raise _Stop
        free = [u for u in range(len(self.vars)) if u not in chosen]
        if not free:
            self._record(chosen)
            raise _Stop  # everything placed
        u = min(free, key=lambda x: (int(alive[x].sum()), x))
        var = self.vars[u]
        for c in np.flatnonzero(alive[u] & self.room_ok[u].any(axis=0)).tolist():
            start = int(var.starts[c])
            room = -1
            if var.rooms:
                room = next(m for row, m in enumerate(var.rooms) if self.room_ok[u][row, c])
            saved, saved_rooms = self._forward_check(u, c, start, room, alive, chosen)
            touched = {x for x, _ in saved} | {x for x, _, _ in saved_rooms}
            if all((alive[v] & self.room_ok[v].any(axis=0)).any() for v in touched):
                chosen[u] = (start, room)
                self._search(alive, chosen)
                del chosen[u]
            for v, before in saved:
                alive[v] = before
            for v, row, before_row in saved_rooms:
                self.room_ok[v][row] = before_row
        self._record(chosen)

    def _forward_check(self, u: int, c: int, start: int, room: int, alive: list[NDArray[np.bool_]],
                       chosen: dict[int, tuple[int, int]]) -> tuple[
            list[tuple[int, NDArray[np.bool_]]], list[tuple[int, int, NDArray[np.bool_]]]]:
        """Strike what choosing candidate ``c`` of ``u`` rules out; returns what to put back."""
        saved: list[tuple[int, NDArray[np.bool_]]] = []
        saved_rooms: list[tuple[int, int, NDArray[np.bool_]]] = []
        for v in self.neighbours[u]:
            if v in chosen:
                continue
            saved.append((v, alive[v]))
            alive[v] = alive[v] & ~self.conflicts[(u, v)][c]
        if room >= 0:
            end = start + self.vars[u].length
            for v, row in self.room_users.get(room, []):
                if v == u or v in chosen:
                    continue
                other = self.vars[v]
                overlap = (other.starts < end) & (other.starts + other.length > start)
                if overlap.any():
                    saved_rooms.append((v, row, self.room_ok[v][row].copy()))
                    self.room_ok[v][row] &= ~overlap
        return saved, saved_rooms
