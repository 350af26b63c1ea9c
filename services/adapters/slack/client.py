"""An ``AsyncWebClient`` that survives a bad minute: rate limits, 5xx and dropped connections.

One call attempt is made robust here (Retry-After honoured, bounded retries with backoff); if it
still fails the error propagates so the outbox retries the whole delivery later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import ClientConnectionError, ClientOSError, ServerDisconnectedError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from services.adapters.slack.metered import MeteredWebClient

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
DEFAULT_BASE_URL = "https://slack.com/api/"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    rate_limit_retries: int = 3
    server_error_retries: int = 3
    connection_retries: int = 3
    backoff_factor: float = 0.5
    max_retry_after: float = 60.0  # never park a delivery longer than this on one Retry-After


class RetryAfterHandler(AsyncRetryHandler):
    """HTTP 429: wait as long as Slack says (``Retry-After`` seconds), capped, then try again."""

    def __init__(self, max_retry_count: int, *, max_wait: float, sleep: Sleep = asyncio.sleep) -> None:
        super().__init__(max_retry_count)
        self.max_wait, self.sleep = max_wait, sleep

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        return response is not None and response.status_code == 429

    async def prepare_for_next_attempt_async(self, *, state: RetryState, request: HttpRequest,
                                             response: HttpResponse | None = None,
                                             error: Exception | None = None) -> None:
        wait = 1.0
        if response is not None:
            for name, values in response.headers.items():
                if name.lower() == "retry-after" and values:
                    with contextlib.suppress(ValueError):
                        wait = max(0.0, float(values[0]))
        wait = min(wait, self.max_wait)
        log.warning("Slack rate limit on %s: retrying in %.1fs", request.url, wait)
        state.next_attempt_requested = True
        await self.sleep(wait)
        state.increment_current_attempt()


class ServerErrorHandler(AsyncRetryHandler):
    """Any 5xx: back off exponentially (with jitter) and try again."""

    def __init__(self, max_retry_count: int, *, backoff_factor: float, sleep: Sleep = asyncio.sleep) -> None:
        super().__init__(max_retry_count, BackoffRetryIntervalCalculator(backoff_factor))
        self.sleep = sleep

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        return response is not None and 500 <= response.status_code < 600

    async def prepare_for_next_attempt_async(self, *, state: RetryState, request: HttpRequest,
                                             response: HttpResponse | None = None,
                                             error: Exception | None = None) -> None:
        wait = self.interval_calculator.calculate_sleep_duration(state.current_attempt)
        log.warning("Slack answered %s on %s: retrying in %.1fs",
                    response.status_code if response else "?", request.url, wait)
        state.next_attempt_requested = True
        await self.sleep(wait)
        state.increment_current_attempt()


class ConnectionErrorHandler(ServerErrorHandler):
    """Refused, reset or timed-out connections: same backoff as a 5xx."""

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        return isinstance(error, ClientConnectionError | ClientOSError | ServerDisconnectedError | TimeoutError)


def retry_handlers(policy: RetryPolicy = RetryPolicy(), sleep: Sleep = asyncio.sleep) -> list[AsyncRetryHandler]:
    return [
        RetryAfterHandler(policy.rate_limit_retries, max_wait=policy.max_retry_after, sleep=sleep),
        ServerErrorHandler(policy.server_error_retries, backoff_factor=policy.backoff_factor, sleep=sleep),
        ConnectionErrorHandler(policy.connection_retries, backoff_factor=policy.backoff_factor, sleep=sleep),
    ]


def make_web_client(token: str | None, *, base_url: str | None = None, policy: RetryPolicy = RetryPolicy(),
                    timeout: int = 30, sleep: Sleep = asyncio.sleep) -> AsyncWebClient:
    """The one way the bot builds its Slack client (``base_url`` = ``SLACK_API_URL`` or a test fake)."""
    url = base_url or DEFAULT_BASE_URL
    return MeteredWebClient(token=token, base_url=url if url.endswith("/") else url + "/", timeout=timeout,
                            retry_handlers=retry_handlers(policy, sleep))
