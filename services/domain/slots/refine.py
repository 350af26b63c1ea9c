"""Exact re-optimisation of a small group of bookings (large-neighbourhood search with HiGHS).

The group's requests are released; each may go to any of its cheapest feasible starts (the
others stay where they are); one small MILP picks the starts and rooms that add the least
understaffing together, with the same hard constraints as the engine (no person or room used
twice, minimum gaps between occurrences). The result replaces the group only if it is better.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from services.domain.slots.arrays import MILLI, PREF_SPAN
from services.domain.slots.engine import Booking, Candidates, SlotEngine
from services.domain.slots.highs import solve_milp
from services.domain.slots.model import SlotRequest
from services.domain.slots.refine_staffing import Col, one_request_rows, staffing_terms

_EPS = 1e-6
REL_GAP = 1e-3  # the refinement polishes understaffing; 0.1 % of a window is noise next to the 1 % target


def refine_group(engine: SlotEngine, requests: Sequence[SlotRequest], *, limit: int = 40,
                 rooms_per_start: int = 3, time_limit: float = 2.0, missing: Sequence[SlotRequest] = (),
                 missing_limit: int = 400) -> bool:
    """Re-place ``requests`` (all booked on ``engine``) jointly and optimally among their cheapest starts.

    ``missing`` (not booked) may be placed too, any of their feasible starts and rooms, one placed
    occurrence outweighing any understaffing: the insertion folded into the refinement, one MILP
    where a separate insertion would solve much of the same window again. The current plan (none of
    them placed) stays the start and cutoff. True if more is placed or the understaffing fell."""
    before = engine.added_understaffing()
    released: list[Booking] = [b for b in (engine.release(r.id) for r in requests) if b is not None]
    current = {b.request.id: {p.occurrence: p.start_index for p in b.outcome.placements} for b in released}
    rooms = {b.request.id: {p.occurrence: p.room_id for p in b.outcome.placements} for b in released}
    every = [*requests, *missing]
    optional = set(range(len(requests), len(every)))
    choices = _solve(engine, every, current, [limit] * len(requests) + [missing_limit] * len(missing),
                     [rooms_per_start] * len(requests) + [len(engine.problem.rooms)] * len(missing), time_limit,
                     optional, held_rooms=rooms)
    if choices is not None:
        booked: list[str] = []
        try:
            for request, picked in zip(every, choices, strict=True):
                if picked:
                    engine.book_at(request, picked)
                    booked.append(request.id)
        except ValueError:
            pass
        if len(booked) == len(every) - sum(1 for i in optional if not choices[i]) and (
                len(booked) > len(requests) or engine.added_understaffing() < before - _EPS):
            return True
        for rid in booked:
            engine.release(rid)
    for booking in released:
        engine.restore(booking)
    return False


def queue_parts(engine: SlotEngine, group: Sequence[str]) -> list[list[str]]:
    """Booked request ids by the queue their attendees work most (no attendee: a part of their own)."""
    row = {a: i for i, a in enumerate(engine.problem.agent_ids)}
    parts: dict[int, list[str]] = {}
    for rid in group:
        rows = [row[a] for a in engine.bookings[rid].request.attendees if a in row]
        q = int(np.argmax(engine.problem.weights[rows].sum(axis=0))) if rows else -1
        parts.setdefault(q, []).append(rid)
    return [parts[q] for q in sorted(parts)]


def insert_group(engine: SlotEngine, booked: Sequence[SlotRequest], missing: Sequence[SlotRequest], *,
                 limit: int = 20, missing_limit: int = 400, rooms_per_start: int = 3,
                 missing_rooms: int | None = None, time_limit: float = 2.0, rel_gap: float | None = None,
                 alone_cost: bool = False) -> list[str]:
    """Place as many of ``missing`` as possible by moving ``booked`` (all booked on ``engine``) jointly.

    Every booked request stays placed (at one of its cheapest starts or where it is); the missing
    ones may each go to any of their feasible starts. More placed beats less understaffing. Returns
    the ids of the missing requests now booked (nothing changes when none could be).
    """
    released: list[Booking] = [b for b in (engine.release(r.id) for r in booked) if b is not None]
    current = {b.request.id: {p.occurrence: p.start_index for p in b.outcome.placements} for b in released}
    optional = {len(booked) + i for i in range(len(missing))}
    requests = [*booked, *missing]
    limits = [limit] * len(booked) + [missing_limit] * len(missing)
    rooms = [rooms_per_start] * len(booked) + [missing_rooms or len(engine.problem.rooms)] * len(missing)
    choices = _solve(engine, requests, current, limits, rooms, time_limit, optional, rel_gap, alone_cost)
    if choices is not None and any(choices[i] for i in optional):
        booked_now: list[str] = []
        try:
            for request, picked in zip(requests, choices, strict=True):
                if picked:
                    engine.book_at(request, picked)
                    booked_now.append(request.id)
        except ValueError:
            pass
        else:
            return [r.id for i, r in enumerate(requests) if i in optional and choices[i]]
        for rid in booked_now:
            engine.release(rid)
    for booking in released:
        engine.restore(booking)
    return []


@dataclass(frozen=True, slots=True)
class _Columns:
    cols: list[Col]
    alone: list[float]  # each column's added understaffing if nothing else moved
    per_request: list[list[Candidates]]  # [] for an optional request that cannot be placed


def _solve(engine: SlotEngine, requests: Sequence[SlotRequest], current: dict[str, dict[int, int]],
           limit: int | Sequence[int], rooms_per_start: int | Sequence[int], time_limit: float,
           optional: set[int] | None = None, rel_gap: float | None = None, alone_cost: bool = False,
           held_rooms: dict[str, dict[int, str | None]] | None = None) -> list[list[tuple[int, str | None]]] | None:
    """Starts and rooms per request (``[]`` for an ``optional`` request left out), or None if unsolved.

    With ``held_rooms`` (every request's current rooms; ``current`` has its starts) the solver starts
    from the current plan."""
    optional = optional or set()
    limits = [limit] * len(requests) if isinstance(limit, int) else list(limit)
    room_counts = [rooms_per_start] * len(requests) if isinstance(rooms_per_start, int) else list(rooms_per_start)
    columns = _columns(engine, requests, current, limits, room_counts, optional, held_rooms)
    if columns is None:
        return None
    cols, per_request = columns.cols, columns.per_request
    n = len(cols)
    conflict = _conflicts(engine, columns)
    staffing = staffing_terms(engine, cols, [[o.agents for o in p] for p in per_request], columns.alone,
                              alone_cost)
    m = staffing.m
    once, link, once_lo, chosen_opt = _occurrence_rows(cols, per_request, optional)
    n_opt = len(chosen_opt)
    blocks = [sp.hstack([once, link, sp.csr_matrix((once.shape[0], m))]),
              sp.hstack([conflict, sp.csr_matrix((conflict.shape[0], n_opt + m))]),
              sp.hstack([staffing.pull, sp.csr_matrix((m, n_opt)), sp.identity(m)])]
    lower = [once_lo, np.full(conflict.shape[0], -np.inf), staffing.kink_gap]
    upper = [once_lo, np.ones(conflict.shape[0]), np.full(m, np.inf)]
    one_pull = one_request_rows(staffing, cols)
    if one_pull is not None:
        blocks.append(sp.hstack([one_pull[0], sp.csr_matrix((one_pull[0].shape[0], n_opt)), one_pull[1]]))
        lower.append(np.zeros(one_pull[0].shape[0]))
        upper.append(np.full(one_pull[0].shape[0], np.inf))
    gap_rows = _gap_rows(engine, requests, cols)
    if gap_rows is not None:
        blocks.append(sp.hstack([gap_rows, sp.csr_matrix((gap_rows.shape[0], n_opt + m))]))
        lower.append(np.full(gap_rows.shape[0], -np.inf))
        upper.append(np.ones(gap_rows.shape[0]))
    pref = np.array([c[5] for c in cols], dtype=np.float64)
    # One more placed occurrence outweighs any understaffing the whole group could add.
    weight = 1.0 + float(staffing.column_cost.sum()) \
        + float(np.maximum(staffing.kink_gap + staffing.kink_most, 0).sum()) + 1e-4 * float(pref.sum())
    placed_gain = np.array([-weight * len(per_request[r]) for r in chosen_opt])
    cost = np.concatenate([staffing.column_cost + 1e-4 * pref, placed_gain, np.ones(m)])
    start = None
    if held_rooms is not None:  # the optional requests left out (y = 0) in the start
        start = _start(engine, requests, cols, current, held_rooms, staffing.pull, staffing.kink_gap, n_opt)
    matrix, col_upper = sp.vstack(blocks).tocsr(), np.concatenate([np.ones(n + n_opt), np.full(m, np.inf)])
    gap_option = REL_GAP if rel_gap is None else rel_gap
    # CPU seconds, not wall-clock (services.domain.slots.highs); with the current plan's objective
    # as a cutoff when there is one (refinement): HiGHS then prunes against it from the first node.
    x = solve_milp(cost, matrix, np.concatenate(lower), np.concatenate(upper), col_upper,
                   np.concatenate([np.ones(n + n_opt, np.bool_), np.zeros(m, np.bool_)]),
                   time_limit=time_limit, rel_gap=gap_option, start=start)
    if x is None:
        return None
    return _read(engine, x[:n], cols, per_request, optional)


def _columns(engine: SlotEngine, requests: Sequence[SlotRequest], current: dict[str, dict[int, int]],
             limits: list[int], room_counts: list[int], optional: set[int],
             held_rooms: dict[str, dict[int, str | None]] | None = None) -> _Columns | None:
    """One column per (request, occurrence, start, room) candidate; None if a request cannot take part.

    The current (start, room) of each occurrence in ``held_rooms`` is always a column, so that the
    current plan is a solution of the model (its objective is the cutoff): with many rooms the held
    one is often not among the first ``room_counts`` free ones (at XL no window had one without this)."""
    room_index = {room.id: i for i, room in enumerate(engine.problem.rooms)}
    cols: list[Col] = []
    alone: list[float] = []
    per_request: list[list[Candidates]] = []
    for r_index, request in enumerate(requests):
        options = engine.candidates(request, limits[r_index], room_counts[r_index], current.get(request.id))
        if options is None or any(o.starts.size == 0 for o in options):
            if r_index in optional:  # cannot be placed even with the group moved: leave it out
                per_request.append([])
                continue
            return None
        per_request.append(options)
        for option in options:
            starts = option.starts.tolist()
            keep = current.get(request.id, {}).get(option.occurrence)
            if keep is not None and keep not in starts:
                return None  # its current slot is always feasible once released; be safe
            held = (held_rooms or {}).get(request.id, {}).get(option.occurrence)
            for i, start in enumerate(starts):
                choices = option.rooms[i]
                if start == keep and held is not None and room_index[held] not in choices:
                    choices = (*choices, room_index[held])
                for room in choices:
                    cols.append((r_index, option.occurrence, start, option.length, room,
                                 int(option.keys[i] % PREF_SPAN)))
                    alone.append(int(option.keys[i] // PREF_SPAN) / MILLI)
    if not cols:
        return None
    return _Columns(cols, alone, per_request)


def _conflicts(engine: SlotEngine, columns: _Columns) -> sp.csr_matrix:
    """Which resource-intervals each column occupies; rows only where two requests compete."""
    problem, cols, per_request = engine.problem, columns.cols, columns.per_request
    T = engine.grid.intervals
    n, n_agents, n_facs = len(cols), len(problem.agent_ids), len(problem.facilitator_ids)
    keys, sizes = [], []
    # Columns of one occurrence are consecutive (``_columns``) and share its people: their keys are
    # built together, row by row in column order (the per-column loop this replaces cost a tenth of a
    # size-S batch); a column's keys are its people's intervals, then its room's.
    table = np.array([c[:5] for c in cols], dtype=np.int64)
    for lo, hi in _runs(table):
        r, occ, d = int(table[lo, 0]), int(table[lo, 1]), int(table[lo, 3])
        option = per_request[r][occ]
        people = np.concatenate([option.agents, n_agents + option.facilitators]).astype(np.int64)
        span = table[lo:hi, 2][:, None] + np.arange(d, dtype=np.int64)[None, :]
        block = (people[None, :, None] * T + span[:, None, :]).reshape(hi - lo, people.size * d)
        room = table[lo:hi, 4]
        if room[0] >= 0:  # a run has rooms for all its columns or for none (``_runs``)
            block = np.hstack([block, (n_agents + n_facs + room)[:, None] * T + span])
        keys.append(block.ravel())
        sizes.append(np.full(hi - lo, block.shape[1], dtype=np.int64))
    owner_of = table[:, 0]
    kv = np.concatenate(keys)
    sizes_all = np.concatenate(sizes)
    kr = np.repeat(owner_of, sizes_all)
    kc = np.repeat(np.arange(n, dtype=np.int64), sizes_all)
    order = np.lexsort((kr, kv))
    kv, kr, kc = kv[order], kr[order], kc[order]
    uniq, first = np.unique(kv, return_index=True)
    contested = uniq[np.minimum.reduceat(kr, first) != np.maximum.reduceat(kr, first)]
    mask = np.isin(kv, contested)
    conflict = sp.csr_matrix((np.ones(int(mask.sum())), (np.searchsorted(contested, kv[mask]), kc[mask])),
                             shape=(contested.size, n))
    # Many resource-intervals are contested by exactly the same columns: keep one row of each.
    fingerprint = conflict @ np.random.default_rng(0).random(n)
    return conflict[np.sort(np.unique(np.round(fingerprint, 9), return_index=True)[1])]


def _runs(table: NDArray[np.int64]) -> list[tuple[int, int]]:
    """``[lo, hi)`` ranges of consecutive rows with the same (request, occurrence) and room or none."""
    key = np.stack([table[:, 0], table[:, 1], table[:, 4] >= 0], axis=1)
    change = np.flatnonzero((np.diff(key, axis=0) != 0).any(axis=1)) + 1
    bounds = [0, *change.tolist(), table.shape[0]]
    return list(itertools.pairwise(bounds))


def _occurrence_rows(cols: list[Col], per_request: list[list[Candidates]], optional: set[int]) -> tuple[
        sp.csr_matrix, sp.csr_matrix, NDArray[np.float64], list[int]]:
    """Each occurrence exactly once; an optional request's occurrences all or none (y = placed)."""
    n = len(cols)
    occ_ids = sorted({(c[0], c[1]) for c in cols})
    occ_row = {key: i for i, key in enumerate(occ_ids)}
    once = sp.csr_matrix((np.ones(n), ([occ_row[(c[0], c[1])] for c in cols], np.arange(n))), shape=(len(occ_ids), n))
    chosen_opt = sorted(r for r in optional if per_request[r])
    y_of = {r: i for i, r in enumerate(chosen_opt)}
    y_rows = [i for i, (r, _o) in enumerate(occ_ids) if r in y_of]
    link = sp.csr_matrix((-np.ones(len(y_rows)), (y_rows, [y_of[occ_ids[i][0]] for i in y_rows])),
                         shape=(len(occ_ids), len(chosen_opt)))
    once_lo = np.array([0.0 if r in y_of else 1.0 for r, _o in occ_ids])
    return once, link, once_lo, chosen_opt


def _read(engine: SlotEngine, x: NDArray[np.float64], cols: list[Col], per_request: list[list[Candidates]],
          optional: set[int]) -> list[list[tuple[int, str | None]]] | None:
    """The chosen (start, room) of each request's occurrences; None if the solution left one half-placed."""
    out: list[dict[int, tuple[int, str | None]]] = [{} for _ in per_request]
    for j in np.flatnonzero(x > 0.5).tolist():
        r, occ, s, _d, room, _ = cols[j]
        out[r][occ] = (s, engine.problem.rooms[room].id if room >= 0 else None)
    if any(len(o) != len(per_request[i]) and not (i in optional and not o) for i, o in enumerate(out)):
        return None
    return [[o[occ] for occ in sorted(o)] for o in out]


def _start(engine: SlotEngine, requests: Sequence[SlotRequest], cols: list[Col],
           current: dict[str, dict[int, int]], held_rooms: dict[str, dict[int, str | None]], pull: sp.csr_matrix,
           kink_gap: NDArray[np.float64], n_opt: int = 0) -> NDArray[np.float64] | None:
    """The current plan as a solution of the model (None if one of its slots is not a column)."""
    room_index = {room.id: i for i, room in enumerate(engine.problem.rooms)}
    where = {(r, occ, s, room): j for j, (r, occ, s, _d, room, _) in enumerate(cols)}
    x = np.zeros(len(cols))
    for r, request in enumerate(requests):
        for occ, s in current.get(request.id, {}).items():
            room_id = held_rooms.get(request.id, {}).get(occ)
            j = where.get((r, occ, s, room_index[room_id] if room_id is not None else -1))
            if j is None:
                return None
            x[j] = 1.0
    # Understaffing variables at their least: u >= gap + pulled, u >= 0.
    return np.concatenate([x, np.zeros(n_opt), np.maximum(kink_gap - pull @ x, 0.0)])


def _gap_rows(engine: SlotEngine, requests: Sequence[SlotRequest],
              cols: list[Col]) -> sp.csr_matrix | None:
    """Consecutive occurrences at least ``min_gap_days`` apart: one row per day boundary."""
    day = engine.grid.day
    rows_r: list[int] = []
    rows_c: list[int] = []
    count = 0
    by_occ: dict[tuple[int, int], list[int]] = {}
    for j, c in enumerate(cols):
        by_occ.setdefault((c[0], c[1]), []).append(j)
    for r, request in enumerate(requests):
        gap = request.recurrence.min_gap_days if request.recurrence else 0
        if gap <= 0:
            continue
        occs = sorted(o for (rr, o) in by_occ if rr == r)
        for a, b in itertools.pairwise(occs):
            first, second = by_occ[(r, a)], by_occ[(r, b)]
            for d in sorted({int(day[cols[j][2]]) for j in first}):
                left = [j for j in first if int(day[cols[j][2]]) >= d]
                right = [j for j in second if int(day[cols[j][2]]) < d + gap]
                if right:
                    rows_r.extend([count] * (len(left) + len(right)))
                    rows_c.extend(left + right)
                    count += 1
    if not count:
        return None
    return sp.csr_matrix((np.ones(len(rows_c)), (rows_r, rows_c)), shape=(count, len(cols)))
