"""``python -m bot check``: validate the configuration, then connect to every configured system and
report each on one line (ok / WARN / FAILED / off, and why). Exit 1 if anything configured fails.

Nothing is written anywhere: Redis gets PING, INFO and CONFIG GET; Slack ``auth.test``; Genesys reads
(and refused writes, see :mod:`bot.genesys_probe`); SMTP EHLO (+ STARTTLS, login); Graph a token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import aiosmtplib
import httpx
from pydantic import SecretStr
from redis.exceptions import RedisError

from bot.config_refs import missing_references
from bot.container import load_config
from bot.genesys_probe import probe_genesys
from bot.redis_conn import RedisUnavailable, connect_redis
from bot.settings import Settings
from services.adapters.booking.graph import GraphError, GraphRoomCalendar
from services.adapters.genesys import GenesysError, GenesysSource
from services.adapters.genesys.auth import ClientCredentialsAuth
from services.adapters.genesys.client import ClientOptions, GenesysClient
from services.adapters.genesys.regions import resolve_hosts
from services.adapters.simulated import SimulatedContactCenter
from services.adapters.slack.client import make_web_client
from services.clock import SystemClock
from services.config import OrgConfig
from services.ports import WorkforceSource

Status = Literal["ok", "WARN", "FAILED", "off"]
TIMEOUT = 10.0  # seconds per system: check must answer quickly even when something hangs


@dataclass(frozen=True)
class Report:
    system: str
    status: Status
    detail: str

    @property
    def failed(self) -> bool:
        return self.status == "FAILED"

    def line(self) -> str:
        return f"{self.system:<8} {self.status:<6} {self.detail}"


#: Adapters log every refused request and retry; here the report line says it once, so they stay quiet.
QUIET_LOGGERS = ("services.adapters.genesys", "services.adapters.slack", "slack_sdk")


async def run_check(settings: Settings, *, http: bool = False, out: Callable[[str], None] = print) -> int:
    config = load_config(settings)  # a ConfigError stops here (exit 2, the key named)
    reports = [config_report(settings, config)]
    probes: list[Awaitable[Report]] = [check_redis(settings), check_slack(settings, http=http),
                                       check_genesys(settings), check_smtp(settings), check_graph(settings, config)]
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        reports += await asyncio.gather(*probes)
        genesys_ok = next(r for r in reports if r.system == "genesys").status != "FAILED"
        reports.append(await check_references(settings, config, genesys_ok=genesys_ok))
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    for report in reports:
        out(report.line())
    return 1 if any(r.failed for r in reports) else 0


def config_report(settings: Settings, config: OrgConfig) -> Report:
    where = str(settings.bot_config) if settings.bot_config else "built-in defaults (BOT_CONFIG not set)"
    return Report("config", "ok", f"{where}: {len(config.tiers)} tier(s), {len(config.people)} people, "
                                  f"{len(config.management_units)} management unit override(s)")


async def _bounded(system: str, probe: Awaitable[Report]) -> Report:
    try:
        return await asyncio.wait_for(probe, TIMEOUT)
    except TimeoutError:
        return Report(system, "FAILED", f"no answer within {TIMEOUT:.0f}s")


def _set(**values: object) -> str:
    """The names of the variables that are set, for "half a configuration" messages ("" if none)."""
    return " and ".join(key for key, value in values.items() if value)


async def check_redis(settings: Settings) -> Report:
    return await _bounded("redis", _redis(settings))


async def _redis(settings: Settings) -> Report:
    try:
        client, where = await connect_redis(settings.redis_url, timeout=3.0)
    except RedisUnavailable as error:
        return Report("redis", "FAILED", str(error))
    try:
        info = await client.info("server")
        version = info.get("redis_version", "?")
        try:
            aof = str((await client.config_get("appendonly")).get("appendonly") or "?")
            save = str((await client.config_get("save")).get("save") or "")
        except RedisError as error:  # managed Redis often disables CONFIG
            return Report("redis", "WARN", f"{where}, version {version}; persistence unknown (CONFIG GET refused: "
                                           f"{error}): make sure AOF or RDB snapshots are on")
        persistence = f"appendonly {aof}, save {save!r}"
        if aof != "yes" and not save.strip():
            return Report("redis", "WARN", f"{where}, version {version}; NO persistence ({persistence}): a restart "
                                           "loses open incidents and undelivered alerts; set appendonly yes")
        return Report("redis", "ok", f"{where}, version {version}, {persistence}")
    finally:
        await client.aclose()


async def check_references(settings: Settings, config: OrgConfig, *, genesys_ok: bool) -> Report:
    """The units and teams the config names, looked up in the source ``run`` would use."""
    if not config.management_units:
        return Report("units", "off", "the config names no management unit: every unit uses the defaults")
    if settings.has_genesys and not genesys_ok:
        return Report("units", "WARN", "not checked: Genesys did not answer (see above)")
    return await _bounded("units", _references(settings, config))


async def _references(settings: Settings, config: OrgConfig) -> Report:
    clock = SystemClock()
    source: WorkforceSource
    genesys: GenesysSource | None = None
    if settings.has_genesys:
        genesys = GenesysSource.from_settings(
            client_id=settings.genesys_client_id or "", client_secret=settings.genesys_client_secret or "",
            region=settings.genesys_region, api_url=settings.genesys_api_url,
            login_url=settings.genesys_login_url, config=config, clock=clock)
        source, where = genesys, "Genesys"
    else:
        source, where = SimulatedContactCenter.build(config.simulator, clock), "the simulator"
    try:
        problems = await missing_references(config, source)
    except GenesysError as error:
        return Report("units", "WARN", f"not checked: {error}")
    finally:
        if genesys is not None:
            await genesys.close()
    teams = sum(len(u.teams) for u in config.management_units.values())
    if problems:
        return Report("units", "FAILED", f"not in {where}: {'; '.join(problems)}")
    return Report("units", "ok", f"the {len(config.management_units)} management unit(s) and {teams} team(s) the "
                                 f"config names exist in {where}")


async def check_slack(settings: Settings, *, http: bool) -> Report:
    if settings.slack_bot_token is None:
        if stray := _set(SLACK_APP_TOKEN=settings.slack_app_token, SLACK_SIGNING_SECRET=settings.slack_signing_secret):
            return Report("slack", "FAILED", f"{stray} set but SLACK_BOT_TOKEN missing: cards would go to the console")
        return Report("slack", "off", "SLACK_BOT_TOKEN not set: cards are printed to the console")
    return await _bounded("slack", _slack(settings, http=http))


async def _slack(settings: Settings, *, http: bool) -> Report:
    assert settings.slack_bot_token is not None
    client = make_web_client(settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url)
    try:
        response = await client.auth_test()
    except Exception as error:  # slack_sdk raises SlackApiError, aiohttp errors, ...: all mean "not usable"
        return Report("slack", "FAILED", f"auth.test failed: {error}")
    who = f"auth.test ok: {response.get('user')} in {response.get('team')} ({response.get('url')})"
    if http and settings.slack_signing_secret is None:
        return Report("slack", "FAILED", f"{who}; SLACK_SIGNING_SECRET missing: `run --http` cannot verify requests")
    if not http and settings.slack_app_token is None:
        return Report("slack", "FAILED", f"{who}; SLACK_APP_TOKEN missing: Socket Mode (the default) needs an "
                                         "xapp- app-level token (or run and check with --http)")
    if not http and settings.slack_app_token is not None:
        app = make_web_client(settings.slack_app_token.get_secret_value(), base_url=settings.slack_api_url)
        try:  # asks for a Socket Mode URL without connecting to it: proves the app-level token works
            await app.apps_connections_open(app_token=settings.slack_app_token.get_secret_value())
        except Exception as error:
            return Report("slack", "FAILED", f"{who}; SLACK_APP_TOKEN refused by apps.connections.open: {error}")
    mode = "HTTP mode (signing secret set)" if http else "Socket Mode (app token set)"
    return Report("slack", "ok", f"{who}; {mode}")


async def check_genesys(settings: Settings) -> Report:
    if not settings.has_genesys:
        return Report("genesys", "off", "GENESYS_* not set: the simulated contact center is used")
    return await _bounded("genesys", _genesys(settings))


async def _genesys(settings: Settings) -> Report:
    api, login = resolve_hosts(settings.genesys_region, settings.genesys_api_url, settings.genesys_login_url)
    secret = settings.genesys_client_secret or SecretStr("")
    client = GenesysClient(api, ClientCredentialsAuth(settings.genesys_client_id or "", secret, login),
                           options=ClientOptions(timeout=5.0, max_attempts=1))
    try:
        result = await probe_genesys(client)
    finally:
        await client.aclose()
    return Report("genesys", "ok" if result.ok else "FAILED", f"{api}: {result.detail}")


async def check_smtp(settings: Settings) -> Report:
    if not settings.smtp_host:
        if stray := _set(SMTP_USERNAME=settings.smtp_username, SMTP_PASSWORD=settings.smtp_password):
            return Report("smtp", "FAILED", f"{stray} set but SMTP_HOST missing: emails would be printed instead")
        return Report("smtp", "off", "SMTP_HOST not set: emails are printed to the console")
    return await _bounded("smtp", _smtp(settings))


async def _smtp(settings: Settings) -> Report:
    assert settings.smtp_host is not None
    smtp = aiosmtplib.SMTP(hostname=settings.smtp_host, port=settings.smtp_port, use_tls=settings.smtp_tls,
                           start_tls=settings.smtp_starttls, timeout=5.0)
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        await smtp.connect()  # EHLO, and STARTTLS when required or offered
        done = ["EHLO ok", "TLS" if smtp.get_transport_info("sslcontext") is not None else "no TLS"]
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            await smtp.login(settings.smtp_username, password)
            done.append(f"login as {settings.smtp_username} ok")
        await smtp.quit()
    except aiosmtplib.SMTPAuthenticationError as error:
        return Report("smtp", "FAILED", f"{where}: login as {settings.smtp_username} refused ({error.code})")
    except (aiosmtplib.SMTPException, OSError) as error:
        return Report("smtp", "FAILED", f"{where}: {error}")
    finally:
        smtp.close()
    return Report("smtp", "ok", f"{where}: {', '.join(done)}")


async def check_graph(settings: Settings, config: OrgConfig) -> Report:
    if not settings.has_graph or settings.graph_client_secret is None:
        named = {"GRAPH_TENANT_ID": settings.graph_tenant_id, "GRAPH_CLIENT_ID": settings.graph_client_id,
                 "GRAPH_CLIENT_SECRET": settings.graph_client_secret}
        if stray := _set(**named):
            missing = " and ".join(key for key, value in named.items() if not value)
            return Report("graph", "FAILED", f"{stray} set but {missing} missing: rooms would be booked in Redis")
        return Report("graph", "off", "GRAPH_* not set: rooms are booked in Redis")
    return await _bounded("graph", _graph(settings, config, settings.graph_client_secret))


async def _graph(settings: Settings, config: OrgConfig, secret: SecretStr) -> Report:
    mailboxes = {room_id: room.mailbox for location in config.booking.locations.values()
                 for room_id, room in location.rooms.items() if room.mailbox}
    async with httpx.AsyncClient(timeout=5.0) as http:
        calendar = GraphRoomCalendar(http, tenant_id=settings.graph_tenant_id or "",
                                     client_id=settings.graph_client_id or "", client_secret=secret,
                                     mailboxes=mailboxes, clock=SystemClock(), graph_url=settings.graph_url,
                                     login_url=settings.graph_login_url)
        try:
            await calendar.authenticate()
        except (GraphError, httpx.HTTPError, ValueError, KeyError) as error:
            return Report("graph", "FAILED", f"token for tenant {settings.graph_tenant_id} failed: {error}")
    if not mailboxes:
        return Report("graph", "WARN", f"token for tenant {settings.graph_tenant_id} ok, but no room under "
                                       "[booking.locations] has a mailbox: Graph books no room")
    return Report("graph", "ok", f"token for tenant {settings.graph_tenant_id} ok; {len(mailboxes)} room mailbox(es) "
                                 "configured")
