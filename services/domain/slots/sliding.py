"""Window operations over the last axis: "true in every interval of [s, s+d)" and window sums."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def all_over(mask: NDArray[np.bool_], length: int) -> NDArray[np.bool_]:
    """``out[..., s]`` is true when ``mask[..., s:s+length]`` is all true (``W - length + 1`` starts)."""
    width = mask.shape[-1]
    if width < length:
        return np.zeros((*mask.shape[:-1], 0), dtype=np.bool_)
    bad = np.zeros((*mask.shape[:-1], width + 1), dtype=np.int32)
    np.cumsum(~mask, axis=-1, out=bad[..., 1:])
    return np.asarray((bad[..., length:] - bad[..., :-length]) == 0)


def sum_over(values: NDArray[np.float64], length: int) -> NDArray[np.float64]:
    """``out[s] = values[s:s+length].sum()`` for a 1-D array, exact for short windows."""
    width = values.shape[-1]
    if width < length:
        return np.zeros(0, dtype=np.float64)
    out = values[: width - length + 1].copy()
    for shift in range(1, length):  # a few vector adds: exact, no cumulative rounding drift
        out += values[shift: width - length + 1 + shift]
    return out


def first_min_prefix(costs: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Running minimum of ``costs`` and the earliest index reaching it."""
    running = np.minimum.accumulate(costs)
    previous = np.concatenate(([np.iinfo(np.int64).max], running[:-1]))
    positions = np.arange(costs.size, dtype=np.int64)
    arg = np.maximum.accumulate(np.where(costs < previous, positions, 0))
    return running, arg
