"""Observation and fault injection around every route: the request log, the in-flight count, an
outage (every REST route 500), and :meth:`FaultsApi.fail` / :meth:`FaultsApi.slow` /
:meth:`FaultsApi.lose_response`."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import defaultdict
from typing import Any

from aiohttp import web

from services.ports import Clock
from testing.fake_genesys.auth import Handler
from testing.fake_genesys.core import FakeCore
from testing.fake_genesys.model import Fault, RequestRecord
from testing.fake_genesys.wire import error_response


class FaultsApi(FakeCore):
    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self.faults: list[Fault] = []
        self.requests: list[RequestRecord] = []
        self.in_flight = self.max_in_flight = 0
        self.rest_down = False  # every REST route answers 500 (see ``FakeGenesys.outage``)

    def fail(self, path: str, status: int = 500, *, times: int = 1, method: str | None = None,
             retry_after: str | None = None, body: dict[str, Any] | None = None) -> Fault:
        fault = Fault(path, status, times, method, retry_after, 0.0, body)
        self.faults.append(fault)
        return fault

    def slow(self, path: str, seconds: float, *, times: int = 1, method: str | None = None) -> Fault:
        fault = Fault(path, None, times, method, None, seconds)
        self.faults.append(fault)
        return fault

    def lose_response(self, path: str, *, times: int = 1, method: str | None = None) -> Fault:
        """The request is served (whatever it writes is stored), then the connection closes without an
        answer: the client sees "server disconnected", as when a reply is lost after Genesys accepted it."""
        fault = Fault(path, None, times, method, lose_response=True)
        self.faults.append(fault)
        return fault

    def requests_to(self, pattern: str, method: str | None = None) -> list[RequestRecord]:
        return [r for r in self.requests if re.search(pattern, r.path) and (method is None or r.method == method)]

    @web.middleware
    async def _observe(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body: Any = None
        if request.can_read_body and request.content_type == "application/json":
            with contextlib.suppress(ValueError):
                body = await request.json()
        query: dict[str, list[str]] = defaultdict(list)
        for key, value in request.query.items():
            query[key].append(value)
        record = RequestRecord(request.method, request.path, dict(query), request.headers.get("Authorization"), body)
        self.requests.append(record)
        if request.path.startswith("/channels/"):  # a WebSocket lives long: not a request in flight
            return await self._serve(request, handler, record)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._serve(request, handler, record)
        finally:
            self.in_flight -= 1

    async def _serve(self, request: web.Request, handler: Handler, record: RequestRecord) -> web.StreamResponse:
        if self.rest_down and request.path.startswith("/api/"):
            record.status = 500
            return error_response(500, "internal.server.error", "The requested operation failed with status 500")
        lose = False
        for fault in self.faults:
            if fault.hits < fault.times and fault.matches(request.method, request.path):
                fault.hits += 1
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.status is not None:
                    record.status = fault.status
                    return self._fault_response(fault)
                lose = fault.lose_response
                break
        response = await handler(request)
        record.status = response.status
        if lose and request.transport is not None:
            record.status = 0  # no answer reached the client
            request.transport.close()
        return response

    def _fault_response(self, fault: Fault) -> web.Response:
        assert fault.status is not None
        headers = {}
        if fault.status == 429:
            headers = {"inin-ratelimit-allowed": "300", "inin-ratelimit-count": "301", "inin-ratelimit-reset": "38"}
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            return error_response(429, "too.many.requests.retry.after", "Rate limit exceeded the maximum",
                                  headers=headers)
        if fault.body is not None:
            return web.json_response(fault.body, status=fault.status)
        code = {500: "internal.server.error", 502: "bad.gateway", 503: "service.unavailable",
                504: "gateway.timeout"}.get(fault.status, "bad.request")
        return error_response(fault.status, code, f"The requested operation failed with status {fault.status}")
