"""The wire shapes every route of the fake shares: Genesys's ``ErrorBody`` and its paged listing."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

WFM = "/api/v2/workforcemanagement"


def error_response(status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> web.Response:
    """Genesys's ``ErrorBody``; ``contextId`` equals the ``inin-correlation-id`` header."""
    context_id = str(uuid.uuid4())
    return web.json_response(
        {"message": message, "code": code, "status": status, "messageWithParams": message, "messageParams": {},
         "contextId": context_id, "details": [], "errors": []},
        status=status, headers={"inin-correlation-id": context_id, **(headers or {})})


def forbidden(permission: str) -> web.Response:
    """What a route answers when the OAuth client lacks ``permission``."""
    return error_response(403, "missing.any.permissions",
                          f"You are missing the following permission(s): [{permission}]")


def paged(request: web.Request, items: list[Any], page_size: int, page_number: int) -> dict[str, Any]:
    total = len(items)
    page_count = max(1, -(-total // page_size)) if page_size > 0 else 1
    chunk = items[(page_number - 1) * page_size: page_number * page_size]
    base = request.path

    def uri(n: int) -> str:
        return f"{base}?pageSize={page_size}&pageNumber={n}"

    return {"entities": chunk, "pageSize": page_size, "pageNumber": page_number, "total": total,
            "pageCount": page_count, "firstUri": uri(1), "selfUri": uri(page_number), "lastUri": uri(page_count),
            "nextUri": uri(page_number + 1) if page_number < page_count else None,
            "previousUri": uri(page_number - 1) if page_number > 1 else None}
