"""One MILP solve with HiGHS (highspy), optionally started from a known feasible solution.

scipy's ``milp`` runs the same solver but cannot be given a starting solution. The refinement
always knows one (every booking where it is), and handing it over lets HiGHS prune against it
from the first node instead of searching for an incumbent of its own first.

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


def solve_milp(cost: NDArray[np.float64], matrix: sp.csr_matrix, lower: NDArray[np.float64],
               upper: NDArray[np.float64], col_upper: NDArray[np.float64], integral: NDArray[np.bool_], *,
               time_limit: float, rel_gap: float, start: NDArray[np.float64] | None = None,
               ) -> NDArray[np.float64] | None:
    """Minimise ``cost @ x`` subject to ``lower <= matrix @ x <= upper``, ``0 <= x <= col_upper``.

    Returns the best solution found (within ``rel_gap`` of optimal unless ``time_limit`` CPU seconds
    ran out), or None if none was found.
    """
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
    h.passModel(lp)
    if start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = start.tolist()
        solution.value_valid = True
        h.setSolution(solution)
    h.run()
    if h.getInfo().primal_solution_status != 2:  # kSolutionStatusFeasible
        return None
    return np.asarray(h.getSolution().col_value, dtype=np.float64)


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
