"""manifest.yml is a valid Slack app manifest (Slack's own JSON schema, copied into tests/schemas) and
matches the app: every command and event in it has a listener, and every listener is in it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, cast

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from handlers.app import build_app
from handlers.deps import HandlerDeps
from services.clock import ManualClock
from tests.slack.samples import T0

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "tests" / "schemas" / "slack-manifest"
UPSTREAM = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"
EXPECTED_SCOPES = {"chat:write", "commands", "im:write", "mpim:write", "users:read", "users:read.email"}


def validator() -> jsonschema.Draft7Validator:
    """The top-level schema $refs upstream URLs; serve those from the local copies (no network)."""
    resources = []
    for version in ("1.0.0", "2.0.0"):
        contents = json.loads((SCHEMAS / f"manifest.schema.{version}.json").read_text())
        resources.append((f"{UPSTREAM}manifest.schema.{version}.json",
                          Resource.from_contents(contents, default_specification=DRAFT7)))
    registry: Registry = Registry().with_resources(resources)
    schema = json.loads((SCHEMAS / "manifest.schema.json").read_text())
    return jsonschema.Draft7Validator(schema, registry=registry)


def manifest() -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load((ROOT / "manifest.yml").read_text()))


def test_manifest_is_valid_against_slacks_schema() -> None:
    errors = sorted(validator().iter_errors(manifest()), key=str)
    assert errors == []


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_validator_agrees_with_upstreams_own_examples(version: str) -> None:
    check = validator()
    valid = json.loads((SCHEMAS / "examples" / f"slack-manifest-{version}.valid.json").read_text())
    invalid = json.loads((SCHEMAS / "examples" / f"slack-manifest-{version}.invalid.json").read_text())
    assert list(check.iter_errors(valid)) == []
    assert list(check.iter_errors(invalid)) != []


def test_a_broken_manifest_is_rejected() -> None:
    broken = copy.deepcopy(manifest())
    del broken["features"]["slash_commands"][0]["description"]
    assert list(validator().iter_errors(broken)) != []
    unknown_key = copy.deepcopy(manifest())
    unknown_key["settings"]["interactivity"]["enabled"] = True
    assert list(validator().iter_errors(unknown_key)) != []


def test_manifest_asks_for_socket_mode_interactivity_home_and_only_the_scopes_we_use() -> None:
    data = manifest()
    assert data["settings"]["socket_mode_enabled"] is True
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    assert set(data["oauth_config"]["scopes"]["bot"]) == EXPECTED_SCOPES
    assert "user" not in data["oauth_config"]["scopes"]
    docs = (ROOT / "docs" / "slack.md").read_text()
    for scope in EXPECTED_SCOPES:
        assert f"`{scope}`" in docs, f"docs/slack.md does not explain why {scope} is needed"


def test_every_manifest_command_and_event_has_a_listener_and_vice_versa() -> None:
    deps = HandlerDeps(actions=cast(Any, None), queries=cast(Any, None), clock=ManualClock(T0))
    app = build_app(deps, signing_secret="secret", token="xoxb-unused")
    data = manifest()
    commands = {c["command"] for c in data["features"]["slash_commands"]}
    events = set(data["settings"]["event_subscriptions"]["bot_events"])
    assert commands == app.registered_commands
    assert events == app.registered_events
