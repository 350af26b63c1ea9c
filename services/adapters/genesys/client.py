"""The one way the adapter talks HTTP to Genesys: bounded, retried, and narrowed into typed errors.

* concurrency is bounded per client (a semaphore held only while a request is in flight);
* 429 waits for ``Retry-After`` (any method: the request was refused, not processed);
* 5xx and timeouts back off exponentially with jitter, for a bounded number of attempts, but only
  for idempotent requests (a POST that may have been processed is left to its caller, which knows
  how to look for the result first);
* every failure is logged with Genesys's ``contextId`` and raised as a :mod:`errors` type.

The attempts are counted and spaced by :func:`services.adapters.retry.with_retries` (tenacity).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.adapters.genesys.auth import TokenEndpointUnavailable
from services.adapters.genesys.backoff import Backoff, Sleep, real_sleep
from services.adapters.genesys.errors import (
    GenesysAuthError,
    GenesysBadRequest,
    GenesysError,
    GenesysForbidden,
    GenesysMalformed,
    GenesysNotFound,
    GenesysRateLimited,
    GenesysUnavailable,
    error_details,
    parse_retry_after,
)
from services.adapters.genesys.metered import httpx_hooks
from services.adapters.retry import Again, with_retries

log = logging.getLogger(__name__)

Params = Mapping[str, str | int | bool | Sequence[str]]
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
#: Connection failures where the request surely never reached Genesys: safe to retry any method.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class ClientOptions:
    timeout: float = 20.0
    connect_timeout: float = 5.0
    max_connections: int = 20
    max_concurrency: int = 10
    max_attempts: int = 5
    #: A Retry-After longer than this is not waited for inside one call (the caller retries later).
    max_retry_after: float = 120.0
    backoff: Backoff = field(default_factory=Backoff)


class GenesysClient:
    def __init__(self, api_url: str, auth: httpx.Auth, *, options: ClientOptions | None = None,
                 sleep: Sleep = real_sleep, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.options = options or ClientOptions()
        self.api_url = api_url.rstrip("/")
        self._sleep = sleep
        self._auth = auth
        self._semaphore = asyncio.Semaphore(self.options.max_concurrency)
        self._http = httpx.AsyncClient(
            base_url=self.api_url,
            timeout=httpx.Timeout(self.options.timeout, connect=self.options.connect_timeout),
            limits=httpx.Limits(max_connections=self.options.max_connections,
                                max_keepalive_connections=self.options.max_connections),
            headers={"Accept": "application/json", "User-Agent": "adherence-bot"},
            transport=transport,
            event_hooks=httpx_hooks(),  # latency and status of every request, retries included
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---- verbs ------------------------------------------------------------------------------------
    async def get(self, path: str, params: Params | None = None) -> Any:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, json: Any = None, params: Params | None = None, *,
                   idempotent: bool = False) -> Any:
        return await self.request("POST", path, params=params, json=json, idempotent=idempotent)

    async def put(self, path: str, json: Any = None, params: Params | None = None) -> Any:
        return await self.request("PUT", path, params=params, json=json)

    async def delete(self, path: str) -> Any:
        return await self.request("DELETE", path)

    async def exists(self, path: str) -> bool:
        """``HEAD path``: True on 2xx, False on 404."""
        try:
            await self.request("HEAD", path)
        except GenesysNotFound:
            return False
        return True

    async def download(self, url: str) -> Any:
        """GET a ``downloadUrl``. It is treated as pre-signed: no Authorization header is sent."""
        return await self.request("GET", url, authenticated=False)

    async def paged(self, path: str, params: Params | None = None, *, page_size: int = 100,
                    max_pages: int = 10_000) -> AsyncIterator[dict[str, Any]]:
        """Entities of a standard paged listing (``pageSize``/``pageNumber``, 1-based), page by page."""
        for page in range(1, max_pages + 1):
            body = as_object(await self.get(path, {**(params or {}), "pageSize": page_size, "pageNumber": page}),
                             path)
            entities = [e for e in body.get("entities") or [] if isinstance(e, dict)]
            for entity in entities:
                yield entity
            page_count = body.get("pageCount")
            if isinstance(page_count, int):
                if page >= page_count:
                    return
            elif not body.get("nextUri") or len(entities) < page_size:
                return
            if not entities:
                return

    # ---- the attempts ------------------------------------------------------------------------------
    async def request(self, method: str, path: str, *, params: Params | None = None, json: Any = None,
                      idempotent: bool | None = None, authenticated: bool = True) -> Any:
        method = method.upper()
        retry_unsafe = method in _IDEMPOTENT if idempotent is None else idempotent
        where = f"{method} {_strip_query(path)}"
        attempts = self.options.max_attempts

        async def attempt(n: int) -> httpx.Response:
            return await self._attempt(method, path, params, json, authenticated=authenticated,
                                       retry_unsafe=retry_unsafe, where=where, tag=f"attempt {n}/{attempts}")

        response = await with_retries(attempt, attempts=attempts, delay=self.options.backoff.delay, sleep=self._sleep)
        return _json(response, where)

    async def _attempt(self, method: str, path: str, params: Params | None, json: Any, *, authenticated: bool,
                       retry_unsafe: bool, where: str, tag: str) -> httpx.Response:
        """One request: the 2xx response, :class:`Again` around a failure worth retrying, else the typed error."""
        try:
            async with self._semaphore:
                response = await self._http.request(
                    method, path, params=_params(params), json=json,
                    auth=self._auth if authenticated else None,  # None: no auth at all
                )
        except TokenEndpointUnavailable as error:
            log.warning("Genesys %s: %s (%s)", where, error, tag)
            raise Again(GenesysUnavailable(f"{where}: {error}", status=error.status),
                        retry_after=error.retry_after) from error
        except httpx.HTTPError as error:
            kind = type(error).__name__
            log.warning("Genesys %s: %s %s (%s)", where, kind, error, tag)
            unreachable = GenesysUnavailable(f"{where}: {kind} {error}".strip())
            if retry_unsafe or isinstance(error, _NOT_SENT):
                raise Again(unreachable) from error
            raise unreachable from error

        status = response.status_code
        if 200 <= status < 300:
            return response
        body = _json_or_none(response)
        code, message, context_id = error_details(body, response.headers)
        log.warning("Genesys %s -> %d %s: %s (contextId=%s, %s)", where, status, code or "",
                    message or response.reason_phrase, context_id, tag)
        detail = f"{where} -> {status} {code or ''}: {message or response.reason_phrase}"
        if status == 429:  # refused, not processed: any method may be sent again
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            limited = GenesysRateLimited(detail, retry_after=retry_after, code=code, context_id=context_id)
            if retry_after is not None and retry_after > self.options.max_retry_after:
                raise limited  # not waited for inside one call: the caller retries later
            raise Again(limited, retry_after=retry_after)
        if status >= 500:
            unavailable = GenesysUnavailable(detail, status=status, code=code, context_id=context_id)
            raise Again(unavailable) if retry_unsafe else unavailable
        raise _narrow(status)(detail, status=status, code=code, context_id=context_id)


def _narrow(status: int) -> type[GenesysError]:
    if status == 401:
        return GenesysAuthError
    if status == 403:
        return GenesysForbidden
    if status == 404:
        return GenesysNotFound
    return GenesysBadRequest


def _params(params: Params | None) -> dict[str, Any] | None:
    if params is None:
        return None
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (str, int)):
            out[key] = value
        else:
            out[key] = list(value)  # repeated key: collectionFormat "multi"
    return out


def _strip_query(path: str) -> str:
    return path.split("?", 1)[0]


def _json(response: httpx.Response, where: str) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError as error:
        raise GenesysMalformed(f"{where}: response is not JSON", status=response.status_code) from error


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return None


def as_object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise GenesysMalformed(f"{what}: expected a JSON object, got {type(body).__name__}")
    return body
