"""The fake's analytics route: queue observations (``oWaiting``, ``oOnQueueUsers`` IDLE), the
waiting contacts and idle members the surplus reads.

Scenario API: :meth:`FakeAnalytics.set_waiting`, and ``denied`` (permissions the OAuth client
lacks: the route answers 403).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from testing.fake_genesys.wire import forbidden

OBSERVATION_PERMISSION = "analytics:queueObservation:view"


@dataclass
class FakeAnalytics:
    waiting: dict[str, tuple[int, int]] = field(default_factory=dict)  # queue -> (waiting, idle members)
    denied: set[str] = field(default_factory=set)

    def set_waiting(self, queue_id: str, waiting: int, idle: int = 0) -> None:
        self.waiting[queue_id] = (waiting, idle)

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/api/v2/analytics/queues/observations/query", self._observations)

    async def _observations(self, request: web.Request) -> web.Response:
        if OBSERVATION_PERMISSION in self.denied:
            return forbidden(OBSERVATION_PERMISSION)
        body = await request.json()
        metrics = set(body.get("metrics") or [])
        queues = [str(p.get("value")) for p in (body.get("filter") or {}).get("predicates") or []
                  if p.get("dimension") == "queueId"]
        results = []
        for queue in queues:
            waiting, idle = self.waiting.get(queue, (0, 0))
            data: list[dict[str, Any]] = []
            if "oWaiting" in metrics:
                data.append({"metric": "oWaiting", "stats": {"count": waiting}})
            if "oOnQueueUsers" in metrics:
                data.append({"metric": "oOnQueueUsers", "qualifier": "IDLE", "stats": {"count": idle}})
            results.append({"group": {"queueId": queue, "mediaType": "voice"}, "data": data})
        return web.json_response({"systemToOrganizationMappings": {}, "results": results})
