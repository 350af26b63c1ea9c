"""Published schedules through ``POST .../managementunits/{id}/agentschedules/search`` (not deprecated).

Genesys answers the same search in one of three ways, with undocumented thresholds:

1. ``Complete`` with ``result`` inline;
2. ``Complete`` with only ``downloadUrl``: GET it (no auth header; it is pre-signed) for the result;
3. ``Processing`` with an ``operationId``: the result comes later, by notification on
   ``v2.workforcemanagement.users.{id}.schedules.search`` (``{operationId, downloadUrl}``).
   A client-credentials caller may not be able to receive that topic (UNCONFIRMED), and there is no
   job route to poll, so we wait for the notification (when a topic is configured) *and* repeat the
   search with backoff; whichever completes first wins (``async_job.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.adapters.genesys.async_job import AsyncResults, JobWait, follow, job_result
from services.adapters.genesys.backoff import Backoff, Sleep, real_sleep
from services.adapters.genesys.client import GenesysClient
from services.adapters.genesys.parse import format_time


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
        what = f"schedule search of {mu_id}"

        async def search() -> Any:
            return await self.client.post(path, request, idempotent=True)

        # No job route to poll: while Processing, the same search is asked again.
        done = await follow(await search(), lambda _: search(), what=what,
                            wait=JobWait(self.max_rounds, self._backoff, self._sleep), notices=self.results)
        return await job_result(self.client, done, what)
