"""Socket Mode: the app connects to the fake Slack's WebSocket (URL from apps.connections.open with the
app-level token), handles an envelope and acknowledges it by envelope id."""

from __future__ import annotations

from typing import Any, cast

import pytest

from handlers.app import build_app
from handlers.deps import HandlerDeps
from handlers.socket_mode import socket_connected, socket_mode_handler
from services.clock import ManualClock
from testing.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack import signed
from tests.slack.samples import T0


async def test_socket_mode_serves_a_slash_command_and_acks_the_envelope(fake_slack: FakeSlack) -> None:
    deps = HandlerDeps(actions=cast(Any, None), queries=cast(Any, None), clock=ManualClock(T0))
    app = build_app(deps, signing_secret=None, token=BOT_TOKEN, api_url=fake_slack.api_url)
    handler = socket_mode_handler(app, "xapp-1-test")
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        await fake_slack.wait_for("socket_connections")
        assert await socket_connected(handler)
        opened = fake_slack.calls_to("apps.connections.open")
        assert opened and opened[0].authorization == "Bearer xapp-1-test"
        command = signed.slash_command(command="/adherence", text="help", user_id="U1",
                                       response_url=fake_slack.response_url())
        await fake_slack.send_envelope({"envelope_id": "env-1", "type": "slash_commands", "payload": command,
                                        "accepts_response_payload": True})
        acks = await fake_slack.wait_for("socket_acks")
        assert acks[0]["envelope_id"] == "env-1"
        posts = await fake_slack.wait_for("webhook")
        assert posts[0]["text"] == "How to use /adherence" and posts[0]["response_type"] == "ephemeral"
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
    assert not await socket_connected(handler)


def test_an_app_token_is_required() -> None:
    deps = HandlerDeps(actions=cast(Any, None), queries=cast(Any, None), clock=ManualClock(T0))
    app = build_app(deps, signing_secret=None, token=BOT_TOKEN)
    with pytest.raises(ValueError, match="xapp"):
        socket_mode_handler(app, "xoxb-not-an-app-token")
