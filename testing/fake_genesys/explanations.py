"""WFM adherence explanations: the business unit and agent queries (inline or as a job with a
``downloadUrl``), an agent's explanations read, added and reviewed, each change pushed on the BU and
agent topics."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from services.ports import Clock
from testing.fake_genesys.core import FakeCore
from testing.fake_genesys.model import iso, new_id, parse_iso
from testing.fake_genesys.wire import WFM, error_response


class ExplanationsApi(FakeCore):
    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self.explanations: dict[str, dict[str, Any]] = {}
        self.explanation_mode = "inline"  # inline | job
        self._jobs: dict[str, dict[str, Any]] = {}

    # ---- scenario -------------------------------------------------------------------------------------------
    async def add_explanation(self, agent_id: str, start: datetime, minutes: int, *, status: str = "Approved",
                              notes: str = "", reviewer: str | None = "sup-1", push: bool = True) -> dict[str, Any]:
        user = self.users[agent_id]
        unit = self.units[user.mu_id]
        explanation: dict[str, Any] = {
                       "id": new_id("expl"), "agent": {"id": agent_id}, "managementUnit": {"id": unit.id},
                       "businessUnit": {"id": unit.bu_id}, "type": "Late", "status": status,
                       "startDate": iso(start), "lengthMinutes": minutes, "notes": notes,
                       "reviewedBy": {"id": reviewer} if reviewer and status != "Pending" else None,
                       "reviewedDate": iso(self.clock.now()) if status != "Pending" else None}
        self.explanations[explanation["id"]] = explanation
        if push:
            await self._push(f"v2.workforcemanagement.businessunits.{unit.bu_id}.adherence.explanations", explanation)
            await self._push(f"v2.workforcemanagement.agents.{agent_id}.adherence.explanations", explanation)
        return explanation

    # ---- routes ---------------------------------------------------------------------------------------------
    def _explanation_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(f"{WFM}/businessunits/{{bu}}/adherence/explanations/query", self._explanations_query)
        router.add_post(f"{WFM}/agents/{{agent}}/adherence/explanations/query", self._agent_explanations_query)
        router.add_get(f"{WFM}/adherence/explanations/jobs/{{job}}", self._explanation_job)
        router.add_post(f"{WFM}/agents/{{agent}}/adherence/explanations", self._explanation_add)
        router.add_get(f"{WFM}/agents/{{agent}}/adherence/explanations/{{id}}", self._explanation_get)
        router.add_patch(f"{WFM}/agents/{{agent}}/adherence/explanations/{{id}}", self._explanation_patch)

    async def _explanations_query(self, request: web.Request) -> web.Response:
        body = await request.json()
        units = set(body.get("managementUnitIds") or [])
        agents = set(body.get("agentIds") or [])
        bu_id = request.match_info["bu"]
        found = [item for item in self._overlapping(body)
                 if item["businessUnit"]["id"] == bu_id
                 and (not units or item["managementUnit"]["id"] in units)
                 and (not agents or item["agent"]["id"] in agents)]
        return self._query_answer("QueryBuExplanations", found)

    async def _agent_explanations_query(self, request: web.Request) -> web.Response:
        agent_id = request.match_info["agent"]
        if agent_id not in self.users:
            return error_response(404, "not.found", "agent not found")
        body = await request.json()  # AgentQueryAdherenceExplanationsRequest: {startDate, endDate}
        return self._query_answer("QueryAgentExplanations",
                                  [item for item in self._overlapping(body) if item["agent"]["id"] == agent_id])

    def _overlapping(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        start, end = parse_iso(body["startDate"]), parse_iso(body["endDate"])
        found = []
        for item in self.explanations.values():
            item_start = parse_iso(item["startDate"])
            if item_start < end and item_start + timedelta(minutes=item["lengthMinutes"]) > start:
                found.append(item)
        return found

    def _query_answer(self, job_type: str, found: list[dict[str, Any]]) -> web.Response:
        """``{job, result, downloadUrl}``: the entities inline, or (``explanation_mode = "job"``) a job to poll."""
        job = {"id": new_id("job"), "type": job_type, "status": "Processing"}
        if self.explanation_mode == "job":
            url = self._store_download({"entities": found})
            self._jobs[job["id"]] = {**job, "status": "Complete", "downloadUrl": url}
            return web.json_response({"job": job, "result": None, "downloadUrl": None})
        return web.json_response({"job": {**job, "status": "Complete"}, "result": {"entities": found},
                                  "downloadUrl": None})

    async def _explanation_job(self, request: web.Request) -> web.Response:
        job = self._jobs.get(request.match_info["job"])
        if job is None:
            return error_response(404, "not.found", "job not found")
        return web.json_response({**job, "adherenceExplanation": None, "error": None})

    async def _explanation_add(self, request: web.Request) -> web.Response:
        agent_id = request.match_info["agent"]
        if agent_id not in self.users:
            return error_response(404, "not.found", "agent not found")
        body = await request.json()
        if body.get("type") != "Late" or "startDate" not in body or "lengthMinutes" not in body:
            return error_response(400, "bad.request", "type, startDate and lengthMinutes are required")
        await self.add_explanation(agent_id, parse_iso(body["startDate"]), int(body["lengthMinutes"]),
                                   status=body.get("status", "Pending"), notes=body.get("notes", ""),
                                   reviewer="oauth-client")
        return web.json_response({"job": {"id": new_id("job"), "type": "AddExplanation", "status": "Processing"}})

    async def _explanation_get(self, request: web.Request) -> web.Response:
        item = self.explanations.get(request.match_info["id"])
        if item is None or item["agent"]["id"] != request.match_info["agent"]:
            return error_response(404, "not.found", "explanation not found")
        return web.json_response(item)

    async def _explanation_patch(self, request: web.Request) -> web.Response:
        item = self.explanations.get(request.match_info["id"])
        if item is None or item["agent"]["id"] != request.match_info["agent"]:
            return error_response(404, "not.found", "explanation not found")
        body = await request.json()
        if body.get("status") not in ("Pending", "Approved", "Denied"):
            return error_response(400, "bad.request", "invalid status")
        item.update(status=body["status"], reviewedBy={"id": "oauth-client"}, reviewedDate=iso(self.clock.now()))
        await self._push(f"v2.workforcemanagement.businessunits.{item['businessUnit']['id']}.adherence.explanations",
                         item)
        return web.json_response({"job": {"id": new_id("job"), "type": "UpdateExplanation", "status": "Processing"}})
