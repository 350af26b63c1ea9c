"""The understaffing part of the refinement MILP: linear column costs, kinked cells and their rows.

A (queue, interval) cell that is already short adds one unit per agent pulled from it (a linear
column cost); one that stays covered whatever is chosen adds nothing; only the cells in between
("kinked") need an understaffing variable ``u >= gap + pulled``. That row alone makes a weak LP
(fractions of many columns each pull a little, so ``gap + pulled`` stays below 0), so each kinked
cell also gets one row per occurrence whose columns can make it short:
``u >= sum_j max(0, gap + pull_j) x_j`` over that occurrence's columns. It is valid because an
occurrence takes exactly one column and the other pulls only add; it is the cut HiGHS otherwise
spends most of a window's root looking for (window MILPs 25-45 % faster at S, same optima).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from services.domain.slots.arrays import WORK
from services.domain.slots.engine import SlotEngine

Col = tuple[int, int, int, int, int, int]  # request, occurrence, start, length, room, pref


@dataclass(frozen=True, slots=True)
class Staffing:
    column_cost: NDArray[np.float64]  # linear understaffing each column adds
    pull: sp.csr_matrix  # (kinked cells, columns): minus the agents each column pulls from the cell
    kink_gap: NDArray[np.float64]  # required - scheduled of the kinked cells
    kink_most: NDArray[np.float64]  # every column at once, per kinked cell

    @property
    def m(self) -> int:
        return int(self.kink_gap.size)


def staffing_terms(engine: SlotEngine, cols: Sequence[Col], agents: Sequence[Sequence[NDArray[np.intp]]],
                   alone: Sequence[float], alone_cost: bool) -> Staffing:
    """Agents pulled per (queue, interval) by each column (``agents[request][occurrence]`` rows)."""
    problem = engine.problem
    T, n = engine.grid.intervals, len(cols)
    qt_keys: list[NDArray[np.int64]] = []
    qt_vals: list[NDArray[np.float64]] = []
    qt_cols: list[NDArray[np.int64]] = []
    # The columns of one occurrence are consecutive and pull the same agents: the agents working
    # in each of their starts' intervals are counted in one product per occurrence, not per column
    # (that loop was a tenth of a size-S batch). Entries stay in column order, then (queue, interval).
    table = np.array([c[:4] for c in cols], dtype=np.int64).reshape(-1, 4)
    change = np.flatnonzero((np.diff(table[:, 0]) != 0) | (np.diff(table[:, 1]) != 0)) + 1
    for lo, hi in itertools.pairwise([0, *change.tolist(), n]):
        r, occ, d = int(table[lo, 0]), int(table[lo, 1]), int(table[lo, 3])
        rows_of = agents[r][occ]
        if not rows_of.size:
            continue
        starts, which = np.unique(table[lo:hi, 2], return_inverse=True)
        working = (engine.states[rows_of[:, None, None], starts[None, :, None] + np.arange(d)[None, None, :]]
                   == WORK).astype(np.float64)
        contrib = np.stack([problem.weights[rows_of].T @ working[:, i, :] for i in range(starts.size)])
        u, q, t = np.nonzero(contrib)  # (start, queue, interval), row-major: each start's entries in order
        per_start = np.bincount(u, minlength=starts.size)
        offset = np.concatenate([[0], np.cumsum(per_start)])
        pick = np.concatenate([np.arange(offset[w], offset[w + 1]) for w in which.ravel().tolist()])
        qt_keys.append(q[pick] * T + starts[u[pick]] + t[pick])
        qt_vals.append(contrib[u[pick], q[pick], t[pick]])
        qt_cols.append(np.repeat(np.arange(lo, hi), per_start[which.ravel()]))
    if qt_keys:
        qk, qv, qc = np.concatenate(qt_keys), np.concatenate(qt_vals), np.concatenate(qt_cols)
    else:
        qk, qv, qc = np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
    touched, rows = np.unique(qk, return_inverse=True)
    gap = (problem.required - engine.scheduled).ravel()[touched]
    most = np.bincount(rows, weights=qv, minlength=touched.size)  # every column at once: an upper bound
    linear = gap[rows] >= 0
    column_cost = np.bincount(qc[linear], weights=qv[linear], minlength=n)
    kinked = (gap < 0) & (gap + most > 0)
    if alone_cost:  # each column at its cost alone (no interaction variables): a much smaller model
        column_cost = np.array(alone, dtype=np.float64)
        kinked = np.zeros_like(kinked)
    kink_index = np.cumsum(kinked) - 1
    in_kink = kinked[rows]
    m = int(kinked.sum())
    pull = sp.csr_matrix((-qv[in_kink], (kink_index[rows[in_kink]], qc[in_kink])), shape=(m, n))
    return Staffing(np.asarray(column_cost, dtype=np.float64), pull, gap[kinked],
                    np.asarray(most[kinked], dtype=np.float64))


def one_request_rows(staffing: Staffing, cols: Sequence[Col]) -> tuple[sp.csr_matrix, sp.csr_matrix] | None:
    """``u_c - sum_j max(0, gap_c + pull_cj) x_j >= 0`` per (kinked cell, occurrence): (x part, u part).

    None when no single column can make a kinked cell short (the plain rows are then exact)."""
    if not staffing.m:
        return None
    pull = (-staffing.pull).tocoo()
    excess = staffing.kink_gap[pull.row] + pull.data
    keep = excess > 1e-9
    if not keep.any():
        return None
    _, occurrence = np.unique(np.array([(c[0], c[1]) for c in cols], dtype=np.int64).reshape(-1, 2), axis=0,
                              return_inverse=True)
    cell, column = pull.row[keep].astype(np.int64), pull.col[keep]
    keys, row = np.unique(cell * (int(occurrence.max()) + 1) + occurrence.ravel()[column], return_inverse=True)
    k = keys.size
    x_part = sp.csr_matrix((-excess[keep], (row, column)), shape=(k, len(cols)))
    u_part = sp.csr_matrix((np.ones(k), (np.arange(k), keys // (int(occurrence.max()) + 1))), shape=(k, staffing.m))
    return x_part, u_part
