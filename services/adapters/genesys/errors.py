"""Typed failures of the Genesys adapter, narrowed from HTTP statuses and Genesys ``ErrorBody``s."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any


class GenesysError(Exception):
    """Any failure talking to Genesys Cloud. ``context_id`` is what Genesys support asks for."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 context_id: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.context_id = status, code, context_id

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} (contextId={self.context_id})" if self.context_id else base


class GenesysAuthError(GenesysError):
    """Credentials rejected (401 after one token refresh, or the token endpoint refused them)."""


class GenesysForbidden(GenesysAuthError):
    """403: the OAuth client's roles lack a permission the route needs."""


class GenesysNotFound(GenesysError):
    """404: the entity (or a channel) does not exist."""


class GenesysBadRequest(GenesysError):
    """A 4xx other than 401/403/404/429: our request is wrong; retrying will not help."""


class GenesysRateLimited(GenesysError):
    """429 after every attempt; ``retry_after`` is the last wait Genesys asked for, in seconds."""

    def __init__(self, message: str, *, retry_after: float | None, **kwargs: Any) -> None:
        super().__init__(message, status=429, **kwargs)
        self.retry_after = retry_after


class GenesysUnavailable(GenesysError):
    """5xx, timeouts or connection failures after every attempt: Genesys is unreachable for now."""


class GenesysMalformed(GenesysError):
    """Genesys answered 2xx with a body we cannot read."""


class GenesysAsyncPending(GenesysUnavailable):
    """An async WFM operation was still ``Processing`` when we stopped waiting for it."""


class GenesysJobFailed(GenesysError):
    """An async WFM operation ended with status ``Error`` or ``Canceled``."""


def error_details(body: Any, headers: Any = None) -> tuple[str | None, str | None, str | None]:
    """``(code, message, contextId)`` from a Genesys ``ErrorBody`` (or the correlation header)."""
    code = message = context_id = None
    if isinstance(body, dict):
        code = _str(body.get("code")) or _str(body.get("error"))
        message = _str(body.get("message")) or _str(body.get("error_description")) or _str(body.get("description"))
        context_id = _str(body.get("contextId"))
    if context_id is None and headers is not None:
        context_id = headers.get("inin-correlation-id")
    return code, message, context_id


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date; ``None`` if absent or unreadable."""
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
