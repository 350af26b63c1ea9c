"""Exponential backoff with jitter, and the injectable sleep every wait in the adapter goes through."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Backoff:
    """``delay(n)`` for the n-th retry (0-based): ``base * factor**n`` capped at ``cap``, then jittered
    into ``[d/2, d]`` so that replicas that failed together do not retry together."""

    base: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    rng: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * self.factor ** max(0, attempt))
        return ceiling / 2 + self.rng() * ceiling / 2


async def real_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)
