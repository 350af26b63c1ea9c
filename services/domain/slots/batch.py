"""Batch mode: place a whole list of requests at once, as many as possible, then as cheaply as possible.

1. Core: the most constrained requests (few feasible starts when nothing else is booked) are
   placed together by one exact MILP over all their feasible starts and rooms (HiGHS): as many
   as possible, each start costed as if alone (the refinement polishes the understaffing later).
   A small backtracking search (``core_milp=False``) is the older alternative; it ran out of
   nodes on contended trainings and left one out.
2. Construction: the rest, most constrained first, each at its best time given those placed.
3. Repair: a request left out is retried after ejecting the few placed requests that block one of
   its feasible times (shared people, or every suitable room taken); the ejected ones must find
   other times, or the move is undone. Improvement: each placed request is released and searched
   again (exact given the others, so added understaffing can only fall). Repeated until stable.
4. Insertion: a request still left out gets a small exact MILP over what blocks it (bookings
   sharing a person or a suitable room where it could go, and what blocks the most blocking of
   those) with itself optional: placed if the group can make room (:func:`refine.insert_group`).
5. Refinement: window by window (a week by default), every booking placed in the window is
   re-placed jointly by a small exact MILP over its cheapest starts (:mod:`refine`); kept only if
   better.

Requests split into sessions take part in construction, repair and improvement only.
Deterministic as long as no HiGHS time limit is hit (on an idle machine none is, at S to L).
"""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.domain.slots.engine import SlotEngine
from services.domain.slots.model import Outcome, SlotRequest
from services.domain.slots.recurrence import occurrence_periods
from services.domain.slots.refine import insert_group, refine_group

_EPS = 1e-6


def _size(request: SlotRequest) -> int:
    return len(occurrence_periods(request)) * request.duration_minutes * max(1, len(request.attendees))


