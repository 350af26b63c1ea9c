"""Retries the SDKs do not make for us (Genesys HTTP, coaching appointments), on ``tenacity``.

An attempt that is worth repeating raises :class:`Again` around the error the caller should get if
it was the last one; anything else it raises ends the call at once. Between attempts the wait is
the ``retry_after`` the server asked for (a 429's ``Retry-After``), else ``delay(n)`` for the n-th
retry (0-based), slept through the injected ``sleep`` (tests record it, nothing waits for real).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


class Again(Exception):
    """A failed attempt worth another: ``error`` is raised as it is when no attempt is left."""

    def __init__(self, error: Exception, *, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error, self.retry_after = error, retry_after


async def with_retries(attempt: Callable[[int], Awaitable[T]], *, attempts: int, delay: Callable[[int], float],
                       sleep: Sleep) -> T:
    """``attempt(n)`` for n = 1, 2, ... until it returns, raises anything but :class:`Again`, or the
    ``attempts`` are used up (then the last :class:`Again`'s error is raised, with its cause)."""

    def wait(state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome is not None else None
        asked = failure.retry_after if isinstance(failure, Again) else None
        return asked if asked is not None else delay(state.attempt_number - 1)

    retrying = AsyncRetrying(stop=stop_after_attempt(attempts), retry=retry_if_exception_type(Again), wait=wait,
                             sleep=sleep, reraise=True)
    try:
        async for state in retrying:
            with state:
                result = await attempt(state.retry_state.attempt_number)
    except Again as again:
        raise again.error from again.__cause__
    return result
