"""Adherence explanations: approved ones suppress escalation; Slack approvals can be written back.

Reading: ``POST /api/v2/workforcemanagement/businessunits/{bu}/adherence/explanations/query``
answers ``{job, result, downloadUrl}``: the result inline, a ``downloadUrl``, or a ``Processing`` job
polled on ``GET /api/v2/workforcemanagement/adherence/explanations/jobs/{jobId}`` (``async_job.py``).

Writing: ``POST /api/v2/workforcemanagement/agents/{agentId}/adherence/explanations`` with
``status: Approved`` (a new explanation).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.adapters.genesys.async_job import JobState, JobWait, follow, job_result
from services.adapters.genesys.backoff import Backoff, Sleep, real_sleep
from services.adapters.genesys.client import GenesysClient
from services.adapters.genesys.errors import GenesysMalformed
from services.adapters.genesys.parse import Explanation, format_time, read_explanation

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
        body = await self.client.post(path, {"startDate": format_time(start), "endDate": format_time(end),
                                             "managementUnitIds": [mu_id]}, idempotent=True)
        listing = await self._result(body, path)
        found = [read_explanation(raw) for raw in listing.get("entities") or []]
        return [e for e in found if e is not None]

    async def _result(self, body: Any, path: str) -> dict[str, Any]:
        what = f"explanation query {path}"

        async def poll(state: JobState) -> Any:
            if state.job_id is None:
                raise GenesysMalformed(f"{what}: Processing without a job id")
            return await self.client.get(f"{WFM}/adherence/explanations/jobs/{state.job_id}")

        done = await follow(body, poll, what=what, wait=JobWait(self.max_polls + 1, self._backoff, self._sleep))
        return await job_result(self.client, done, what)

    async def add_approved(self, agent_id: str, start: datetime, length_minutes: int, notes: str) -> str | None:
        """Write a Slack-approved exception back to WFM as an approved explanation; returns the job id."""
        body = await self.client.post(
            f"{WFM}/agents/{agent_id}/adherence/explanations",
            {"type": "Late", "startDate": format_time(start), "lengthMinutes": max(1, length_minutes),
             "notes": notes, "status": "Approved"},
        )
        job = body.get("job") if isinstance(body, dict) else None
        return job.get("id") if isinstance(job, dict) and isinstance(job.get("id"), str) else None
