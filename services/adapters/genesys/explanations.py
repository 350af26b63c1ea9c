"""Adherence explanations: approved ones suppress escalation; Slack approvals can be written back.

Reading: ``POST /api/v2/workforcemanagement/businessunits/{bu}/adherence/explanations/query``
answers ``{job, result, downloadUrl}``: the result inline, a ``downloadUrl``, or a ``Processing`` job
polled on ``GET /api/v2/workforcemanagement/adherence/explanations/jobs/{jobId}``.

Writing: ``POST /api/v2/workforcemanagement/agents/{agentId}/adherence/explanations`` with
``status: Approved`` (a new explanation).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from services.adapters.genesys.backoff import Backoff, Sleep, real_sleep
from services.adapters.genesys.client import GenesysClient, as_object
from services.adapters.genesys.errors import GenesysAsyncPending, GenesysError
from services.adapters.genesys.parse import Explanation, format_time, obj, read_explanation

log = logging.getLogger(__name__)

WFM = "/api/v2/workforcemanagement"


class Explanations:
    def __init__(self, client: GenesysClient, *, sleep: Sleep = real_sleep, backoff: Backoff | None = None,
                 max_polls: int = 8) -> None:
        self.client = client
        self._sleep = sleep
        self._backoff = backoff or Backoff(base=0.5, cap=10.0)
        self.max_polls = max_polls

    async def query(self, bu_id: str, mu_id: str, start: datetime, end: datetime) -> list[Explanation]:
        """Every explanation (any status) of the unit's agents overlapping ``[start, end)``."""
        path = f"{WFM}/businessunits/{bu_id}/adherence/explanations/query"
        body = as_object(await self.client.post(path, {"startDate": format_time(start), "endDate": format_time(end),
                                                       "managementUnitIds": [mu_id]}, idempotent=True), path)
        listing = await self._result(body, path)
        found = [read_explanation(raw) for raw in listing.get("entities") or []]
        return [e for e in found if e is not None]

    async def _result(self, body: dict[str, Any], path: str) -> dict[str, Any]:
        for poll in range(self.max_polls + 1):
            result = body.get("result")
            if isinstance(result, dict):
                return result
            url = body.get("downloadUrl")
            if isinstance(url, str) and url:
                return as_object(await self.client.download(url), f"{path} download")
            job = obj(body.get("job")) or body
            status, job_id = job.get("status"), job.get("id")
            if status == "Error":
                raise GenesysError(f"{path}: job {job_id} failed: {job.get('error')!r}")
            if not isinstance(job_id, str) or poll == self.max_polls:
                break
            await self._sleep(self._backoff.delay(poll))
            body = as_object(await self.client.get(f"{WFM}/adherence/explanations/jobs/{job_id}"), "explanation job")
        raise GenesysAsyncPending(f"{path}: no result after {self.max_polls} polls")

    async def add_approved(self, agent_id: str, start: datetime, length_minutes: int, notes: str) -> str | None:
        """Write a Slack-approved exception back to WFM as an approved explanation; returns the job id."""
        body = await self.client.post(
            f"{WFM}/agents/{agent_id}/adherence/explanations",
            {"type": "Late", "startDate": format_time(start), "lengthMinutes": max(1, length_minutes),
             "notes": notes, "status": "Approved"},
        )
        job = body.get("job") if isinstance(body, dict) else None
        return job.get("id") if isinstance(job, dict) and isinstance(job.get("id"), str) else None
