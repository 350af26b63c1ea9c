"""httpx event hooks that time every Genesys request and count its status (services.telemetry)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from services import telemetry


def httpx_hooks() -> dict[str, list[Callable[..., Any]]]:
    """``httpx.AsyncClient(event_hooks=...)`` timing every Genesys request and counting its status."""

    async def on_request(request: httpx.Request) -> None:
        request.extensions["adherence_started"] = time.perf_counter()

    async def on_response(response: httpx.Response) -> None:
        request = response.request
        started = request.extensions.get("adherence_started")
        seconds = time.perf_counter() - started if isinstance(started, float) else None
        telemetry.genesys_request(request.method, request.url.path, response.status_code, seconds)

    return {"request": [on_request], "response": [on_response]}
