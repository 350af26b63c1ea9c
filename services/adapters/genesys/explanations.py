"""Adherence explanations: approved ones suppress escalation; Slack approvals can be written back.

Reading: ``POST /api/v2/workforcemanagement/businessunits/{bu}/adherence/explanations/query`` (a
unit's) and ``POST /api/v2/workforcemanagement/agents/{agentId}/adherence/explanations/query`` (one
agent's) answer ``{job, result, downloadUrl}``: the result inline, a ``downloadUrl``, or a
``Processing`` job polled on ``GET /api/v2/workforcemanagement/adherence/explanations/jobs/{jobId}``
(``async_job.py``).

Writing: ``POST /api/v2/workforcemanagement/agents/{agentId}/adherence/explanations`` with
``status: Approved`` (a new explanation). That POST is not idempotent and has no external-id field,
so the approval's reference goes into the ``notes`` (:func:`reference_line`) and every attempt first
looks for an explanation of the agent carrying it (the agent query): a retry after a crash, a lost
response or a timeout finds the one already written instead of adding a second.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from services.adapters.genesys.async_job import JobState, JobWait, follow, job_result
from services.adapters.genesys.backoff import Backoff, Sleep, real_sleep
from services.adapters.genesys.client import GenesysClient
from services.adapters.genesys.errors import GenesysMalformed, GenesysRateLimited, GenesysUnavailable
from services.adapters.genesys.parse import Explanation, format_time, read_explanation
from services.adapters.retry import Again, with_retries

log = logging.getLogger(__name__)

WFM = "/api/v2/workforcemanagement"
#: Looked for around the written window, in case Genesys stores the start rounded to the minute.
LOOKUP_MARGIN = timedelta(minutes=1)


def reference_line(ref: str) -> str:
    """The mark an explanation written by the bot carries in its notes (the closing bracket keeps
    one reference from matching a longer one)."""
    return f"[adherence-bot ref: {ref}]"


class Explanations:
    def __init__(self, client: GenesysClient, *, sleep: Sleep = real_sleep, backoff: Backoff | None = None,
                 max_polls: int = 8, max_writes: int = 3, write_backoff: Backoff | None = None) -> None:
        self.client = client
        self._sleep = sleep
        self._backoff = backoff or Backoff(base=0.5, cap=10.0)
        self.max_polls = max_polls
        self.max_writes = max_writes
        # Seconds, not milliseconds, before looking again after a write that may have gone through:
        # Genesys adds an explanation through a job, so it can take a moment to show in a query.
        self._write_backoff = write_backoff or Backoff(base=2.0, cap=30.0)

    async def query(self, bu_id: str, mu_id: str, start: datetime, end: datetime) -> list[Explanation]:
        """Every explanation (any status) of the unit's agents overlapping ``[start, end)``."""
        path = f"{WFM}/businessunits/{bu_id}/adherence/explanations/query"
        return await self._query(path, {"startDate": format_time(start), "endDate": format_time(end),
                                        "managementUnitIds": [mu_id]})

    async def agent_query(self, agent_id: str, start: datetime, end: datetime) -> list[Explanation]:
        """Every explanation (any status) of one agent overlapping ``[start, end)``."""
        path = f"{WFM}/agents/{agent_id}/adherence/explanations/query"
        return await self._query(path, {"startDate": format_time(start), "endDate": format_time(end)})

    async def _query(self, path: str, body: dict[str, Any]) -> list[Explanation]:
        answer = await self.client.post(path, body, idempotent=True)  # a query: safe to send again
        listing = await self._result(answer, path)
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

    # ---- the write-back --------------------------------------------------------------------------------------
    async def add_approved(self, agent_id: str, start: datetime, length_minutes: int, notes: str, *,
                           ref: str) -> str | None:
        """Write a Slack-approved exception back to WFM as an approved explanation, once per ``ref``
        (stable across retries: the incident's id). Returns the job id of the write, or None when an
        explanation carrying ``ref`` was already there."""
        minutes = max(1, length_minutes)
        marker = reference_line(ref)
        body = {"type": "Late", "startDate": format_time(start), "lengthMinutes": minutes,
                "notes": f"{notes} {marker}".strip(), "status": "Approved"}
        end = start + timedelta(minutes=minutes)

        async def attempt(n: int) -> str | None:
            # The lookup is not guarded: if it fails, this write fails (the outbox tries the step again
            # later). Writing without having looked would risk the very duplicate this is here to avoid,
            # while a write-back that is late only delays the explanation in WFM.
            existing = await self.find_written(agent_id, start, end, ref)
            if existing is not None:
                log.info("adherence explanation %s for %s already written (%s); not writing another",
                         existing.id, agent_id, ref)
                return None
            return await self._add(agent_id, body, ref, n)

        return await with_retries(attempt, attempts=self.max_writes, delay=self._write_backoff.delay,
                                  sleep=self._sleep)

    async def find_written(self, agent_id: str, start: datetime, end: datetime, ref: str) -> Explanation | None:
        """The agent's explanation overlapping ``[start, end)`` whose notes carry ``ref``, in any status
        (one denied in WFM since is still the one the bot wrote: not written again)."""
        marker = reference_line(ref)
        for explanation in await self.agent_query(agent_id, start - LOOKUP_MARGIN, end + LOOKUP_MARGIN):
            if explanation.agent_id == agent_id and marker in explanation.notes:
                return explanation
        return None

    async def _add(self, agent_id: str, body: dict[str, Any], ref: str, attempt: int) -> str | None:
        path = f"{WFM}/agents/{agent_id}/adherence/explanations"
        try:
            # Not idempotent: the client never sends it twice by itself; a retry comes back here, looking first.
            answer = await self.client.post(path, body)
        except GenesysUnavailable as error:  # 5xx, a timeout or a lost answer: it may have been stored
            log.warning("writing adherence explanation %s failed (%s, attempt %d/%d); will look for it and retry",
                        ref, error, attempt, self.max_writes)
            raise Again(error) from error
        except GenesysRateLimited as error:  # refused, not stored
            raise Again(error, retry_after=error.retry_after) from error
        job = answer.get("job") if isinstance(answer, dict) else None
        job_id = job.get("id") if isinstance(job, dict) and isinstance(job.get("id"), str) else None
        log.info("wrote adherence explanation for %s (%s, job %s)", agent_id, ref, job_id)
        return job_id
