"""Who works where: business units, management units, their agents and teams, activity codes.

Routes (all current, none deprecated):

* ``GET /api/v2/workforcemanagement/businessunits`` then, per BU, ``GET .../businessunits/{id}``
  (``expand=settings.timeZone``) and ``GET .../businessunits/{id}/managementunits``;
* ``GET /api/v2/workforcemanagement/managementunits/{id}/users`` (ids only), then
  ``GET /api/v2/users?id=..`` for names, emails, team and manager;
* ``GET /api/v2/workforcemanagement/businessunits/{id}/activitycodes``;
* ``GET /api/v2/presence/definitions`` (to read a presence that comes with a definition id only).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.adapters.genesys.client import GenesysClient, as_object
from services.adapters.genesys.parse import CodeInfo, obj, read_activity_codes, ref_id
from services.config import OrgConfig
from services.domain.model import Agent, ManagementUnit, Person, Roster, Team

log = logging.getLogger(__name__)

WFM = "/api/v2/workforcemanagement"
USERS_PER_REQUEST = 100
NO_TEAM = ""


@dataclass(frozen=True, slots=True)
class UnitInfo:
    mu: ManagementUnit
    bu_id: str
    bu_time_zone: str


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: str
    name: str
    email: str
    team_id: str | None
    team_name: str
    manager_id: str | None


def read_user(raw: dict[str, Any]) -> UserRecord | None:
    user_id = ref_id(raw)
    if user_id is None:
        return None
    team = obj(raw.get("team"))
    return UserRecord(user_id, str(raw.get("name") or user_id), str(raw.get("email") or ""),
                      ref_id(team), str(team.get("name") or ""), ref_id(raw.get("manager")))


class StructureReader:
    def __init__(self, client: GenesysClient) -> None:
        self.client = client

    async def units(self) -> list[UnitInfo]:
        body = as_object(await self.client.get(f"{WFM}/businessunits"), "business units")
        bus = [b for b in body.get("entities") or [] if ref_id(b)]
        per_bu = await asyncio.gather(*(self._units_of(b) for b in bus))
        return [unit for units in per_bu for unit in units]

    async def _units_of(self, bu: dict[str, Any]) -> list[UnitInfo]:
        bu_id = ref_id(bu)
        assert bu_id is not None
        details, listing = await asyncio.gather(
            self.client.get(f"{WFM}/businessunits/{bu_id}", {"expand": ["settings.timeZone"]}),
            self.client.get(f"{WFM}/businessunits/{bu_id}/managementunits"),
        )
        settings = details.get("settings") if isinstance(details, dict) else None
        bu_zone = str((settings or {}).get("timeZone") or "UTC")
        units = []
        for raw in as_object(listing, "management units").get("entities") or []:
            mu_id = ref_id(raw)
            if mu_id is None:
                log.warning("skipping a management unit without id in BU %s", bu_id)
                continue
            zone = str(raw.get("timeZone") or bu_zone)  # MU time zone is "moving to BU"
            units.append(UnitInfo(ManagementUnit(mu_id, str(raw.get("name") or mu_id), zone), bu_id, bu_zone))
        return units

    async def member_ids(self, mu_id: str) -> list[str]:
        body = as_object(await self.client.get(f"{WFM}/managementunits/{mu_id}/users"), "management unit users")
        return [u for u in (ref_id(e) for e in body.get("entities") or []) if u]

    async def users(self, user_ids: Iterable[str]) -> dict[str, UserRecord]:
        ids = list(dict.fromkeys(user_ids))
        chunks = [ids[i:i + USERS_PER_REQUEST] for i in range(0, len(ids), USERS_PER_REQUEST)]

        async def fetch(chunk: list[str]) -> list[UserRecord]:
            params: dict[str, str | int | list[str]] = {"id": chunk, "pageSize": USERS_PER_REQUEST}
            records = []
            async for raw in self.client.paged("/api/v2/users", params, page_size=USERS_PER_REQUEST):
                record = read_user(raw)
                if record is not None:
                    records.append(record)
            return records

        found = await asyncio.gather(*(fetch(c) for c in chunks))
        return {r.id: r for records in found for r in records}

    async def activity_codes(self, bu_id: str) -> dict[str, CodeInfo]:
        return read_activity_codes(await self.client.get(f"{WFM}/businessunits/{bu_id}/activitycodes"))

    async def presence_definitions(self) -> dict[str, str]:
        body = await self.client.get("/api/v2/presence/definitions")
        out: dict[str, str] = {}
        for raw in (body.get("entities") if isinstance(body, dict) else None) or []:
            if isinstance(raw, dict) and isinstance(raw.get("id"), str) and isinstance(raw.get("systemPresence"), str):
                out[raw["id"]] = raw["systemPresence"]
        return out


def build_roster(unit: UnitInfo, members: Sequence[str], users: Mapping[str, UserRecord], config: OrgConfig,
                 managers: Mapping[str, UserRecord] | None = None) -> Roster:
    """Agents and teams from Genesys; supervisors and ops managers from the organisation config.

    A team's supervisors come from ``[management_units.<mu>.teams.<team id or name>]``. When the
    config names none and ``managers`` is given (the optional lookup), the team's supervisors are the
    Genesys managers of its members.
    """
    mu = unit.mu
    unit_config = config.unit(mu.id)
    people = {key: Person(key, p.name, p.email) for key, p in config.people.items()}
    mu = ManagementUnit(mu.id, mu.name, mu.time_zone, tuple(unit_config.ops_managers))
    agents: dict[str, Agent] = {}
    team_members: dict[str, list[UserRecord]] = {}
    team_names: dict[str, str] = {}
    for user_id in members:
        record = users.get(user_id)
        if record is None:
            log.warning("agent %s of %s not returned by /api/v2/users; named by id", user_id, mu.id)
            record = UserRecord(user_id, user_id, "", None, "", None)
        team_id = record.team_id or NO_TEAM
        agents[user_id] = Agent(user_id, record.name, team_id, mu.id, record.email, record.manager_id)
        team_members.setdefault(team_id, []).append(record)
        team_names.setdefault(team_id, record.team_name or ("No team" if team_id == NO_TEAM else team_id))
    teams: dict[str, Team] = {}
    for team_id, records in team_members.items():
        team_config = unit_config.teams.get(team_id) or unit_config.teams.get(team_names[team_id])
        supervisors: tuple[str, ...] = tuple(team_config.supervisors) if team_config else ()
        if not supervisors and managers is not None:
            ids = dict.fromkeys(r.manager_id for r in records if r.manager_id and r.manager_id != r.id)
            supervisors = tuple(m for m in ids if m)
            for manager_id in supervisors:
                manager = managers.get(manager_id)
                if manager is not None and manager_id not in people:
                    people[manager_id] = Person(manager_id, manager.name, manager.email)
        teams[team_id] = Team(team_id, team_names[team_id], mu.id, supervisors,
                              team_config.slack_channel if team_config else None)
    return Roster(mu=mu, teams=teams, agents=agents, people=people)
