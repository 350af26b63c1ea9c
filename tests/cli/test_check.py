"""``python -m bot check`` against real local servers: fake Genesys, fake Slack Web API, aiosmtpd, fake
Graph and the real Redis. Each system is reported on one line; a missing Genesys permission is named."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.smtp import SMTP

from bot.check import run_check
from bot.genesys_probe import NO_SUCH_ID, ROUTES
from bot.settings import Settings
from testing.fake_genesys import FakeGenesys
from testing.fake_slack import BOT_TOKEN, FakeSlack
from tests.conftest import TEST_REDIS_URL
from tests.email.smtp_server import Inbox, serve
from tests.genesys.conftest import populate

SYSTEMS = ("config", "redis", "slack", "genesys", "smtp", "graph", "units")
EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.toml"


@dataclass
class Fakes:
    genesys: FakeGenesys
    slack: FakeSlack
    smtp_port: int
    inbox: Inbox
    graph_url: str
    config: Path  # a BOT_CONFIG with one room mailbox, for Graph


@pytest.fixture
async def fakes(tmp_path: Path) -> AsyncIterator[Fakes]:
    from testing.fake_graph import FakeGraph

    genesys = await FakeGenesys().start()
    populate(genesys)
    slack = await FakeSlack().start()
    inbox = Inbox()
    smtp, smtp_port = await serve(lambda: SMTP(inbox, hostname="mail.test", authenticator=inbox.authenticate,
                                               auth_require_tls=False))
    graph = web.AppRunner(FakeGraph().app())
    await graph.setup()
    site = web.TCPSite(graph, "127.0.0.1", 0)
    await site.start()
    graph_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    config = tmp_path / "bot.toml"
    config.write_text('[booking.locations.hq]\nname = "HQ"\n'
                      'rooms.blue = { name = "Blue", capacity = 8, mailbox = "blue@example.com" }\n')
    try:
        yield Fakes(genesys, slack, smtp_port, inbox, f"http://127.0.0.1:{graph_port}", config)
    finally:
        await graph.cleanup()
        smtp.close()
        await slack.stop()
        await genesys.stop()


def settings_for(fakes: Fakes, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_config": fakes.config, "redis_url": TEST_REDIS_URL,
        "slack_bot_token": BOT_TOKEN, "slack_app_token": "xapp-1-test", "slack_api_url": fakes.slack.api_url,
        "genesys_client_id": fakes.genesys.client_id, "genesys_client_secret": fakes.genesys.client_secret,
        "genesys_api_url": fakes.genesys.api_url, "genesys_login_url": fakes.genesys.login_url,
        "smtp_host": "127.0.0.1", "smtp_port": fakes.smtp_port, "smtp_username": "bot", "smtp_password": "s3cret",
        "smtp_starttls": False,
        "graph_tenant_id": "tenant-1", "graph_client_id": "app", "graph_client_secret": "graph-secret",
        "graph_url": f"{fakes.graph_url}/v1.0", "graph_login_url": fakes.graph_url}
    values.update(overrides)
    return Settings(**values)


async def check(settings: Settings, *, http: bool = False) -> tuple[int, dict[str, str]]:
    lines: list[str] = []
    code = await run_check(settings, http=http, out=lines.append)
    by_system = {line.split()[0]: line for line in lines}
    assert list(by_system) == list(SYSTEMS) and len(lines) == len(SYSTEMS), lines  # one line per system
    return code, by_system


async def test_everything_configured_and_reachable_passes(fakes: Fakes, clean_env: pytest.MonkeyPatch) -> None:
    code, lines = await check(settings_for(fakes))
    assert code == 0, lines
    assert lines["redis"].split()[1] in ("ok", "WARN") and "version" in lines["redis"]
    assert lines["slack"].split()[1] == "ok" and "auth.test ok: adherence in Test" in lines["slack"]
    assert fakes.slack.calls_to("auth.test")
    assert lines["genesys"].split()[1] == "ok"
    assert "1 business unit(s), 2 management unit(s) visible" in lines["genesys"]
    assert f"all {len(ROUTES)} routes the bot uses are permitted" in lines["genesys"]
    assert fakes.genesys.token_requests >= 1
    assert not fakes.genesys.appointments and not fakes.genesys.explanations  # probing wrote nothing
    assert lines["smtp"].split()[1] == "ok" and "login as bot ok" in lines["smtp"]
    assert fakes.inbox.logins == ["bot"] and not fakes.inbox.messages
    assert lines["graph"].split()[1] == "ok" and "token for tenant tenant-1 ok; 1 room mailbox(es)" in lines["graph"]
    assert fakes.slack.calls_to("apps.connections.open")  # the app-level token was tried, not just present


async def test_a_missing_genesys_permission_is_named(fakes: Fakes, clean_env: pytest.MonkeyPatch) -> None:
    forbidden = {"message": "You are not authorized to perform the requested action.", "code": "missing.permissions",
                 "status": 403, "messageParams": {"permissions": "wfm:adherenceExplanation:view"}}
    fakes.genesys.fail(r"/adherence/explanations/query$", 403, body=forbidden)
    fakes.genesys.fail(r"^/api/v2/coaching/appointments$", 403, method="POST", body=forbidden)
    code, lines = await check(settings_for(fakes))
    assert code == 1
    genesys = lines["genesys"]
    assert genesys.split()[1] == "FAILED"
    assert "missing permission wfm:adherenceExplanation:view (POST /api/v2/workforcemanagement/businessunits/" \
           "{bu}/adherence/explanations/query" in genesys
    assert "coaching:appointment:add (POST /api/v2/coaching/appointments" in genesys
    assert "coaching:appointment:view" not in genesys  # the routes that answered are not blamed
    assert all(lines[s].split()[1] == "ok" for s in ("slack", "smtp", "graph"))


async def test_wrong_credentials_fail_each_system_with_the_reason(fakes: Fakes,
                                                                  clean_env: pytest.MonkeyPatch) -> None:
    code, lines = await check(settings_for(fakes, redis_url="redis://127.0.0.1:1/0", slack_bot_token="xoxb-bad-token",
                                           genesys_client_secret="bad-genesys-secret", smtp_password="bad-smtp-pass",
                                           graph_client_secret="bad-graph-secret"))
    assert code == 1
    assert all(lines[s].split()[1] == "FAILED" for s in SYSTEMS[1:-1]), lines
    assert "REDIS_URL=redis://127.0.0.1:1/0" in lines["redis"]
    assert "invalid_auth" in lines["slack"]
    assert "token refused" in lines["genesys"] and "GENESYS_CLIENT_SECRET" in lines["genesys"]
    assert "login as bot refused" in lines["smtp"]
    assert "token for tenant tenant-1 failed" in lines["graph"]
    secrets = ("xoxb-bad-token", "bad-genesys-secret", "bad-smtp-pass", "bad-graph-secret")
    assert not any(secret in line for line in lines.values() for secret in secrets)  # never echoed


async def test_slack_mode_needs_its_token_or_secret(fakes: Fakes, clean_env: pytest.MonkeyPatch) -> None:
    _, socket_mode = await check(settings_for(fakes, slack_app_token=None))
    assert socket_mode["slack"].split()[1] == "FAILED" and "SLACK_APP_TOKEN missing" in socket_mode["slack"]
    _, http_mode = await check(settings_for(fakes, slack_app_token=None, slack_signing_secret=None), http=True)
    assert http_mode["slack"].split()[1] == "FAILED" and "SLACK_SIGNING_SECRET missing" in http_mode["slack"]
    code, signed = await check(settings_for(fakes, slack_app_token=None, slack_signing_secret="secret"), http=True)
    assert signed["slack"].split()[1] == "ok" and code == 0


async def test_a_refused_app_token_and_graph_without_room_mailboxes(fakes: Fakes,
                                                                    clean_env: pytest.MonkeyPatch) -> None:
    code, lines = await check(settings_for(fakes, slack_app_token="xoxb-not-an-app-token", bot_config=None))
    assert code == 1
    assert lines["slack"].split()[1] == "FAILED" and "SLACK_APP_TOKEN refused by apps.connections.open" \
        in lines["slack"] and "invalid_auth" in lines["slack"]
    assert lines["graph"].split()[1] == "WARN" and "no room under [booking.locations] has a mailbox" in lines["graph"]


async def test_nothing_configured_reports_each_system_off(clean_env: pytest.MonkeyPatch) -> None:
    code, lines = await check(Settings(bot_config=None, redis_url=TEST_REDIS_URL))
    assert code == 0
    assert all(lines[s].split()[1] == "off" for s in ("slack", "genesys", "smtp", "graph"))
    assert "simulated contact center" in lines["genesys"]


async def test_units_and_teams_the_config_names_are_looked_up_in_genesys(fakes: Fakes, tmp_path: Path,
                                                                         clean_env: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bot.toml"
    path.write_text('[management_units.mu-a.teams."Team A1"]\n\n[management_units.mu-a.teams.team-a2]\n\n'
                    '[management_units.mu-a.teams.ghost-team]\n\n[management_units.mu-zz]\n')
    code, lines = await check(settings_for(fakes, bot_config=path))
    assert code == 1
    units = lines["units"]
    assert units.split()[1] == "FAILED"
    assert "management_units.mu-zz: no such management unit (known: mu-a, mu-b)" in units
    assert "management_units.mu-a.teams.ghost-team: no team with that id or name in mu-a" in units
    assert "Team A1" not in units and "team-a2" not in units  # found by name and by id


async def test_the_example_config_matches_the_simulator(clean_env: pytest.MonkeyPatch) -> None:
    code, lines = await check(Settings(bot_config=EXAMPLE, redis_url=TEST_REDIS_URL))
    assert code == 0, lines
    assert lines["units"].split()[1] == "ok" and "exist in the simulator" in lines["units"]


async def test_half_a_configuration_fails_instead_of_falling_back(clean_env: pytest.MonkeyPatch) -> None:
    code, lines = await check(Settings(bot_config=None, redis_url=TEST_REDIS_URL, slack_app_token="xapp-1",
                                       smtp_username="bot", graph_tenant_id="tenant-1", graph_client_id="app"))
    assert code == 1
    assert "SLACK_APP_TOKEN set but SLACK_BOT_TOKEN missing" in lines["slack"]
    assert "SMTP_USERNAME set but SMTP_HOST missing" in lines["smtp"]
    assert "GRAPH_TENANT_ID and GRAPH_CLIENT_ID set but GRAPH_CLIENT_SECRET missing" in lines["graph"]


async def test_an_empty_first_unit_is_not_mistaken_for_a_failure(fakes: Fakes, clean_env: pytest.MonkeyPatch) -> None:
    fakes.genesys.add_business_unit("bu-0", "Empty first", "UTC")
    fakes.genesys.business_units = {"bu-0": fakes.genesys.business_units.pop("bu-0"), **fakes.genesys.business_units}
    fakes.genesys.add_unit("mu-0", "bu-0", "Nobody here")
    code, lines = await check(settings_for(fakes))
    assert lines["genesys"].split()[1] == "ok", lines["genesys"]
    assert "2 business unit(s), 3 management unit(s) visible" in lines["genesys"] and code == 0
    assert fakes.genesys.requests_to(f"/users/{NO_SUCH_ID}/routingstatus$")  # probed the empty unit


async def test_check_shows_which_units_use_the_unit_adherence_topic(fakes: Fakes,
                                                                    clean_env: pytest.MonkeyPatch) -> None:
    code, lines = await check(settings_for(fakes))
    assert code == 0, lines
    assert "live states: management-unit adherence topic for 2 of 2 unit(s) (2 topic(s))" in lines["genesys"]
    fakes.genesys.adherence_permission.denied_units = {"mu-b"}
    code, lines = await check(settings_for(fakes))
    assert code == 0, lines  # per-user topics work: shown, not a failure
    assert ("live states: management-unit adherence topic for 1 of 2 unit(s) (1 topic(s)); per-user topics for "
            "1 unit(s): rejected (Missing permissions): needs wfm:realtimeAdherence:view") in lines["genesys"]
