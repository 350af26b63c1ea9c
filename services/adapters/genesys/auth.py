"""OAuth client credentials for Genesys Cloud as an ``httpx.Auth`` flow.

The token is fetched from the login host, cached, and renewed shortly before it expires. A 401
triggers exactly one refresh and one retry. Concurrent requests that find the token missing,
expiring or rejected share one refresh: the refresh runs under an asyncio lock and whoever gets the
lock second sees the new token (the generation counter) and does not fetch again.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import AsyncGenerator, Callable, Generator

import httpx
from pydantic import SecretStr

from services.adapters.genesys.errors import (
    GenesysAuthError,
    GenesysUnavailable,
    error_details,
    parse_retry_after,
)

log = logging.getLogger(__name__)

#: Used when the token response omits ``expires_in`` (the documented default lifetime is 24 h).
DEFAULT_TOKEN_LIFETIME = 86_399.0


class TokenEndpointUnavailable(GenesysUnavailable):
    """The login host answered 429/5xx: retryable, like any other outage."""

    def __init__(self, message: str, *, status: int, retry_after: float | None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class ClientCredentialsAuth(httpx.Auth):
    def __init__(self, client_id: str, client_secret: SecretStr, login_url: str, *,
                 refresh_margin: float = 300.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        if not client_id or not client_secret.get_secret_value():
            raise GenesysAuthError("GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET must both be set")
        self._client_id = client_id
        self._client_secret = client_secret
        self.token_url = f"{login_url.rstrip('/')}/oauth/token"
        self._refresh_margin = refresh_margin
        self._monotonic = monotonic
        self._lock = asyncio.Lock()
        self._header: str | None = None
        self._renew_at = 0.0
        self.generation = 0  # bumped by every successful token fetch

    def __repr__(self) -> str:  # never show the secret, even by accident
        return f"ClientCredentialsAuth(client_id={self._client_id!r}, token_url={self.token_url!r})"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("the Genesys adapter is asyncio-only; use httpx.AsyncClient")
        yield request  # pragma: no cover - makes this a generator, as httpx expects

    def _fresh(self) -> bool:
        return self._header is not None and self._monotonic() < self._renew_at

    def _token_request(self) -> httpx.Request:
        pair = f"{self._client_id}:{self._client_secret.get_secret_value()}".encode()
        return httpx.Request(
            "POST", self.token_url,
            headers={"Authorization": "Basic " + base64.b64encode(pair).decode(),
                     "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            content=b"grant_type=client_credentials",
        )

    async def _store(self, response: httpx.Response) -> None:
        await response.aread()
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200:
            code, message, context_id = error_details(body, response.headers)
            detail = f"{code or response.status_code}: {message or response.reason_phrase}"
            if response.status_code == 429 or response.status_code >= 500:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                raise TokenEndpointUnavailable(f"token endpoint unavailable ({detail})",
                                               status=response.status_code, retry_after=retry_after)
            raise GenesysAuthError(f"token request rejected ({detail}); check GENESYS_CLIENT_ID/SECRET "
                                   "and that the OAuth client uses the Client Credentials grant",
                                   status=response.status_code, code=code, context_id=context_id)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise GenesysAuthError("token response has no access_token", status=response.status_code)
        token_type = body.get("token_type") if isinstance(body.get("token_type"), str) else "bearer"
        try:
            lifetime = float(body.get("expires_in", DEFAULT_TOKEN_LIFETIME))
        except (TypeError, ValueError):
            lifetime = DEFAULT_TOKEN_LIFETIME
        # Renew a little early: a margin of at most 10% of the lifetime (tokens may be as short as 5 min).
        margin = min(self._refresh_margin, lifetime * 0.1)
        self._header = f"{token_type.capitalize()} {token}"
        self._renew_at = self._monotonic() + max(0.0, lifetime - margin)
        self.generation += 1
        log.info("Genesys access token obtained (valid %.0fs, renewed after %.0fs)", lifetime, lifetime - margin)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if not self._fresh():
            async with self._lock:
                if not self._fresh():  # someone else may have refreshed while we waited
                    await self._store((yield self._token_request()))
        used = self.generation
        assert self._header is not None
        request.headers["Authorization"] = self._header
        response = yield request
        if response.status_code != 401:
            return
        log.info("Genesys answered 401; refreshing the token once and retrying")
        async with self._lock:
            if self.generation == used:  # nobody replaced the rejected token yet
                self._header = None
                await self._store((yield self._token_request()))
        assert self._header is not None
        request.headers["Authorization"] = self._header
        yield request

