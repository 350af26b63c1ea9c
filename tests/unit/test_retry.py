"""with_retries (tenacity underneath): which failures are tried again, after how long, and what the caller gets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from services.adapters.retry import Again, with_retries


class Recorder:
    def __init__(self) -> None:
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)


def failing(*failures: Exception, answer: str = "ok") -> tuple[list[int], Callable[[int], Awaitable[str]]]:
    seen: list[int] = []

    async def attempt(n: int) -> str:
        seen.append(n)
        if n <= len(failures):
            raise failures[n - 1]
        return answer

    return seen, attempt


async def test_the_server_s_wait_wins_over_the_backoff_and_attempts_are_numbered() -> None:
    sleep = Recorder()
    seen, attempt = failing(Again(ValueError("429"), retry_after=7.0), Again(ValueError("503")))
    assert await with_retries(attempt, attempts=5, delay=lambda n: 10.0 * (n + 1), sleep=sleep) == "ok"
    assert seen == [1, 2, 3]
    assert sleep.slept == [7.0, 20.0]  # Retry-After, then delay(1) for the second retry


async def test_a_failure_not_marked_again_ends_the_call_at_once() -> None:
    sleep = Recorder()
    seen, attempt = failing(KeyError("404"))
    with pytest.raises(KeyError):
        await with_retries(attempt, attempts=5, delay=lambda n: 1.0, sleep=sleep)
    assert seen == [1] and sleep.slept == []


async def test_the_last_error_is_raised_as_it_is_with_its_cause() -> None:
    sleep = Recorder()
    cause = ConnectionError("refused")
    last = RuntimeError("still down")
    again = Again(last)
    again.__cause__ = cause
    seen, attempt = failing(Again(RuntimeError("down")), again, answer="never")
    with pytest.raises(RuntimeError) as caught:
        await with_retries(attempt, attempts=2, delay=lambda n: 0.5, sleep=sleep)
    assert caught.value is last and caught.value.__cause__ is cause
    assert seen == [1, 2] and sleep.slept == [0.5]  # no sleep after the last attempt
