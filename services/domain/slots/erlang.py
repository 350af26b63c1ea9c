"""Erlang C, vectorised over intervals: required agents from offered load, and service level.

For ``A`` Erlangs of offered load and ``N`` agents (``N > A``): Erlang B by the stable recursion
``B(k) = A B(k-1) / (k + A B(k-1))``, then ``C = N B / (N - A (1 - B))`` and the service level at
target ``T`` seconds is ``1 - C exp(-(N - A) T / AHT)``. With ``N <= A`` the queue is unstable and
the service level is 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def erlang_b(agents: ArrayLike, load: ArrayLike) -> NDArray[np.float64]:
    n = np.asarray(agents, dtype=np.int64)
    a = np.asarray(load, dtype=np.float64)
    n, a = np.broadcast_arrays(n, a)
    b = np.ones(a.shape, dtype=np.float64)
    top = int(n.max()) if n.size else 0
    for k in range(1, top + 1):
        step = a * b / (k + a * b)
        b = np.where(k <= n, step, b)
    return b


def erlang_c(agents: ArrayLike, load: ArrayLike) -> NDArray[np.float64]:
    """Probability that a call waits; 1 where the queue is unstable (``N <= A``)."""
    n = np.asarray(agents, dtype=np.float64)
    a = np.asarray(load, dtype=np.float64)
    b = erlang_b(n.astype(np.int64), a)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = n * b / (n - a * (1.0 - b))
    return np.asarray(np.where(n > a, np.clip(c, 0.0, 1.0), 1.0), dtype=np.float64)


def service_level(agents: ArrayLike, load: ArrayLike, aht_s: ArrayLike, target_s: ArrayLike) -> NDArray[np.float64]:
    """Share of calls answered within ``target_s``; 0 for an unstable queue, 1 when there are no calls."""
    n = np.asarray(agents, dtype=np.float64)
    a = np.asarray(load, dtype=np.float64)
    c = erlang_c(n, a)
    with np.errstate(over="ignore", invalid="ignore"):
        sl = 1.0 - c * np.exp(-(n - a) * np.asarray(target_s, dtype=np.float64) / np.asarray(aht_s, dtype=np.float64))
    sl = np.where(n > a, sl, 0.0)
    return np.asarray(np.where(a <= 0, 1.0, sl), dtype=np.float64)


def required_agents(load: ArrayLike, aht_s: ArrayLike, target_s: ArrayLike, goal: ArrayLike,
                    limit: int = 2000) -> NDArray[np.int64]:
    """Fewest agents reaching ``goal`` service level for each load (0 where there is no load)."""
    a = np.asarray(load, dtype=np.float64)
    aht, target, wanted = np.broadcast_arrays(np.asarray(aht_s, dtype=np.float64),
                                              np.asarray(target_s, dtype=np.float64),
                                              np.asarray(goal, dtype=np.float64))
    a, aht, target, wanted = np.broadcast_arrays(a, aht, target, wanted)
    result = np.where(a > 0, 0, 0).astype(np.int64)
    pending = a > 0
    b = np.ones(a.shape, dtype=np.float64)
    for k in range(1, limit + 1):
        b = a * b / (k + a * b)
        if not pending.any():
            break
        stable = k > a
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            c = k * b / (k - a * (1.0 - b))
            sl = 1.0 - c * np.exp(-(k - a) * target / aht)
        reached = pending & stable & (sl >= wanted)
        result = np.where(reached, k, result)
        pending &= ~reached
    if pending.any():
        raise ValueError("offered load too large for the agent limit")
    return result
