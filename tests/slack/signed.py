"""Signed Slack requests, as Slack sends them: body + X-Slack-Signature / X-Slack-Request-Timestamp.

Builders for the payload shapes the bot handles (block_actions, view_submission, slash commands,
events), then :func:`bolt_request` signs them for ``app.async_dispatch``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import quote, urlencode

from slack_bolt.request.async_request import AsyncBoltRequest

from testing.fake_slack import TEAM_ID

SIGNING_SECRET = "test-signing-secret"


def signature(body: str, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


def signed_headers(body: str, *, content_type: str, secret: str = SIGNING_SECRET,
                   timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {"content-type": content_type, "x-slack-request-timestamp": ts,
            "x-slack-signature": signature(body, ts, secret)}


def interactive_body(payload: dict[str, Any]) -> str:
    return "payload=" + quote(json.dumps(payload))


def command_body(fields: dict[str, str]) -> str:
    return urlencode(fields)


def event_body(payload: dict[str, Any]) -> str:
    return json.dumps(payload)


def bolt_request(body: str, *, content_type: str = "application/x-www-form-urlencoded",
                 secret: str = SIGNING_SECRET, timestamp: int | None = None) -> AsyncBoltRequest:
    headers = signed_headers(body, content_type=content_type, secret=secret, timestamp=timestamp)
    return AsyncBoltRequest(body=body, headers={k: [v] for k, v in headers.items()})


def user(user_id: str, name: str = "someone") -> dict[str, Any]:
    return {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID}


def block_action(*, action_id: str, value: str, user_id: str, response_url: str, channel: str = "D0CARD001",
                 message_ts: str = "1700000000.000001", name: str = "someone",
                 block_id: str = "actions.1.open") -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": user(user_id, name),
        "api_app_id": "A0APP0001",
        "token": "legacy",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
        "trigger_id": "4916855695380.1.trigger",
        "team": {"id": TEAM_ID, "domain": "test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "directmessage"},
        "message": {"type": "message", "ts": message_ts, "bot_id": "B0BOT0001", "text": "card", "blocks": []},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [{"type": "button", "action_id": action_id, "block_id": block_id, "value": value,
                     "text": {"type": "plain_text", "text": "button"}, "action_ts": f"{time.time():.6f}"}],
    }


def view_submission(*, callback_id: str, private_metadata: str, values: dict[str, Any], user_id: str,
                    name: str = "someone") -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "test"},
        "user": user(user_id, name),
        "api_app_id": "A0APP0001",
        "trigger_id": "111.222.trigger",
        "view": {"id": "V0VIEW001", "type": "modal", "callback_id": callback_id,
                 "private_metadata": private_metadata, "hash": "1596530361.hash",
                 "state": {"values": values}, "root_view_id": "V0VIEW001", "previous_view_id": None,
                 "app_id": "A0APP0001", "bot_id": "B0BOT0001"},
        "response_urls": [],
    }


def slash_command(*, command: str, text: str, user_id: str, response_url: str,
                  channel: str = "C0CHAN001") -> dict[str, str]:
    return {"token": "legacy", "team_id": TEAM_ID, "team_domain": "test", "channel_id": channel,
            "channel_name": "ops", "user_id": user_id, "user_name": "someone", "command": command, "text": text,
            "api_app_id": "A0APP0001", "response_url": response_url, "trigger_id": "13345224609.trigger"}


def event_callback(event: dict[str, Any]) -> dict[str, Any]:
    return {"token": "legacy", "team_id": TEAM_ID, "api_app_id": "A0APP0001", "event": event,
            "type": "event_callback", "event_id": f"Ev{int(time.time() * 1000)}", "event_time": int(time.time()),
            "authorizations": [{"enterprise_id": None, "team_id": TEAM_ID, "user_id": "U0BOT0001", "is_bot": True}]}


def view_block_action(*, action_id: str, value: str, user_id: str, view_id: str, private_metadata: str,
                      values: dict[str, Any], callback_id: str, view_hash: str = "1596530361.hash",
                      block_id: str = "actions", name: str = "someone") -> dict[str, Any]:
    """A button clicked inside an open modal: the payload carries the view (id, hash, metadata, state)."""
    return {
        "type": "block_actions",
        "user": user(user_id, name),
        "api_app_id": "A0APP0001",
        "token": "legacy",
        "container": {"type": "view", "view_id": view_id},
        "trigger_id": "4916855695380.2.trigger",
        "team": {"id": TEAM_ID, "domain": "test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": {"id": view_id, "type": "modal", "callback_id": callback_id, "private_metadata": private_metadata,
                 "hash": view_hash, "state": {"values": values}, "root_view_id": view_id,
                 "previous_view_id": None, "app_id": "A0APP0001", "bot_id": "B0BOT0001", "blocks": []},
        "actions": [{"type": "button", "action_id": action_id, "block_id": block_id, "value": value,
                     "text": {"type": "plain_text", "text": "button"}, "action_ts": f"{time.time():.6f}"}],
    }
