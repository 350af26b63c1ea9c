"""Socket Mode serving: the same app over Slack's WebSocket (no public URL, no signing secret)."""

from __future__ import annotations

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp


def socket_mode_handler(app: AsyncApp, app_token: str) -> AsyncSocketModeHandler:
    """``await handler.start_async()`` to serve until cancelled; ``close_async()`` to stop."""
    if not app_token.startswith("xapp-"):
        raise ValueError("SLACK_APP_TOKEN must be an app-level token (xapp-…) with connections:write")
    return AsyncSocketModeHandler(app, app_token=app_token)


async def socket_connected(handler: AsyncSocketModeHandler) -> bool:
    """For ``/health``: the WebSocket is open and answering pings."""
    return bool(await handler.client.is_connected())
