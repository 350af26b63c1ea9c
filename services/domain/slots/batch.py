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
   better. A window of more than ``refine_split`` bookings (L and XL) is refined queue by queue
   first, then as a whole on a short budget. When the plan is one window refined whole (size S),
   3's ejections and 4 give way: what is left out joins that window's MILP as optional (placing
   it comes first; :meth:`BatchPlan.fold_missing`), and only what it cannot place takes the long way.

Requests split into sessions take part in construction, repair and improvement only.
Deterministic as long as no HiGHS time limit is hit (on an idle machine none is, at S to L).
"""
from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from services.domain.slots.core_search import CoreSearch
from services.domain.slots.engine import SlotEngine
from services.domain.slots.model import Outcome, SlotRequest
from services.domain.slots.recurrence import occurrence_periods
from services.domain.slots.refine import insert_group, queue_parts, refine_group

_EPS = 1e-6


def _size(request: SlotRequest) -> int:
    return len(occurrence_periods(request)) * request.duration_minutes * max(1, len(request.attendees))


class BatchPlan:
    """A batch plan in the making: the phases of :func:`plan_batch` (the improvement ones also :mod:`replan`)."""

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
        self.refined = False  # refined already (the folded insertion): nothing to refine in _finish

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
        found = CoreSearch(self.engine, core, node_limit).run()
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

    def fold_missing(self, limit: int, time_limit: float, max_group: int) -> None:
        """One window (size S): what the repair left out joins its refinement MILP, not an insertion MILP."""
        engine = self.engine
        missing = [r for r in self.order if r.id not in engine.bookings and self.counts[r.id] > 0
                   and engine.sessions(r) == 1]
        group = [r for r in self.order if r.id in engine.bookings and engine.sessions(r) == 1]
        self.refined = bool(missing) and len(group) > 1 and refine_group(
            engine, group, limit=limit, time_limit=time_limit, missing=missing)
        self.outcomes.update({r.id: engine.bookings[r.id].outcome for r in (*group, *missing)
                              if r.id in engine.bookings})
        if self.insert_missing(max_group, time_limit):  # what the window could not place: the long way
            self.improve_each()
            self.refined = False

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

    def refine_windows(self, days: int, limit: int, time_limit: float, split_above: int = 100,
                       whole_time_limit: float = 3.0) -> bool:
        """Re-optimise, window by window of ``days`` days, every booking placed in the window (exactly).

        A window of more than ``split_above`` bookings is first refined queue by queue (small
        MILPs that HiGHS solves; the whole window at L and XL ran into its limit), then as a whole
        for ``whole_time_limit`` CPU seconds for what crosses queues (shared trainers and rooms).
        """
        engine, changed = self.engine, False
        day = engine.grid.day
        requests = {r.id: r for r in self.order}
        for first in range(0, engine.grid.days, days):
            group = sorted(rid for rid, booking in engine.bookings.items()
                           if engine.sessions(booking.request) == 1
                           and any(first <= int(day[p.start_index]) < first + days for p in booking.outcome.placements))
            steps = [(group, time_limit)]
            if len(group) > split_above:
                steps = [(part, time_limit) for part in queue_parts(engine, group)] + [(group, whole_time_limit)]
            for part, budget in steps:
                if len(part) >= 2 and refine_group(engine, [requests[rid] for rid in part], limit=limit,
                                                   time_limit=budget):
                    changed = True
                    for rid in part:
                        self.outcomes[rid] = engine.bookings[rid].outcome
        return changed


def plan_batch(engine: SlotEngine, requests: Sequence[SlotRequest], *, max_passes: int = 6,
               max_attempts: int = 12, core_threshold: int = 24, node_limit: int = 20_000,
               refine_days: int = 7, refine_limit: int = 10, refine_time_limit: float = 10.0,
               refine_rounds: int = 1, refine_split: int = 100, refine_whole_time_limit: float = 3.0,
               insert_group_size: int = 60, core_milp: bool = True,
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
                               refine_time_limit=refine_time_limit, refine_rounds=refine_rounds,
                               refine_split=refine_split, refine_whole_time_limit=refine_whole_time_limit,
                               explain=explain)
    # One window refined whole (size S): fewer MILPs (S 3: 0.23 -> 0.15 CPU s; docs/benchmarks.md).
    fold = refine_days > 0 and refine_rounds > 0 and engine.grid.days <= refine_days \
        and len(requests) <= refine_split and insert_group_size > 0
    plan = build(core_threshold=core_threshold, fold=fold)
    if fold:
        plan.fold_missing(refine_limit, refine_time_limit, insert_group_size)
    if retry_core_threshold <= core_threshold or not any(
            r.id not in engine.bookings and plan.counts[r.id] > 0 for r in requests):
        return finish(plan)
    first = [engine.bookings[r.id] for r in requests if r.id in engine.bookings]
    for booking in first:
        engine.release(booking.request.id)
    again = build(core_threshold=retry_core_threshold, counts=plan.counts)  # the long way, no fold
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
           core_milp: bool, counts: dict[str, int] | None = None, fold: bool = False) -> BatchPlan:
    """Core, construction, repair and insertion: everything that decides what is placed."""
    plan = BatchPlan(engine, requests, known=counts)
    plan.place_core(core_threshold, node_limit, core_milp=core_milp, time_limit=refine_time_limit)
    plan.construct()
    for _ in range(max_passes):
        if not (plan.repair(0 if fold else max_attempts) | plan.improve_each()):
            break
    if not fold and insert_group_size > 0 and plan.insert_missing(insert_group_size, refine_time_limit):
        plan.improve_each()
    return plan


def _finish(plan: BatchPlan, *, refine_days: int, refine_limit: int, refine_time_limit: float, refine_rounds: int,
            refine_split: int, refine_whole_time_limit: float, explain: bool) -> list[Outcome]:
    """Refinement (only lowers the understaffing) and the explanations; outcomes in input order."""
    engine = plan.engine
    rounds = refine_rounds if refine_days > 0 and not plan.refined else 0
    for done in range(1, rounds + 1):  # each round re-centres the candidates
        if not plan.refine_windows(refine_days, refine_limit, refine_time_limit, refine_split,
                                   refine_whole_time_limit):
            break
        if done < rounds or not explain:  # the explaining pass below re-searches each booking anyway
            plan.improve_each()
    if plan.refined and not explain:  # refined by the folded insertion: the same re-search after it
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
