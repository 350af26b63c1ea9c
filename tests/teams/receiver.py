"""A local Microsoft Teams Workflows webhook: a real aiohttp server over TLS on 127.0.0.1 that checks each
post is the Workflows envelope holding an Adaptive Card valid against the 1.5 schema (vendored under
tests/schemas/adaptive-card-1.5), records it, and answers 202 like Teams; or 400 with the errors."""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from aiohttp import web

SCHEMA = Path(__file__).parent.parent / "schemas" / "adaptive-card-1.5" / "adaptive-card.json"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def card_errors(body: Any) -> list[str]:
    """What is wrong with a webhook post: the envelope, then the card against the schema."""
    if not isinstance(body, dict) or body.get("type") != "message":
        return ["the body is not {\"type\": \"message\", ...}"]
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or len(attachments) != 1:
        return ["attachments must hold exactly one card"]
    attachment = attachments[0]
    if attachment.get("contentType") != CONTENT_TYPE:
        return [f"contentType must be {CONTENT_TYPE}"]
    card = attachment.get("content")
    validator = jsonschema.Draft6Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    errors = [error.message for error in validator.iter_errors(card)]
    if isinstance(card, dict) and card.get("version") != "1.5":
        errors.append("the card must say version 1.5")
    return errors


@dataclass
class TeamsReceiver:
    path: str = "/workflows/5f0c2d9e/triggers/manual/paths/invoke"
    query: str = "api-version=1&sig=Zq8uN3rT0pS3cr3tS1gnatur3"
    cards: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[list[str]] = field(default_factory=list)
    answer: int = 202  # what Teams answers an accepted post
    _runner: web.AppRunner | None = None
    port: int = 0

    async def start(self, context: ssl.SSLContext) -> TeamsReceiver:
        app = web.Application()
        app.router.add_post(self.path, self._post)
        self._runner = web.AppRunner(app, access_log=None)  # Teams' own log, not the bot's
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}{self.path}?{self.query}"

    async def _post(self, request: web.Request) -> web.Response:
        if request.query_string != self.query:
            return web.json_response({"error": "bad signature"}, status=401)
        body = await request.json()
        errors = card_errors(body)
        if errors:
            self.rejected.append(errors)
            return web.json_response({"errors": errors}, status=400)
        if self.answer >= 400:
            return web.json_response({"error": "scripted"}, status=self.answer)
        self.cards.append(body["attachments"][0]["content"])
        return web.Response(status=self.answer)
