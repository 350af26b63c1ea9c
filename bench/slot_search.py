"""Slot-search benchmark: seeded instances, an independent checker, and the exact MILP optimum.

    python bench/slot_search.py --size S|M|L|XL [--mode online|batch] [--seed 0] [--time-limit 600]

Builds the seeded instance of the benchmark specification (``testing/slots_synthetic/``),
runs the engine in online mode (requests one at a time in arrival order, each committed before the
next is seen) or batch mode (all at once), checks every placement with a checker that shares no
code with the engine, and solves the same instance exactly with scipy's HiGHS MILP in the same
run. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import itertools

import numpy as np
import scipy
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from services.domain.slots.batch import plan_batch
from services.domain.slots.engine import SlotEngine
from services.domain.slots.erlang import service_level
from services.domain.slots.model import Outcome, SlotRequest
from testing.slots_synthetic import GENERATOR_VERSION, Instance, generate

WORK, BREAK = 1, 2
ABSORB_FROM_MINUTES = 120
W_PLACED = 1000.0  # lexicographic weight: one more occurrence beats any understaffing


# ---------------------------------------------------------------------------- independent rules


def periods_of(request: SlotRequest) -> list[tuple[date, date]]:
    """Occurrence day ranges, re-derived here from the recurrence rule (not the engine's code)."""
    rec = request.recurrence
    if rec is None:
        return [(request.window_start, request.window_end)]
    stop = request.window_end if rec.until is None else min(request.window_end, rec.until)
    out: list[tuple[date, date]] = []
    if rec.frequency == "daily":
        cursor = request.window_start
    elif rec.frequency == "weekly":
        cursor = request.window_start - timedelta(days=request.window_start.weekday())
    else:
        cursor = request.window_start.replace(day=1)
    while cursor <= stop and (rec.count is None or len(out) < rec.count):
        if rec.frequency == "daily":
            following = cursor + timedelta(days=rec.every)
        elif rec.frequency == "weekly":
            following = cursor + timedelta(days=7 * rec.every)
        else:
            months = cursor.month - 1 + rec.every
            following = date(cursor.year + months // 12, months % 12 + 1, 1)
        first, last = max(cursor, request.window_start), min(following - timedelta(days=1), stop)
        if first <= last:
            out.append((first, last))
        cursor = following
    return out


@dataclass
class Index:
    """Lookups over the raw instance arrays."""

    inst: Instance

    def __post_init__(self) -> None:
        p = self.inst.problem
        self.agent = {a: i for i, a in enumerate(p.agent_ids)}
        self.fac = {f: i for i, f in enumerate(p.facilitator_ids)}
        self.room = {r.id: i for i, r in enumerate(p.rooms)}
        self.cap = np.array([r.capacity for r in p.rooms])
        self.first_day = p.grid.first_day
        self.local_day = p.grid.day
        self.local_minute = p.grid.minute
        self.local_weekday = p.grid.weekday

    def seats(self, request: SlotRequest, attendees: tuple[str, ...]) -> int:
        return len(attendees) + (1 if request.facilitator and request.facilitator_in_room else 0)

    def day_range(self, first: date, last: date) -> tuple[int, int]:
        lo_day, hi_day = (first - self.first_day).days, (last - self.first_day).days
        idx = np.flatnonzero((self.local_day >= lo_day) & (self.local_day <= hi_day))
        return (int(idx[0]), int(idx[-1]) + 1) if idx.size else (0, 0)


class _Checker:
    """Re-checks placements against the raw arrays: double bookings, availability, windows, rooms."""

    def __init__(self, inst: Instance) -> None:
        self.ix, self.p = Index(inst), inst.problem
        self.violations: list[str] = []
        self.agent_use: dict[tuple[int, int], str] = {}
        self.fac_use: dict[tuple[int, int], str] = {}
        self.room_use: dict[tuple[int, int], str] = {}
        self.pulled = np.zeros_like(self.p.required)

    def claim(self, table: dict[tuple[int, int], str], key: tuple[int, int], owner: str, what: str) -> None:
        if key in table and table[key] != owner:
            self.violations.append(f"{owner}: {what} double-booked with {table[key]}")
        table[key] = owner

    def request(self, request: SlotRequest, outcome: Outcome) -> int:
        """Check one placed request; the occurrences it counts (0 when they do not match its periods)."""
        periods = periods_of(request)
        by_occurrence: dict[int, list[Any]] = defaultdict(list)
        for placement in outcome.placements:
            by_occurrence[placement.occurrence].append(placement)
        if sorted(by_occurrence) != list(range(len(periods))):
            self.violations.append(f"{request.id}: placed occurrences {sorted(by_occurrence)} of {len(periods)}")
            return 0
        for occ, (first, last) in enumerate(periods):
            group = by_occurrence[occ]
            attendees = sorted(a for pl in group for a in pl.attendees)
            if attendees != sorted(set(request.attendees) - {request.facilitator}):
                self.violations.append(f"{request.id}#{occ}: attendees differ from the request")
            for pl in group:
                self.placement(request, f"{request.id}#{occ}", pl, first, last)
        gap = request.recurrence.min_gap_days if request.recurrence else 0
        ix = self.ix
        occ_days = [min(int(ix.local_day[pl.start_index]) for pl in by_occurrence[o]) for o in range(len(periods))]
        if any(b - a < gap for a, b in itertools.pairwise(occ_days)):
            self.violations.append(f"{request.id}: occurrences closer than {gap} days")
        return len(periods)

    def placement(self, request: SlotRequest, name: str, pl: Any, first: date, last: date) -> None:
        ix, p = self.ix, self.p
        s, d = pl.start_index, pl.length
        e = s + d
        if d * p.grid.minutes < request.duration_minutes:
            self.violations.append(f"{name}: too short")
        lo, hi = ix.day_range(first, last)
        if s < lo or e > hi:
            self.violations.append(f"{name}: outside its period/window")
            return
        minute = int(ix.local_minute[s])
        if minute < request.earliest_minute or minute + d * p.grid.minutes > request.latest_minute:
            self.violations.append(f"{name}: outside the times of day")
        if int(ix.local_weekday[s]) not in request.weekdays:
            self.violations.append(f"{name}: on a weekday not allowed")
        if ix.local_day[e - 1] != ix.local_day[s]:
            self.violations.append(f"{name}: crosses midnight")
        self.people(request, name, pl, s, e)
        if request.room_needed:
            self.room(request, name, pl, s, e)

    def people(self, request: SlotRequest, name: str, pl: Any, s: int, e: int) -> None:
        ix, p = self.ix, self.p
        absorb = request.duration_minutes >= ABSORB_FROM_MINUTES
        for agent in pl.attendees:
            row = ix.agent[agent]
            block = p.states[row, s:e]
            if not np.isin(block, (WORK, BREAK) if absorb else (WORK,)).all():
                self.violations.append(f"{name}: {agent} not available")
            for t in range(s, e):
                self.claim(self.agent_use, (row, t), request.id, f"agent {agent}")
            self.pulled[:, s:e] += p.weights[row][:, None] * (block == WORK)
        if request.facilitator:
            f = ix.fac[request.facilitator]
            if not p.facilitator_free[f, s:e].all():
                self.violations.append(f"{name}: facilitator busy")
            for t in range(s, e):
                self.claim(self.fac_use, (f, t), request.id, f"facilitator {request.facilitator}")

    def room(self, request: SlotRequest, name: str, pl: Any, s: int, e: int) -> None:
        if pl.room_id is None:
            self.violations.append(f"{name}: no room")
            return
        m = self.ix.room[pl.room_id]
        if self.ix.cap[m] < self.ix.seats(request, pl.attendees):
            self.violations.append(f"{name}: room too small")
        if not self.p.room_free[m, s:e].all():
            self.violations.append(f"{name}: room busy")
        for t in range(s, e):
            self.claim(self.room_use, (m, t), request.id, f"room {pl.room_id}")


def check(inst: Instance, outcomes: list[Outcome]) -> dict[str, Any]:
    """Count hard-constraint violations and compute the objective from the placements alone."""
    requests = {r.id: r for r in inst.requests}
    checker = _Checker(inst)
    placed_occurrences = placed_requests = 0
    for outcome in outcomes:
        if outcome.placements:
            counted = checker.request(requests[outcome.request_id], outcome)
            placed_occurrences += counted
            placed_requests += 1 if counted else 0
    p, pulled = inst.problem, checker.pulled
    base_gap = p.required - p.scheduled
    added = np.maximum(base_gap + pulled, 0) - np.maximum(base_gap, 0)
    d = inst.demand
    load = d.calls * d.aht_s[:, None] / (p.grid.minutes * 60)
    touched = pulled > 0
    sl_before = service_level(np.where(touched, p.scheduled, 0), np.where(touched, load, 0),
                              d.aht_s[:, None], d.target_s[:, None])
    sl_after = service_level(np.where(touched, p.scheduled - pulled, 0), np.where(touched, load, 0),
                             d.aht_s[:, None], d.target_s[:, None])
    late = float((np.where(touched, d.calls * (sl_before - sl_after), 0)).sum())
    pushed_below = int((touched & (sl_before >= d.goal[:, None]) & (sl_after < d.goal[:, None])).sum())

    reasons_ok = sum(1 for o in outcomes if o.request_id in inst.injected and o.reason == inst.injected[o.request_id])
    return {
        "hard_violations": len(checker.violations),
        "violations_sample": checker.violations[:5],
        "placed": placed_occurrences,
        "requests_placed": placed_requests,
        "understaffing": round(float(added.sum()), 3),
        "added_late_calls": round(late, 1),
        "intervals_pushed_below_goal": pushed_below,
        "injected_reason_accuracy": round(reasons_ok / max(1, len(inst.injected)), 3),
    }


# ---------------------------------------------------------------------------- exact reference


def columns(inst: Instance) -> dict[str, Any]:
    """Every individually feasible (request, occurrence, start, room), from the raw arrays."""
    ix, p = Index(inst), inst.problem
    cols: list[tuple[int, int, int, int, int]] = []  # request, occurrence, start, length, room
    for r_index, request in enumerate(inst.requests):
        if request.facilitator is not None and request.facilitator not in ix.fac:
            continue
        rows = [ix.agent[a] for a in request.attendees if a != request.facilitator]
        d = -(-request.duration_minutes // p.grid.minutes)
        absorb = request.duration_minutes >= ABSORB_FROM_MINUTES
        seats = ix.seats(request, tuple(a for a in request.attendees if a != request.facilitator))
        rooms = [m for m in range(len(p.rooms)) if ix.cap[m] >= seats] if request.room_needed else [-1]
        for occ, (first, last) in enumerate(periods_of(request)):
            lo, hi = ix.day_range(first, last)
            for s in range(lo, hi - d + 1):
                minute = int(ix.local_minute[s])
                if (minute < request.earliest_minute or minute + d * p.grid.minutes > request.latest_minute
                        or int(ix.local_weekday[s]) not in request.weekdays
                        or ix.local_day[s + d - 1] != ix.local_day[s]):
                    continue
                block = p.states[rows, s:s + d]
                if not np.isin(block, (WORK, BREAK) if absorb else (WORK,)).all():
                    continue
                if request.facilitator and not p.facilitator_free[ix.fac[request.facilitator], s:s + d].all():
                    continue
                for m in rooms:
                    if m >= 0 and not p.room_free[m, s:s + d].all():
                        continue
                    cols.append((r_index, occ, s, d, m))
    return {"cols": np.array(cols, dtype=np.int64).reshape(-1, 5), "index": ix}


def _conflicts(cols: np.ndarray, people: list[list[int]], fac_of: list[int], p: Any) -> sp.csr_matrix:
    """One row per resource-interval wanted by two requests or more (agents, facilitators and rooms share
    one key space), duplicate rows dropped."""
    T, n_cols = p.grid.intervals, len(cols)
    n_agents, n_facs = len(p.agent_ids), len(p.facilitator_ids)
    key_col: list[np.ndarray] = []
    key_val: list[np.ndarray] = []
    key_req: list[np.ndarray] = []
    for j, (r, _occ, s, d, m) in enumerate(cols):
        resources = list(people[r])
        if fac_of[r] >= 0:
            resources.append(n_agents + fac_of[r])
        if m >= 0:
            resources.append(n_agents + n_facs + m)
        keys = (np.array(resources, dtype=np.int64)[:, None] * T + np.arange(s, s + d)[None, :]).ravel()
        key_val.append(keys)
        key_col.append(np.full(keys.size, j, dtype=np.int64))
        key_req.append(np.full(keys.size, r, dtype=np.int64))
    kv, kc, kr = np.concatenate(key_val), np.concatenate(key_col), np.concatenate(key_req)
    order = np.lexsort((kr, kv))
    kv, kc, kr = kv[order], kc[order], kr[order]
    uniq, start_at = np.unique(kv, return_index=True)
    req_first = np.minimum.reduceat(kr, start_at)
    req_last = np.maximum.reduceat(kr, start_at)
    contested = uniq[req_first != req_last]
    keep = np.isin(kv, contested)
    rows_k = np.searchsorted(contested, kv[keep])
    conflict = sp.csr_matrix((np.ones(keep.sum()), (rows_k, kc[keep])), shape=(contested.size, n_cols))
    conflict.sum_duplicates()
    conflict.data[:] = 1.0
    fingerprint = conflict @ np.random.default_rng(0).random(n_cols)
    _, unique_rows = np.unique(np.round(fingerprint, 12), return_index=True)
    return conflict[np.sort(unique_rows)]


@dataclass(frozen=True)
class _Staffing:
    column_cost: np.ndarray  # understaffing a column adds where its queue is already short
    pull: sp.csr_matrix  # (kinked cells, columns): minus what each column pulls from the cell
    gap: np.ndarray  # required - scheduled of the kinked cells


def _staffing(cols: np.ndarray, people: list[list[int]], p: Any) -> _Staffing:
    """pulled[q,t] of each column, and one understaffing variable per touched (q, t) that needs one.

    Exact reformulation: where the queue is already short, every pulled agent adds one (a linear
    column cost); where even all columns at once cannot make it short, nothing is added; only
    the cells in between need an understaffing variable."""
    T, n_cols = p.grid.intervals, len(cols)
    qt_col: list[np.ndarray] = []
    qt_key: list[np.ndarray] = []
    qt_val: list[np.ndarray] = []
    for j, (r, _occ, s, d, _m) in enumerate(cols):
        rows = people[r]
        if not rows:
            continue
        working = (p.states[rows, s:s + d] == WORK).astype(float)  # (k, d)
        contrib = p.weights[rows].T @ working  # (Q, d)
        q_idx, t_off = np.nonzero(contrib)
        qt_key.append(q_idx * T + s + t_off)
        qt_val.append(contrib[q_idx, t_off])
        qt_col.append(np.full(q_idx.size, j))
    qk = np.concatenate(qt_key) if qt_key else np.zeros(0, np.int64)
    qv = np.concatenate(qt_val) if qt_val else np.zeros(0)
    qc = np.concatenate(qt_col) if qt_col else np.zeros(0, np.int64)
    touched, q_rows = np.unique(qk, return_inverse=True)
    gap_all = (p.required - p.scheduled).ravel()[touched]
    most = np.bincount(q_rows, weights=qv, minlength=touched.size)
    linear = gap_all[q_rows] >= 0
    column_cost = np.bincount(qc[linear], weights=qv[linear], minlength=n_cols)
    kinked = (gap_all < 0) & (gap_all + most > 0)
    kink_row = np.cumsum(kinked) - 1
    in_kink = kinked[q_rows]
    n_under = int(kinked.sum())
    pull = sp.csr_matrix((-qv[in_kink], (kink_row[q_rows[in_kink]], qc[in_kink])), shape=(n_under, n_cols))
    return _Staffing(column_cost, pull, gap_all[kinked])


def _occurrence_rows(cols: np.ndarray, occurrences: list[int], n_under: int) -> sp.csr_matrix:
    """Each occurrence of a placed request exactly once: sum z(r, occ) - y_r = 0."""
    n_cols, n_req = len(cols), len(occurrences)
    occ_key = cols[:, 0] * 10_000 + cols[:, 1] if n_cols else np.zeros(0, np.int64)
    all_occ = np.array([r * 10_000 + o for r in range(n_req) for o in range(occurrences[r])], dtype=np.int64)
    occ_row = np.searchsorted(all_occ, occ_key)
    a_z = sp.csr_matrix((np.ones(n_cols), (occ_row, np.arange(n_cols))), shape=(all_occ.size, n_cols))
    a_y = sp.csr_matrix((-np.ones(all_occ.size), (np.arange(all_occ.size), all_occ // 10_000)),
                        shape=(all_occ.size, n_req))
    return sp.hstack([a_z, a_y, sp.csr_matrix((all_occ.size, n_under))]).tocsr()


def _recurrence_rows(inst: Instance, cols: np.ndarray, ix: Index, occurrences: list[int],
                     n_var: int) -> sp.csr_matrix | None:
    """The recurrence gap between consecutive occurrences, one row per day boundary (None: no gaps)."""
    rec_rows: list[list[int]] = []
    col_day = ix.local_day[cols[:, 2]] if len(cols) else np.zeros(0, np.int64)
    for r, request in enumerate(inst.requests):
        g = request.recurrence.min_gap_days if request.recurrence else 0
        if occurrences[r] < 2 or g <= 0:
            continue
        mine = np.flatnonzero(cols[:, 0] == r)
        for occ in range(occurrences[r] - 1):
            first = mine[cols[mine, 1] == occ]
            second = mine[cols[mine, 1] == occ + 1]
            if not first.size or not second.size:
                continue
            for day in np.unique(col_day[first]):
                left = first[col_day[first] >= day]
                right = second[col_day[second] < day + g]
                if right.size:
                    rec_rows.append(list(left) + list(right))
    if not rec_rows:
        return None
    data_r, data_c = [], []
    for i, members in enumerate(rec_rows):
        data_r.extend([i] * len(members))
        data_c.extend(members)
    return sp.csr_matrix((np.ones(len(data_r)), (data_r, data_c)), shape=(len(rec_rows), n_var))


def solve_exact(inst: Instance, time_limit: float) -> dict[str, Any]:
    """max occurrences placed, then min added understaffing: one HiGHS MILP, lexicographic weights."""
    started, started_cpu = time.perf_counter(), time.process_time()
    built = columns(inst)
    cols, ix, p = built["cols"], built["index"], inst.problem
    n_cols = len(cols)
    n_req = len(inst.requests)
    occurrences = [len(periods_of(r)) for r in inst.requests]
    people = [[ix.agent[a] for a in r.attendees if a != r.facilitator] for r in inst.requests]
    fac_of = [ix.fac.get(r.facilitator, -1) if r.facilitator else -1 for r in inst.requests]
    conflict = _conflicts(cols, people, fac_of, p)
    staffing = _staffing(cols, people, p)
    n_under = staffing.gap.size

    # Variables: [z (columns), y (requests), under (touched q,t)].
    n_var = n_cols + n_req + n_under
    n_occ = sum(occurrences)
    blocks = [_occurrence_rows(cols, occurrences, n_under),
              # no resource used twice in one interval
              sp.hstack([conflict, sp.csr_matrix((conflict.shape[0], n_req + n_under))]).tocsr(),
              # under[q,t] - pulled[q,t] >= req - sched
              sp.hstack([staffing.pull, sp.csr_matrix((n_under, n_req)),
                         sp.identity(n_under, format="csr")]).tocsr()]
    lower = [np.zeros(n_occ), np.full(conflict.shape[0], -np.inf), staffing.gap]
    upper = [np.zeros(n_occ), np.ones(conflict.shape[0]), np.full(n_under, np.inf)]
    rec = _recurrence_rows(inst, cols, ix, occurrences, n_var)
    if rec is not None:
        blocks.append(rec)
        lower.append(np.full(rec.shape[0], -np.inf))
        upper.append(np.ones(rec.shape[0]))

    matrix = sp.vstack(blocks).tocsr()
    cost = np.concatenate([staffing.column_cost, -W_PLACED * np.array(occurrences, dtype=float), np.ones(n_under)])
    integrality = np.concatenate([np.ones(n_cols + n_req), np.zeros(n_under)])
    bounds = Bounds(np.zeros(n_var), np.concatenate([np.ones(n_cols + n_req), np.full(n_under, np.inf)]))
    build_s = time.perf_counter() - started
    solve_started = time.perf_counter()
    result = milp(cost, integrality=integrality, bounds=bounds,
                  constraints=LinearConstraint(matrix, np.concatenate(lower), np.concatenate(upper)),
                  options={"time_limit": time_limit, "mip_rel_gap": 0.0, "disp": False})
    solve_s = time.perf_counter() - solve_started
    out: dict[str, Any] = {"milp_status": result.message, "optimal_s": round(time.perf_counter() - started, 2),
                           "optimal_cpu_s": round(time.process_time() - started_cpu, 2),
                           "milp_build_s": round(build_s, 2), "milp_solve_s": round(solve_s, 2),
                           "milp_columns": int(n_cols), "milp_rows": int(matrix.shape[0]),
                           "milp_nnz": int(matrix.nnz)}
    if result.x is not None:
        out.update(_solution(inst, result, cols, occurrences, staffing.column_cost))
    return out


def _solution(inst: Instance, result: Any, cols: np.ndarray, occurrences: list[int],
              column_cost: np.ndarray) -> dict[str, Any]:
    """The optimum read back: occurrences placed, understaffing, the chosen columns, the dual bound."""
    n_cols, n_req, rooms = len(cols), len(occurrences), inst.problem.rooms
    out: dict[str, Any] = {}
    x = result.x
    y = np.rint(x[n_cols:n_cols + n_req])
    out["placed_optimal"] = round(float(np.dot(y, occurrences)))
    out["understaffing_optimal"] = round(float(column_cost @ np.rint(x[:n_cols]) + x[n_cols + n_req:].sum()), 3)
    out["milp_gap"] = float(getattr(result, "mip_gap", 0.0) or 0.0)
    chosen = cols[np.flatnonzero(x[:n_cols] > 0.5)]
    out["solution"] = {inst.requests[int(r)].id: [] for r in np.unique(chosen[:, 0])}
    for r, occ, s, d, m in chosen.tolist():
        out["solution"][inst.requests[r].id].append((occ, s, d, rooms[m].id if m >= 0 else None))
    bound = getattr(result, "mip_dual_bound", None)
    if bound is not None:
        out["milp_dual_bound"] = round(float(bound), 3)
        # The objective is -W * placed + U: with the placements proven (bound > -W * (placed + 1)),
        # the dual bound is also a lower bound on the understaffing of any optimal plan.
        if float(bound) > -W_PLACED * (out["placed_optimal"] + 1):
            out["understaffing_lower_bound"] = round(float(bound) + W_PLACED * out["placed_optimal"], 3)
    out["milp_proven_optimal"] = bool(result.status == 0)
    return out


# ---------------------------------------------------------------------------- runs


def run_online(inst: Instance) -> tuple[list[Outcome], dict[str, Any]]:
    engine = SlotEngine(inst.problem)
    outcomes, times = [], []
    for request in inst.requests:
        started = time.perf_counter()
        outcomes.append(engine.book(request, explain=True))
        times.append(time.perf_counter() - started)
    ms = np.array(times) * 1000
    return outcomes, {"p50_ms": round(float(np.percentile(ms, 50)), 3),
                      "p95_ms": round(float(np.percentile(ms, 95)), 3), "max_ms": round(float(ms.max()), 3)}


def run_batch(inst: Instance) -> tuple[list[Outcome], dict[str, Any]]:
    engine = SlotEngine(inst.problem)
    started, started_cpu = time.perf_counter(), time.process_time()
    outcomes = plan_batch(engine, inst.requests, explain=True)
    return outcomes, {"total_s": round(time.perf_counter() - started, 3),
                      "total_cpu_s": round(time.process_time() - started_cpu, 3)}


def result_hash(outcomes: list[Outcome]) -> str:
    text = json.dumps([[o.request_id, o.reason, [(p.occurrence, p.session, p.start_index, p.room_id)
                                                   for p in o.placements]] for o in outcomes])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["S", "M", "L", "XL"], default="S")
    parser.add_argument("--mode", choices=["online", "batch"], default="online")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=600.0, help="MILP time limit, seconds")
    parser.add_argument("--no-optimal", action="store_true", help="skip the exact MILP")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    inst = generate(args.size, args.seed)
    generate_s = time.perf_counter() - started
    run = run_online if args.mode == "online" else run_batch
    outcomes, timing = run(inst)
    report: dict[str, Any] = {"bench": "slot_search", "size": args.size, "mode": args.mode, "seed": args.seed}
    checked = check(inst, outcomes)
    report.update(checked)
    report.update(timing)
    placeable = sum(len(periods_of(r)) for r in inst.requests if r.id not in inst.injected)
    report["placeable"] = placeable
    if not args.no_optimal:
        exact = solve_exact(inst, args.time_limit)
        exact.pop("solution", None)
        report.update(exact)
        if "understaffing_optimal" in report:
            report["understaffing_gap"] = round(
                (report["understaffing"] - report["understaffing_optimal"])
                / max(1.0, report["understaffing_optimal"]), 4)
            if args.mode == "batch" and report["total_s"] > 0:
                report["speedup_vs_exact"] = round(report["optimal_s"] / report["total_s"], 1)
                # CPU seconds do not depend on what else runs on a shared machine.
                report["cpu_speedup_vs_exact"] = round(report["optimal_cpu_s"] / max(report["total_cpu_s"], 1e-3), 1)
    report.update({
        "generate_s": round(generate_s, 2),
        "understaffed_share_before": round(inst.stats["understaffed_share"], 3),
        "instance_sha256": inst.digest()[:16],
        "result_sha256": result_hash(outcomes),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "generator": GENERATOR_VERSION,
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__},
    })
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
