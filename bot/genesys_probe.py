"""``check`` for Genesys Cloud: fetch a token, list what the OAuth client can see, and call every route
the bot uses once, naming the permission a 403 says is missing.

Permissions are the ones Genesys's generated CLI/SDK list per route (platform-client-sdk-cli). Read
routes are called for real with the smallest request; write routes are called with an empty or unknown
target that Genesys refuses as invalid (400/404: the permission is there) without changing anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.adapters.genesys.client import GenesysClient
from services.adapters.genesys.errors import (
    GenesysAuthError,
    GenesysBadRequest,
    GenesysError,
    GenesysForbidden,
    GenesysNotFound,
)
from services.adapters.genesys.parse import ref_id
from services.adapters.genesys.unit_topics import choose_topics

WFM = "/api/v2/workforcemanagement"
NO_SUCH_ID = "00000000-0000-0000-0000-000000000000"  # an id nothing has: a write to it changes nothing
#: Genesys lists no permission for some routes; a 403 there means the role's divisions do not cover the user.
NONE_LISTED = "(none listed by Genesys: check the role's divisions)"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with {bu}, {mu}, {user} placeholders
    permission: str  # what to grant when Genesys answers 403
    used_for: str
    write: bool = False  # probed with an empty/unknown target: 400 or 404 means permitted


ROUTES: tuple[Route, ...] = (
    Route("GET", f"{WFM}/businessunits/{{bu}}", "wfm:businessUnit:view", "business unit time zone"),
    Route("GET", f"{WFM}/managementunits/{{mu}}/users", "wfm:agent:view", "who is in each management unit"),
    Route("GET", "/api/v2/users", NONE_LISTED, "agent names, emails, teams and managers"),
    Route("GET", f"{WFM}/businessunits/{{bu}}/activitycodes", "wfm:activityCode:view", "activity categories"),
    Route("POST", f"{WFM}/managementunits/{{mu}}/agentschedules/search", "wfm:publishedSchedule:view",
          "published schedules"),
    Route("GET", "/api/v2/presence/definitions", "presence:presenceDefinition:view", "reading presences"),
    Route("GET", "/api/v2/users/presences/purecloud/bulk", NONE_LISTED, "presence reconciliation"),
    Route("GET", "/api/v2/users/{user}/routingstatus", NONE_LISTED, "routing status reconciliation"),
    Route("POST", f"{WFM}/businessunits/{{bu}}/adherence/explanations/query", "wfm:adherenceExplanation:view",
          "approved WFM exceptions suppress alerts"),
    Route("POST", f"{WFM}/agents/{{user}}/adherence/explanations/query", "wfm:adherenceExplanation:view",
          "finding an exception already written back"),
    Route("POST", f"{WFM}/agents/{{user}}/adherence/explanations", "wfm:adherenceExplanation:add",
          "writing exceptions approved in Slack back to WFM", write=True),
    Route("GET", "/api/v2/coaching/appointments", "coaching:appointment:view",
          "finding a coaching appointment already made"),
    Route("POST", "/api/v2/coaching/appointments", "coaching:appointment:add", "the coaching tier and 1:1 bookings",
          write=True),
    Route("DELETE", f"/api/v2/coaching/appointments/{NO_SUCH_ID}", "coaching:appointment:delete",
          "cancelling a booking", write=True),
    Route("GET", "/api/v2/notifications/channels", NONE_LISTED, "live states over the WebSocket"),
)


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str


async def probe_genesys(client: GenesysClient) -> ProbeResult:
    try:
        body = await client.get(f"{WFM}/businessunits")
    except GenesysForbidden as error:
        return ProbeResult(False, f"token ok, but listing business units was refused ({error})")
    except GenesysAuthError as error:
        return ProbeResult(False, f"token refused: check GENESYS_CLIENT_ID / GENESYS_CLIENT_SECRET ({error})")
    except GenesysError as error:
        return ProbeResult(False, f"cannot reach Genesys: {error}")
    bus = [b for b in _entities(body) if ref_id(b)]
    if not bus:
        return ProbeResult(False, "token ok, but no business unit is visible: give the OAuth client's role WFM "
                                  "permissions (e.g. wfm:businessUnit:view) in the business unit's division")
    units = await _units_of(client, [str(ref_id(bu)) for bu in bus])
    if isinstance(units, ProbeResult):
        return units
    if not units:
        return ProbeResult(False, f"token ok, {len(bus)} business unit(s) but no management unit visible")
    seen = f"token ok, {len(bus)} business unit(s), {len(units)} management unit(s) visible"
    return await _probe_routes(client, units, seen=seen)


async def _units_of(client: GenesysClient, bu_ids: list[str]) -> list[tuple[str, str]] | ProbeResult:
    """(bu, mu) of every visible management unit, or why they cannot be listed."""
    units: list[tuple[str, str]] = []
    for bu_id in bu_ids:
        try:
            listing = await client.get(f"{WFM}/businessunits/{bu_id}/managementunits")
        except GenesysForbidden:
            return ProbeResult(False, f"missing permission wfm:managementUnit:view (GET {WFM}/businessunits/{bu_id}"
                                      "/managementunits: which management units to monitor)")
        except GenesysError as error:
            return ProbeResult(False, f"listing management units of {bu_id} failed: {error}")
        units += [(bu_id, str(ref_id(mu))) for mu in _entities(listing) if ref_id(mu)]
    return units


async def _probe_routes(client: GenesysClient, units: list[tuple[str, str]], *, seen: str) -> ProbeResult:
    """Every route the bot uses, once, on the first unit (what is missing, what failed otherwise), then
    which live-state topics the units get."""
    bu_id, mu_id = units[0]
    user_id = await _first_member(client, mu_id)
    missing, failed = [], []
    for route in ROUTES:
        outcome = await _probe(client, route, bu=bu_id, mu=mu_id, user=user_id or NO_SUCH_ID)
        if outcome == "forbidden":
            missing.append(f"{route.permission} ({route.method} {route.path}: {route.used_for})")
        elif outcome:
            failed.append(f"{route.method} {route.path}: {outcome}")
    # The same probe `run` makes at start: which units get one adherence topic, which one topic per agent.
    choice = await choose_topics(client, [mu for _, mu in units])
    live = f"live states: {choice.summary()}"
    if missing or failed:
        parts = ([f"missing permission {', '.join(missing)}"] if missing else []) + failed
        return ProbeResult(False, f"{seen}; {'; '.join(parts)}; {live}")
    return ProbeResult(True, f"{seen}; all {len(ROUTES)} routes the bot uses are permitted; {live}")


async def _first_member(client: GenesysClient, mu_id: str) -> str | None:
    try:
        body = await client.get(f"{WFM}/managementunits/{mu_id}/users")
    except GenesysError:
        return None  # reported by the route probe
    return next((u for u in (ref_id(e) for e in _entities(body)) if u), None)


async def _probe(client: GenesysClient, route: Route, *, bu: str, mu: str, user: str) -> str:
    """"" when permitted, "forbidden" on 403, else what went wrong."""
    path = route.path.format(bu=bu, mu=mu, user=user)
    now = datetime.now(UTC).replace(microsecond=0)
    stamp = now.isoformat().replace("+00:00", "Z")
    later = (now + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    params: dict[str, Any] | None = None
    json: Any = None
    if route.path == "/api/v2/users":
        params = {"id": [user], "pageSize": 1}
    elif route.path.endswith("/bulk"):
        params = {"id": [user]}
    elif route.path.endswith("agentschedules/search"):
        json = {"startDate": stamp, "endDate": later, "userIds": [user]}
    elif route.path.endswith("explanations/query"):
        json = {"startDate": stamp, "endDate": later}
        if "/businessunits/" in route.path:
            json["managementUnitIds"] = [mu]
    elif route.method == "GET" and route.path == "/api/v2/coaching/appointments":
        params = {"userIds": [user], "interval": f"{stamp}/{later}", "pageSize": 1}
    elif route.write:
        json = {}  # no required field: Genesys refuses it as invalid, nothing is created or changed
    try:
        await client.request(route.method, path, params=params, json=json)
    except GenesysForbidden:
        return "forbidden"
    except GenesysNotFound as error:  # an unknown target (a write's, or no member to ask about) is expected
        return "" if route.write or user == NO_SUCH_ID else str(error)
    except GenesysBadRequest as error:
        return "" if route.write else str(error)
    except GenesysError as error:
        return str(error)
    return ""


def _entities(body: Any) -> list[dict[str, Any]]:
    items = body.get("entities") if isinstance(body, dict) else None
    return [e for e in items or [] if isinstance(e, dict)]
