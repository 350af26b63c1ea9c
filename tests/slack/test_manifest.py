"""manifest.yml is a valid Slack app manifest (Slack's own JSON schema, copied into tests/schemas) and
matches the app: every command, shortcut and event in it has a listener, and every listener is in it;
every button or menu the builders render has a listener, and every action listener has a button."""

from __future__ import annotations

import ast
import copy
import importlib
import json
from pathlib import Path
from typing import Any, cast

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from handlers.app import AdherenceApp, build_app
from handlers.booking.deps import BookingHandlerDeps
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


def test_every_manifest_shortcut_has_a_listener_and_vice_versa() -> None:
    shortcuts = {s["callback_id"] for s in manifest()["features"].get("shortcuts", [])}
    assert shortcuts == _fully_wired_app().registered_shortcuts


def _fully_wired_app() -> AdherenceApp:
    """Booking (with Optimise upcoming) and surplus wired too; nothing is called, only registered."""
    unused = cast(Any, None)
    booking = BookingHandlerDeps(service=unused, rosters=unused, units=unused, config=unused,
                                 clock=ManualClock(T0), optimiser=cast(Any, object()))
    deps = HandlerDeps(actions=unused, queries=unused, clock=ManualClock(T0), booking=booking,
                       surplus=cast(Any, object()))
    return build_app(deps, signing_secret="secret", token="xoxb-unused")


def _interactive_elements(tree: ast.AST) -> list[ast.expr]:
    """The ``action_id`` of every dict literal that is a button, or an element of an ``actions`` block
    (menus included); inputs inside modals are read from the view's state and need no listener."""
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict):
            continue
        fields = {k.value: v for k, v in zip(node.keys, node.values, strict=True)
                  if isinstance(k, ast.Constant) and isinstance(k.value, str)}
        kind = fields.get("type")
        kind_name = kind.value if isinstance(kind, ast.Constant) else None
        if kind_name == "button" and "action_id" in fields:
            found.append(fields["action_id"])
        elements = fields.get("elements")
        if kind_name == "actions" and isinstance(elements, ast.List):
            for element in elements.elts:
                if isinstance(element, ast.Dict):
                    ids = [v for k, v in zip(element.keys, element.values, strict=True)
                           if isinstance(k, ast.Constant) and k.value == "action_id"]
                    found += ids
    return found


def rendered_action_ids() -> dict[str, str]:
    """action_id -> the module that renders it, read from the source of every builder."""
    rendered: dict[str, str] = {}
    for path in sorted([*(ROOT / "presentation").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")]):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        module = importlib.import_module(name)
        for expr in _interactive_elements(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(expr, ast.Constant):
                value = expr.value
            else:
                assert isinstance(expr, ast.Name), f"{name}: an action_id that is not a constant: {ast.dump(expr)}"
                value = getattr(module, expr.id, None)
            assert isinstance(value, str), f"{name}: action_id {ast.unparse(expr)} is not a module-level string"
            rendered[value] = name
    return rendered


def test_every_rendered_button_has_a_listener_and_every_action_listener_a_button() -> None:
    rendered = rendered_action_ids()
    assert {"incident_acknowledge", "incident_snooze", "booking_target_preview", "booking_optimise_apply",
            "neutral_cancel"} <= rendered.keys()
    registered = _fully_wired_app().registered_actions
    assert {a: m for a, m in rendered.items() if a not in registered} == {}
    assert registered - rendered.keys() == set()
