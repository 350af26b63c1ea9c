"""Bolt middleware: every Slack request's log lines carry a ``request_id``.

Slack's own id when the payload has one (``trigger_id`` of an interaction or command, ``event_id``
of an event), else a generated one. Set before the listener runs, so its task inherits it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from services import log_context


def request_id_of(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("trigger_id", "event_id"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
    return f"req-{uuid.uuid4().hex[:12]}"


async def bind_request_id(req: AsyncBoltRequest, resp: BoltResponse,
                          next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
    log_context.focus(request_id=request_id_of(req.body))
    return await next()
