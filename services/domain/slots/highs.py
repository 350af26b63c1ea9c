"""One MILP solve with HiGHS (highspy), optionally cut off at a known feasible solution.

scipy's ``milp`` runs the same solver but cannot be given a cutoff. The refinement always knows
a solution (every booking where it is), and giving HiGHS its objective as a bound lets it prune
every node that cannot beat it from the first node on.

Its limit is CPU seconds of this process, not wall-clock seconds: on a shared machine a wall
limit cut the refinement short and the plan's quality depended on the neighbours' load.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time

import highspy
import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.csgraph import connected_components


def solve_milp(cost: NDArray[np.float64], matrix: sp.csr_matrix, lower: NDArray[np.float64],
               upper: NDArray[np.float64], col_upper: NDArray[np.float64], integral: NDArray[np.bool_], *,
               time_limit: float, rel_gap: float, start: NDArray[np.float64] | None = None,
               ) -> NDArray[np.float64] | None:
    """Minimise ``cost @ x`` subject to ``lower <= matrix @ x <= upper``, ``0 <= x <= col_upper``.

    Returns the best solution found (within ``rel_gap`` of optimal unless ``time_limit`` CPU seconds
    ran out), or None if none was found. With ``start`` (a feasible solution) only better ones are
    searched for, and ``start`` itself comes back when none is found.

    Independent parts (columns that share no row, directly or through other columns) are solved
    one by one, smallest first, within one CPU budget: the objective is a sum over the parts, so
    the optimum is the same, and HiGHS does not split a model by itself (a window of bookings on
    different queues, rooms and people is several small models, each much faster alone). Each
    part within ``rel_gap`` makes the sum within it too.
    """
    parts = _components(matrix, cost.size)
    if len(parts) == 1:
        return _solve_one(cost, matrix, lower, upper, col_upper, integral, time_limit=time_limit,
                          rel_gap=rel_gap, start=start)
    empty = np.diff(sp.csr_matrix(matrix).indptr) == 0
    if bool(((lower > 0) | (upper < 0))[empty].any()):
        return None  # a row with no column that 0 does not satisfy: infeasible whatever is chosen
    deadline = time.process_time() + time_limit
    x = np.zeros(cost.size)
    rows_of = _row_parts(matrix, parts)
    for cols, rows in sorted(zip(parts, rows_of, strict=True), key=lambda p: p[0].size):
        sub = matrix[rows][:, cols]
        left = max(deadline - time.process_time(), _FLOOR)
        part = _solve_one(cost[cols], sub, lower[rows], upper[rows], col_upper[cols], integral[cols],
                          time_limit=left, rel_gap=rel_gap, start=None if start is None else start[cols])
        if part is None:
            return None
        x[cols] = part
    return x


_FLOOR = 0.05  # CPU seconds a part gets even when the budget is spent (a start is returned at once)


def _components(matrix: sp.csr_matrix, n: int) -> list[NDArray[np.intp]]:
    """Column sets linked by the rows (two columns in one row are in one part); empty rows ignored."""
    coo = sp.coo_matrix(matrix)
    m = matrix.shape[0]
    # Bipartite graph: columns 0..n-1, rows n..n+m-1.
    graph = sp.coo_matrix((np.ones(coo.nnz), (coo.col, n + coo.row)), shape=(n + m, n + m))
    count, label = connected_components(graph, directed=False)
    if count == 1:
        return [np.arange(n)]
    col_label = label[:n]
    order = np.argsort(col_label, kind="stable")
    cuts = np.flatnonzero(np.diff(col_label[order])) + 1
    return list(np.split(order, cuts))


def _row_parts(matrix: sp.csr_matrix, parts: list[NDArray[np.intp]]) -> list[NDArray[np.intp]]:
    """The rows of each part (a row's columns are all in one part; a row without any is dropped)."""
    owner = np.empty(matrix.shape[1], dtype=np.intp)
    for i, cols in enumerate(parts):
        owner[cols] = i
    csr = sp.csr_matrix(matrix)
    lengths = np.diff(csr.indptr)
    used = np.flatnonzero(lengths > 0)
    row_owner = owner[csr.indices[csr.indptr[used]]]
    return [used[row_owner == i] for i in range(len(parts))]


def _solve_one(cost: NDArray[np.float64], matrix: sp.csr_matrix, lower: NDArray[np.float64],
               upper: NDArray[np.float64], col_upper: NDArray[np.float64], integral: NDArray[np.bool_], *,
               time_limit: float, rel_gap: float, start: NDArray[np.float64] | None = None,
               ) -> NDArray[np.float64] | None:
    n = cost.size
    csc = sp.csc_matrix(matrix)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, csc.shape[0]
    lp.col_cost_ = cost
    lp.col_lower_, lp.col_upper_ = np.zeros(n), col_upper
    lp.row_lower_, lp.row_upper_ = lower, upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data.astype(np.float64)
    lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                       for i in integral.tolist()]
    _banner_once()
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit) * _WALL_BACKSTOP)
    deadline = time.process_time() + time_limit

    def stop_when_spent(event: highspy.HighsCallbackEvent) -> None:
        if time.process_time() > deadline:
            event.interrupt()

    h.cbSimplexInterrupt += stop_when_spent
    h.cbMipInterrupt += stop_when_spent
    h.setOptionValue("mip_rel_gap", float(rel_gap))
    h.setOptionValue("threads", 1)
    if n <= _SMALL:
        # No probing in presolve (fixing each binary in turn to learn implications) on small
        # models: it was a third of a size-S week window (S 1: 0.098 -> 0.068 CPU s, same optimum).
        # Larger models keep it: without it M 3 ended 0.4 % and XL 1 0.3 % higher (others lower).
        h.setOptionValue("presolve_rule_off", _NO_PROBING)
    h.passModel(lp)
    if start is not None:
        # The start is not handed over as a solution (setSolution): highspy 1.16 mapped it into
        # the presolved space with a lower objective than it has, declared it optimal and returned
        # it unchanged where better plans existed (3 of 4 week windows at M seed 0, S seed 2).
        # A cutoff at its objective prunes the same nodes; nothing better found: the start.
        h.setOptionValue("objective_bound", float(cost @ start))
        # Heuristics that only look for a first incumbent cost time here (a quarter of a
        # refinement window at size S; same optima at S seeds 0-3 and M seed 0).
        h.setOptionValue("mip_heuristic_run_root_reduced_cost", False)
        h.setOptionValue("mip_heuristic_run_feasibility_jump", False)
    h.run()
    if h.getInfo().primal_solution_status != 2:  # kSolutionStatusFeasible
        return start
    return np.asarray(h.getSolution().col_value, dtype=np.float64)


_NO_PROBING = 1 << 15  # HiGHS's presolve rule bit 15: probing
_SMALL = 1000  # columns: size S's week windows have 840-960 (S 0: 1 109, slower without probing)
_WALL_BACKSTOP = 30.0  # wall-clock limit, in multiples of the CPU budget: never wait forever


@functools.cache
def _banner_once() -> None:
    """HiGHS prints a banner on stdout when the first solver of a process is made; keep stdout clean."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            with contextlib.suppress(Exception):
                highspy.Highs()  # type: ignore[no-untyped-call]
    finally:
        os.dup2(saved, 1)
        os.close(saved)
