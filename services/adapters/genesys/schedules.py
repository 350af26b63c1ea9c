"""Published schedules through ``POST .../managementunits/{id}/agentschedules/search`` (not deprecated).

Genesys answers the same search in one of three ways, with undocumented thresholds:

1. ``Complete`` with ``result`` inline;
2. ``Complete`` with only ``downloadUrl``: GET it (no auth header; it is pre-signed) for the result;
3. ``Processing`` with an ``operationId``: the result comes later, by notification on
   ``v2.workforcemanagement.users.{id}.schedules.search`` (``{operationId, downloadUrl}``).
   A client-credentials caller may not be able to receive that topic (UNCONFIRMED), and there is no
   job route to poll, so we wait for the notification (when a topic is configured) *and* repeat the
   search with backoff; whichever completes first wins.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from services.adapters.genesys.backoff import Backoff, Sleep, real_sleep
from services.adapters.genesys.client import GenesysClient, as_object
from services.adapters.genesys.errors import GenesysAsyncPending, GenesysError, GenesysMalformed
from services.adapters.genesys.parse import format_time

log = logging.getLogger(__name__)


class AsyncResults:
    """Futures for WFM async operations, resolved by notifications (which may arrive before the POST returns)."""

    def __init__(self, keep: int = 256) -> None:
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._early: dict[str, dict[str, Any]] = {}
        self._keep = keep

    def expect(self, operation_id: str) -> asyncio.Future[dict[str, Any]]:
        future = self._waiting.get(operation_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._waiting[operation_id] = future
            if operation_id in self._early:
                future.set_result(self._early.pop(operation_id))
        return future

    def forget(self, operation_id: str) -> None:
        self._waiting.pop(operation_id, None)

    def resolve(self, body: dict[str, Any]) -> None:
        operation_id = body.get("operationId")
        if not isinstance(operation_id, str):
            return
        future = self._waiting.pop(operation_id, None)
        if future is None:
            self._early[operation_id] = body
            while len(self._early) > self._keep:
                self._early.pop(next(iter(self._early)))
        elif not future.done():
            future.set_result(body)


class ScheduleSearch:
    def __init__(self, client: GenesysClient, *, results: AsyncResults | None = None, sleep: Sleep = real_sleep,
                 backoff: Backoff | None = None, max_rounds: int = 8, users_per_request: int = 200) -> None:
        self.client = client
        self.results = results or AsyncResults()
        self._sleep = sleep
        self._backoff = backoff or Backoff(base=1.0, cap=20.0)
        self.max_rounds = max_rounds
        self.users_per_request = users_per_request

    async def search(self, mu_id: str, user_ids: Sequence[str], start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Every ``agentSchedules`` item of the published schedules of these users in ``[start, end)``."""
        ids = list(dict.fromkeys(user_ids))
        chunks = [ids[i:i + self.users_per_request] for i in range(0, len(ids), self.users_per_request)]
        results = await asyncio.gather(*(self._search_chunk(mu_id, chunk, start, end) for chunk in chunks))
        items: list[dict[str, Any]] = []
        for result in results:
            items.extend(i for i in result.get("agentSchedules") or [] if isinstance(i, dict))
        return items

    async def _search_chunk(self, mu_id: str, user_ids: list[str], start: datetime, end: datetime) -> dict[str, Any]:
        path = f"/api/v2/workforcemanagement/managementunits/{mu_id}/agentschedules/search"
        request = {"startDate": format_time(start), "endDate": format_time(end), "userIds": user_ids}
        pending: list[str] = []
        try:
            for round_ in range(self.max_rounds):
                envelope = as_object(await self.client.post(path, request, idempotent=True), path)
                status = envelope.get("status")
                if status == "Complete":
                    return await self._complete(envelope, path)
                if status in ("Error", "Canceled"):
                    raise GenesysError(f"schedule search of {mu_id} ended with status {status}")
                if status != "Processing":
                    raise GenesysMalformed(f"{path}: unknown status {status!r}")
                operation_id = envelope.get("operationId")
                delay = self._backoff.delay(round_)
                if isinstance(operation_id, str):
                    pending.append(operation_id)
                    log.info("schedule search of %s is processing (operation %s); waiting up to %.1fs",
                             mu_id, operation_id, delay)
                    notified = await self._wait_notification(pending, delay)
                    if notified is not None:
                        return await self._from_notification(notified, path)
                else:
                    await self._sleep(delay)
            raise GenesysAsyncPending(f"schedule search of {mu_id} still processing after {self.max_rounds} rounds")
        finally:
            for operation_id in pending:
                self.results.forget(operation_id)

    async def _complete(self, envelope: Mapping[str, Any], path: str) -> dict[str, Any]:
        result = envelope.get("result")
        if isinstance(result, dict):
            return result
        url = envelope.get("downloadUrl")
        if isinstance(url, str) and url:
            return as_object(await self.client.download(url), f"{path} download")
        raise GenesysMalformed(f"{path}: Complete without result or downloadUrl")

    async def _from_notification(self, body: Mapping[str, Any], path: str) -> dict[str, Any]:
        url = body.get("downloadUrl")
        if not isinstance(url, str) or not url:
            raise GenesysMalformed(f"{path}: async notification without downloadUrl")
        return as_object(await self.client.download(url), f"{path} download")

    async def _wait_notification(self, operation_ids: list[str], timeout: float) -> dict[str, Any] | None:
        """Wait for any of our operations' notifications, or for ``timeout`` (through the injected sleep)."""
        futures = [self.results.expect(o) for o in operation_ids]
        done_now = next((f for f in futures if f.done()), None)
        if done_now is not None:
            return done_now.result()
        sleeper = asyncio.ensure_future(self._sleep(timeout))
        waiters = {asyncio.ensure_future(asyncio.shield(f)) for f in futures}
        try:
            await asyncio.wait({sleeper, *waiters}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, *waiters):
                task.cancel()
        for future in futures:
            if future.done() and not future.cancelled():
                return future.result()
        return None
