"""Exact re-optimisation of a small group of bookings (large-neighbourhood search with HiGHS).

The group's requests are released; each may go to any of its cheapest feasible starts (the
others stay where they are); one small MILP picks the starts and rooms that add the least
understaffing together, with the same hard constraints as the engine (no person or room used
twice, minimum gaps between occurrences). The result replaces the group only if it is better.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, milp

from services.domain.slots.engine import _PREF_SPAN, Booking, Candidates, SlotEngine
from services.domain.slots.model import SlotRequest, SlotState

_WORK = int(SlotState.WORK)
_EPS = 1e-6
REL_GAP = 1e-6


def refine_group(engine: SlotEngine, requests: Sequence[SlotRequest], *, limit: int = 40,
                 rooms_per_start: int = 3, time_limit: float = 2.0) -> bool:
    """Re-place ``requests`` (all booked on ``engine``) jointly and optimally among their cheapest starts."""
    before = engine.added_understaffing()
    released: list[Booking] = [b for b in (engine.release(r.id) for r in requests) if b is not None]
    current = {b.request.id: {p.occurrence: p.start_index for p in b.outcome.placements} for b in released}
    choices = _solve(engine, requests, current, limit, rooms_per_start, time_limit)
    if choices is not None:
        booked: list[str] = []
        try:
            for request, picked in zip(requests, choices, strict=True):
                engine.book_at(request, picked)
                booked.append(request.id)
        except ValueError:
            pass
        if len(booked) == len(requests) and engine.added_understaffing() < before - _EPS:
            return True
        for rid in booked:
            engine.release(rid)
    for booking in released:
        engine.restore(booking)
    return False


def _solve(engine: SlotEngine, requests: Sequence[SlotRequest], current: dict[str, dict[int, int]], limit: int,
           rooms_per_start: int, time_limit: float) -> list[list[tuple[int, str | None]]] | None:
    problem = engine.problem
    T = engine.grid.intervals
    n_agents, n_facs = len(problem.agent_ids), len(problem.facilitator_ids)
    cols: list[tuple[int, int, int, int, int, int]] = []  # request, occurrence, start, length, room, pref
    per_request: list[list[Candidates]] = []
    for r_index, request in enumerate(requests):
        options = engine.candidates(request, limit, rooms_per_start, current.get(request.id))
        if options is None or any(o.starts.size == 0 for o in options):
            return None
        per_request.append(options)
        for option in options:
            starts = option.starts.tolist()
            keep = current.get(request.id, {}).get(option.occurrence)
            if keep is not None and keep not in starts:
                return None  # its current slot is always feasible once released; be safe
            for i, start in enumerate(starts):
                for room in option.rooms[i]:
                    cols.append((r_index, option.occurrence, start, option.length, room,
                                 int(option.keys[i] % _PREF_SPAN)))
    if not cols:
        return None
    n = len(cols)
    # Which resource-intervals each column occupies; rows only where two requests compete.
    keys, owners, col_of = [], [], []
    for j, (r, occ, s, d, room, _) in enumerate(cols):
        option = per_request[r][occ]
        resources = [*option.agents.tolist(), *(n_agents + f for f in option.facilitators.tolist())]
        if room >= 0:
            resources.append(n_agents + n_facs + room)
        k = (np.array(resources, dtype=np.int64)[:, None] * T + np.arange(s, s + d)[None, :]).ravel()
        keys.append(k)
        owners.append(np.full(k.size, r))
        col_of.append(np.full(k.size, j))
    kv, kr, kc = np.concatenate(keys), np.concatenate(owners), np.concatenate(col_of)
    order = np.lexsort((kr, kv))
    kv, kr, kc = kv[order], kr[order], kc[order]
    uniq, first = np.unique(kv, return_index=True)
    contested = uniq[np.minimum.reduceat(kr, first) != np.maximum.reduceat(kr, first)]
    mask = np.isin(kv, contested)
    conflict = sp.csr_matrix((np.ones(int(mask.sum())), (np.searchsorted(contested, kv[mask]), kc[mask])),
                             shape=(contested.size, n))
    # Many resource-intervals are contested by exactly the same columns: keep one row of each.
    fingerprint = conflict @ np.random.default_rng(0).random(n)
    conflict = conflict[np.sort(np.unique(np.round(fingerprint, 9), return_index=True)[1])]
    # Staffing: agents pulled per (queue, interval) by each column.
    qt_keys: list[NDArray[np.int64]] = []
    qt_vals: list[NDArray[np.float64]] = []
    qt_cols: list[NDArray[np.int64]] = []
    for j, (r, occ, s, d, _room, _) in enumerate(cols):
        agents = per_request[r][occ].agents
        if not agents.size:
            continue
        contrib = problem.weights[agents].T @ (engine.states[agents, s:s + d] == _WORK).astype(np.float64)
        q, t = np.nonzero(contrib)
        qt_keys.append(q * T + s + t)
        qt_vals.append(contrib[q, t])
        qt_cols.append(np.full(q.size, j))
    if qt_keys:
        qk, qv, qc = np.concatenate(qt_keys), np.concatenate(qt_vals), np.concatenate(qt_cols)
    else:
        qk, qv, qc = np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
    touched, rows = np.unique(qk, return_inverse=True)
    gap = (problem.required - engine.scheduled).ravel()[touched]
    most = np.bincount(rows, weights=qv, minlength=touched.size)  # every column at once: an upper bound
    # Already short: each pulled agent adds exactly one (linear). Never short: free. Only cells in
    # between need an understaffing variable.
    linear = gap[rows] >= 0
    column_cost = np.bincount(qc[linear], weights=qv[linear], minlength=n)
    kinked = (gap < 0) & (gap + most > 0)
    kink_index = np.cumsum(kinked) - 1
    in_kink = kinked[rows]
    m = int(kinked.sum())
    pull = sp.csr_matrix((-qv[in_kink], (kink_index[rows[in_kink]], qc[in_kink])), shape=(m, n))
    # Each occurrence exactly once.
    occ_ids = sorted({(c[0], c[1]) for c in cols})
    occ_row = {key: i for i, key in enumerate(occ_ids)}
    once = sp.csr_matrix((np.ones(n), ([occ_row[(c[0], c[1])] for c in cols], np.arange(n))), shape=(len(occ_ids), n))
    blocks = [sp.hstack([once, sp.csr_matrix((len(occ_ids), m))]),
              sp.hstack([conflict, sp.csr_matrix((conflict.shape[0], m))]),
              sp.hstack([pull, sp.identity(m)])]
    lower = [np.ones(len(occ_ids)), np.full(conflict.shape[0], -np.inf), gap[kinked]]
    upper = [np.ones(len(occ_ids)), np.ones(conflict.shape[0]), np.full(m, np.inf)]
    gap_rows = _gap_rows(engine, requests, cols)
    if gap_rows is not None:
        blocks.append(sp.hstack([gap_rows, sp.csr_matrix((gap_rows.shape[0], m))]))
        lower.append(np.full(gap_rows.shape[0], -np.inf))
        upper.append(np.ones(gap_rows.shape[0]))
    pref = np.array([c[5] for c in cols], dtype=np.float64)
    cost = np.concatenate([column_cost + 1e-4 * pref, np.ones(m)])
    result = milp(cost, integrality=np.concatenate([np.ones(n), np.zeros(m)]),
                  bounds=Bounds(np.zeros(n + m), np.concatenate([np.ones(n), np.full(m, np.inf)])),
                  constraints=LinearConstraint(sp.vstack(blocks).tocsr(), np.concatenate(lower),
                                               np.concatenate(upper)),
                  options={"time_limit": time_limit, "mip_rel_gap": REL_GAP})
    if result.x is None:
        return None
    picked = np.flatnonzero(result.x[:n] > 0.5)
    out: list[dict[int, tuple[int, str | None]]] = [{} for _ in requests]
    for j in picked.tolist():
        r, occ, s, _d, room, _ = cols[j]
        out[r][occ] = (s, problem.rooms[room].id if room >= 0 else None)
    if any(len(o) != len(per_request[i]) for i, o in enumerate(out)):
        return None
    return [[o[occ] for occ in sorted(o)] for o in out]


def _gap_rows(engine: SlotEngine, requests: Sequence[SlotRequest],
              cols: list[tuple[int, int, int, int, int, int]]) -> sp.csr_matrix | None:
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