class _Plan:
    def __init__(self, engine: SlotEngine, requests: Sequence[SlotRequest], *, counts: bool = True,
                 known: dict[str, int] | None = None) -> None:
        self.engine, self.requests = engine, list(requests)
        self.base = SlotEngine(engine.problem)  # nothing booked: what each request could do alone
        # Feasible starts of each request's most constrained occurrence when nothing else is booked;
        # 0 when it cannot be placed even alone (so it is never worth a search). ``known``: already counted.
        self.counts = dict(known) if known is not None else {
            r.id: self.base.candidate_count(r) if self.base.search(r, explain=False).placed else 0
            for r in requests} if counts else {r.id: 1 for r in requests}
        arrival = {r.id: i for i, r in enumerate(requests)}
        self.order = sorted(requests, key=lambda r: (self.counts[r.id] == 0, self.counts[r.id], -_size(r),
                                                     arrival[r.id]))
        self.outcomes: dict[str, Outcome] = {}

    def placed(self) -> list[SlotRequest]:
        return [r for r in self.order if r.id in self.engine.bookings]

    # -------------------------------------------------------------- construction

    def construct(self) -> None:
        for request in self.order:
            if request.id not in self.engine.bookings:
                self.outcomes[request.id] = self.engine.book(request, explain=False)

    def place_core(self, threshold: int, node_limit: int, *, core_milp: bool = False, core_rooms: int = 4,
                   time_limit: float = 10.0) -> None:
        """Place the most constrained requests together by a small backtracking search first."""
        core = [r for r in self.order if 0 < self.counts[r.id] <= threshold and self.engine.sessions(r) == 1]
        if not core:
            return
        if core_milp:
            # One exact MILP over every feasible start of each: as many of them as possible, cheapest.
            # The placements must be optimal; their understaffing is polished later, so each start
            # costs what it would alone, and the gap is only tight enough that one placement more or
            # less always shows (the objective is about -W * placed).
            occurrences = sum(len(occurrence_periods(r)) for r in core)
            for rid in insert_group(self.engine, [], core, missing_limit=10_000, missing_rooms=core_rooms,
                                    time_limit=time_limit, rel_gap=0.25 / max(1, occurrences),
                                    alone_cost=True):
                self.outcomes[rid] = self.engine.bookings[rid].outcome
            return
        found = _CoreSearch(self.engine, core, node_limit).run()
        for request, choices in found:
            self.outcomes[request.id] = self.engine.book_at(request, choices)

    # -------------------------------------------------------------- repair

    def repair(self, max_attempts: int) -> bool:
        changed = False
        for request in self.order:
            if request.id in self.engine.bookings or self.counts[request.id] == 0:
                continue
            retry = self.engine.book(request, explain=False)
            if retry.placed:
                self.outcomes[request.id] = retry
                changed = True
                continue
            for blockers in self._blocker_sets(request)[:max_attempts]:
                if self._eject_and_place(request, blockers):
                    changed = True
                    break
        return changed

    def _occupancy(self, request: SlotRequest, lo: int, hi: int) -> tuple[
            list[tuple[int, int, str]], dict[str, list[tuple[int, int, str]]]]:
        """Booked placements in ``[lo, hi)`` that share a person, and those in each suitable room."""
        people = set(request.attendees) | ({request.facilitator} if request.facilitator else set())
        rooms = self.base.eligible_room_ids(request)
        by_people: list[tuple[int, int, str]] = []
        by_room: dict[str, list[tuple[int, int, str]]] = {room: [] for room in rooms}
        for booking in self.engine.bookings.values():
            if booking.request.id == request.id:
                continue
            for p in booking.outcome.placements:
                if p.end_index <= lo or p.start_index >= hi:
                    continue
                if people.intersection(p.attendees) or p.facilitator in people:
                    by_people.append((p.start_index, p.end_index, booking.request.id))
                if p.room_id in by_room:
                    by_room[p.room_id].append((p.start_index, p.end_index, booking.request.id))
        return by_people, by_room

    def _blockers_at(self, request: SlotRequest, start: int, length: int, by_people: list[tuple[int, int, str]],
                     by_room: dict[str, list[tuple[int, int, str]]]) -> frozenset[str] | None:
        """Booked requests to eject so that ``request`` fits at ``start`` (None: no room could ever do)."""
        end = start + length
        found = {rid for a, b, rid in by_people if a < end and b > start}
        if request.room_needed:
            room_sets = [{rid for a, b, rid in taken if a < end and b > start}
                         for room, taken in sorted(by_room.items()) if self.base.room_free_at(room, start, end)]
            if not room_sets:
                return None
            found |= min(room_sets, key=lambda x: (len(x), sorted(x)))
        return frozenset(found)

    def _blocker_sets(self, request: SlotRequest) -> list[tuple[str, ...]]:
        """Sets of booked requests whose removal frees one of ``request``'s feasible times, smallest first."""
        starts = self.base.feasible_starts(request)
        if not starts or any(s.size == 0 for s in starts):
            return []
        length = -(-request.duration_minutes // self.engine.grid.minutes)
        lo, hi = int(min(s.min() for s in starts)), int(max(s.max() for s in starts)) + length
        by_people, by_room = self._occupancy(request, lo, hi)
        per_occurrence: list[list[frozenset[str]]] = []
        for occurrence in starts:
            options: dict[frozenset[str], int] = {}
            for s in occurrence.tolist():
                found = self._blockers_at(request, s, length, by_people, by_room)
                if found is not None:
                    options.setdefault(found, s)
            per_occurrence.append(sorted(options, key=lambda x: (len(x), sorted(x))))
        if any(not o for o in per_occurrence):
            return []
        if len(per_occurrence) == 1:
            sets = [tuple(sorted(o)) for o in per_occurrence[0] if o and len(o) <= 3]
        else:  # one cheapest option per occurrence, plus variants that change one occurrence's choice
            base = [o[0] for o in per_occurrence]
            union = frozenset().union(*base)
            sets = [tuple(sorted(union))] if union else []
            for i, ranked in enumerate(per_occurrence):
                for alt in ranked[1:3]:
                    variant = frozenset().union(*(alt if j == i else b for j, b in enumerate(base)))
                    sets.append(tuple(sorted(variant)))
            sets = [s for s in dict.fromkeys(sets) if s and len(s) <= 4]
        return sets

    def _eject_and_place(self, request: SlotRequest, blockers: tuple[str, ...]) -> bool:
        engine = self.engine
        ejected = [engine.release(rid) for rid in blockers]
        kept = [b for b in ejected if b is not None]
        placed = engine.book(request, explain=False)
        moved: list[Outcome] = []
        if placed.placed:
            for booking in sorted(kept, key=lambda b: (self.counts[b.request.id], -_size(b.request))):
                again = engine.book(booking.request, explain=False)
                if not again.placed:
                    break
                moved.append(again)
            if len(moved) == len(kept):
                self.outcomes[request.id] = placed
                for outcome in moved:
                    self.outcomes[outcome.request_id] = outcome
                return True
            for outcome in moved:
                engine.release(outcome.request_id)
            engine.release(request.id)
        for booking in kept:
            engine.restore(booking)
        return False

    def insert_missing(self, max_group: int, time_limit: float) -> bool:
        """Each request still left out: move what blocks it (one small exact MILP) so that it fits."""
        changed = False
        for request in self.order:
            if request.id in self.engine.bookings or self.counts[request.id] == 0 \
                    or self.engine.sessions(request) != 1:
                continue
            group = self._neighbourhood(request, max_group)
            if not group:
                continue
            if insert_group(self.engine, group, [request], time_limit=time_limit):
                changed = True
                for r in (*group, request):
                    self.outcomes[r.id] = self.engine.bookings[r.id].outcome
        return changed

    def _neighbourhood(self, request: SlotRequest, max_group: int) -> list[SlotRequest]:
        """What blocks ``request``, and what blocks the most blocking of those (a two-ring neighbourhood)."""
        ring = self._blocker_weights(request)
        ranked = sorted(ring, key=lambda rid: (-ring[rid], rid))
        chosen = dict.fromkeys(ranked[:max_group * 2 // 3])
        for rid in ranked[:8]:
            inner = self._blocker_weights(self.engine.bookings[rid].request)
            for other in sorted(inner, key=lambda x: (-inner[x], x))[:6]:
                if other != request.id and len(chosen) < max_group:
                    chosen.setdefault(other)
        return [self.engine.bookings[rid].request for rid in chosen]

    def _blocker_weights(self, request: SlotRequest) -> dict[str, int]:
        """Booked requests holding a person or a suitable room where ``request`` could go, by how much."""
        starts = self.base.feasible_starts(request)
        if not starts or any(s.size == 0 for s in starts):
            return {}
        length = -(-request.duration_minutes // self.engine.grid.minutes)
        covered = np.zeros(self.engine.grid.intervals + length, dtype=np.bool_)
        for s in starts:
            covered[(s[:, None] + np.arange(length)[None, :]).ravel()] = True
        lo, hi = int(min(s.min() for s in starts)), int(max(s.max() for s in starts)) + length
        by_people, by_room = self._occupancy(request, lo, hi)
        weight: dict[str, int] = {}
        for a, b, rid in by_people:  # a person is a harder block than one of several rooms
            weight[rid] = weight.get(rid, 0) + 2 * int(covered[a:b].sum())
        for taken in by_room.values():
            for a, b, rid in taken:
                weight[rid] = weight.get(rid, 0) + int(covered[a:b].sum())
        return {rid: w for rid, w in weight.items()
                if w > 0 and self.engine.sessions(self.engine.bookings[rid].request) == 1}

    # -------------------------------------------------------------- improvement

    def improve_each(self) -> bool:
        engine, changed = self.engine, False
        placed = self.placed()
        placed.sort(key=lambda r: -engine.bookings[r.id].key)
        for request in placed:
            old = engine.release(request.id)
            assert old is not None
            new = engine.book(request, explain=False)
            if not new.placed or engine.bookings[request.id].key > old.key:
                if new.placed:
                    engine.release(request.id)
                engine.restore(old)
                continue
            if engine.bookings[request.id].key < old.key:
                changed = True
            self.outcomes[request.id] = new
        return changed

    def refine_windows(self, days: int, limit: int, time_limit: float) -> bool:
        """Re-optimise, window by window of ``days`` days, every booking placed in the window (exactly)."""
        engine, changed = self.engine, False
        day = engine.grid.day
        requests = {r.id: r for r in self.order}
        for first in range(0, engine.grid.days, days):
            group = sorted(rid for rid, booking in engine.bookings.items()
                           if engine.sessions(booking.request) == 1
                           and any(first <= int(day[p.start_index]) < first + days for p in booking.outcome.placements))
            if len(group) < 2:
                continue
            if refine_group(engine, [requests[rid] for rid in group], limit=limit, time_limit=time_limit):
                changed = True
                for rid in group:
                    self.outcomes[rid] = engine.bookings[rid].outcome
        return changed

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


class _CoreSearch:
    """Backtracking over the core requests' feasible starts: fewest options first, cheapest value first.

    Conflicts between candidates (shared people at overlapping times, occurrences closer than the
    minimum gap) are precomputed; rooms are checked when a value is tried. It looks for a time for
    every core request; if the node budget runs out, it keeps the deepest partial assignment found.
    """

    def __init__(self, engine: SlotEngine, core: list[SlotRequest], node_limit: int) -> None:
        self.engine, self.core, self.node_limit = engine, core, node_limit
        problem = engine.problem
        room_index = {room.id: i for i, room in enumerate(problem.rooms)}
        self.vars: list[_Var] = []
        for r_index, request in enumerate(core):
            rooms = [room_index[x] for x in engine.eligible_room_ids(request)]
            length = -(-request.duration_minutes // engine.grid.minutes)
            for occurrence, (starts, keys) in enumerate(engine.options(request)):
                order = np.argsort(keys, kind="stable")
                ordered = starts[order]
                days = np.asarray(engine.grid.day[ordered], dtype=np.intp)
                self.vars.append(_Var(r_index, occurrence, ordered, days, length, rooms))
        people = [set(r.attendees) | ({r.facilitator} if r.facilitator else set()) for r in core]
        self.conflicts: dict[tuple[int, int], NDArray[np.bool_]] = {}
        for u, a in enumerate(self.vars):
            for v in range(u + 1, len(self.vars)):
                b = self.vars[v]
                if a.request == b.request:
                    if b.occurrence != a.occurrence + 1:
                        continue
                    rec = core[a.request].recurrence
                    gap = rec.min_gap_days if rec else 0
                    clash = (b.days[None, :] - a.days[:, None]) < gap
                elif people[a.request] & people[b.request]:
                    clash = ((a.starts[:, None] < b.starts[None, :] + b.length)
                             & (b.starts[None, :] < a.starts[:, None] + a.length))
                else:
                    continue
                if clash.any():
                    self.conflicts[(u, v)] = clash
                    self.conflicts[(v, u)] = clash.T
        self.neighbours: list[list[int]] = [[] for _ in self.vars]
        for u, v in self.conflicts:
            self.neighbours[u].append(v)
        self.room_free = problem.room_free.copy()
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
            end = start + var.length
            room = -1
            if var.rooms:
                room = next(m for row, m in enumerate(var.rooms) if self.room_ok[u][row, c])
            saved: list[tuple[int, NDArray[np.bool_]]] = []
            saved_rooms: list[tuple[int, int, NDArray[np.bool_]]] = []
            dead = False
            for v in self.neighbours[u]:
                if v in chosen:
                    continue
                saved.append((v, alive[v]))
                alive[v] = alive[v] & ~self.conflicts[(u, v)][c]
            if room >= 0:
                for v, row in self.room_users.get(room, []):
                    if v == u or v in chosen:
                        continue
                    other = self.vars[v]
                    overlap = (other.starts < end) & (other.starts + other.length > start)
                    if overlap.any():
                        saved_rooms.append((v, row, self.room_ok[v][row].copy()))
                        self.room_ok[v][row] &= ~overlap
            for v in {x for x, _ in saved} | {x for x, _, _ in saved_rooms}:
                if not (alive[v] & self.room_ok[v].any(axis=0)).any():
                    dead = True
                    break
            if not dead:
                chosen[u] = (start, room)
                self._search(alive, chosen)
                del chosen[u]
            for v, before in saved:
                alive[v] = before
            for v, row, before_row in saved_rooms:
                self.room_ok[v][row] = before_row
        self._record(chosen)


def plan_batch(engine: SlotEngine, requests: Sequence[SlotRequest], *, max_passes: int = 6,
               max_attempts: int = 12, core_threshold: int = 24, node_limit: int = 20_000,
               refine_days: int = 7, refine_limit: int = 10, refine_time_limit: float = 10.0,
               refine_rounds: int = 1, insert_group_size: int = 60, core_milp: bool = True,
               retry_core_threshold: int = 60, explain: bool = True) -> list[Outcome]:
    """Place ``requests`` on ``engine`` (which keeps them booked) and return outcomes in input order.

    If a request that could be placed alone is left out, the whole plan is made again with a
    larger core (``retry_core_threshold``: more requests placed by the exact core MILP) and the
    one placing more occurrences is kept (placements come first; the larger core costs more time
    and often a little understaffing, so it is not the default). The first plan is only refined
    if it is the one kept: refinement never changes what is placed, so the choice can be made
    before it, and the retry reuses the first plan's per-request counts.
    """
    build = functools.partial(_build, engine, requests, max_passes=max_passes, max_attempts=max_attempts,
                              node_limit=node_limit, refine_time_limit=refine_time_limit,
                              insert_group_size=insert_group_size, core_milp=core_milp)
    finish = functools.partial(_finish, refine_days=refine_days, refine_limit=refine_limit,
                               refine_time_limit=refine_time_limit, refine_rounds=refine_rounds, explain=explain)
    plan = build(core_threshold=core_threshold)
    if retry_core_threshold <= core_threshold or not any(
            r.id not in engine.bookings and plan.counts[r.id] > 0 for r in requests):
        return finish(plan)
    first = [engine.bookings[r.id] for r in requests if r.id in engine.bookings]
    for booking in first:
        engine.release(booking.request.id)
    again = build(core_threshold=retry_core_threshold, counts=plan.counts)
    if _placed_occurrences(engine, requests) > sum(len({p.occurrence for p in b.outcome.placements})
                                                   for b in first):
        return finish(again)
    for r in requests:
        engine.release(r.id)
    for booking in first:
        engine.restore(booking)
    return finish(plan)


def _placed_occurrences(engine: SlotEngine, requests: Sequence[SlotRequest]) -> int:
    return sum(len({p.occurrence for p in engine.bookings[r.id].outcome.placements})
               for r in requests if r.id in engine.bookings)


def _build(engine: SlotEngine, requests: Sequence[SlotRequest], *, max_passes: int, max_attempts: int,
           core_threshold: int, node_limit: int, refine_time_limit: float, insert_group_size: int,
           core_milp: bool, counts: dict[str, int] | None = None) -> _Plan:
    """Core, construction, repair and insertion: everything that decides what is placed."""
    plan = _Plan(engine, requests, known=counts)
    plan.place_core(core_threshold, node_limit, core_milp=core_milp, time_limit=refine_time_limit)
    plan.construct()
    for _ in range(max_passes):
        if not (plan.repair(max_attempts) | plan.improve_each()):
            break
    if insert_group_size > 0 and plan.insert_missing(insert_group_size, refine_time_limit):
        plan.improve_each()
    return plan


def _finish(plan: _Plan, *, refine_days: int, refine_limit: int, refine_time_limit: float, refine_rounds: int,
            explain: bool) -> list[Outcome]:
    """Refinement (only lowers the understaffing) and the explanations; outcomes in input order."""
    engine = plan.engine
    for _ in range(refine_rounds if refine_days > 0 else 0):  # each round re-centres the candidates
        if not plan.refine_windows(refine_days, refine_limit, refine_time_limit):
            break
        plan.improve_each()
    for request in plan.order:
        if request.id not in engine.bookings:
            continue  # construction recorded why
        if explain:
            old = engine.release(request.id)
            new = engine.book(request, explain=True)
            if not new.placed and old is not None:  # cannot happen: its old slot is free again
                engine.restore(old)
                continue
            plan.outcomes[request.id] = new
        else:
            plan.outcomes[request.id] = engine.bookings[request.id].outcome
    return [plan.outcomes[r.id] for r in plan.requests]


def improve_plan(engine: SlotEngine, requests: Sequence[SlotRequest], *, max_passes: int = 6,
                 refine_days: int = 7, refine_limit: int = 10, refine_time_limit: float = 10.0) -> None:
    """Lower the understaffing of ``requests`` (all booked on ``engine``) without unplacing any.

    Only the improvement phases run: re-searching each booking given the others, then the window
    MILPs; every step is kept only if it lowers the added understaffing.
    """
    plan = _Plan(engine, requests, counts=False)
    for _ in range(max_passes):
        if not plan.improve_each():
            break
    if refine_days > 0 and plan.refine_windows(refine_days, refine_limit, refine_time_limit):
        plan.improve_each()
