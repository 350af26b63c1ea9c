"""Supervisor routing from the organisation config, applied to whatever roster the source reports.

The config wins where it says something (a unit's ops managers, a team's supervisors or Slack
channel, matched by team id or name); the source's own answer stands elsewhere. People named in the
config join the roster's directory so escalations can reach them.

With ``[routing] supervisors_from_genesys_manager = true``, a team the config names no supervisors
for gets the managers of its agents (each agent's ``manager_id``, the Genesys user's ``manager``) as
its supervisors, when the source knows who they are (the Genesys source then loads their user records).
"""

from __future__ import annotations

from dataclasses import replace

from services.config import OrgConfig, UnitConfig
from services.domain.model import Person, Roster


def apply_org_routing(roster: Roster, config: OrgConfig) -> Roster:
    unit = config.management_units.get(roster.mu.id)
    from_managers = config.routing.supervisors_from_genesys_manager
    if unit is None and not from_managers:
        return roster
    unit = unit or UnitConfig()
    people = dict(roster.people)
    for person_id, person in config.people.items():
        people[person_id] = Person(person_id, person.name, person.email)
    mu = replace(roster.mu, ops_manager_ids=tuple(unit.ops_managers)) if unit.ops_managers else roster.mu
    managers = _managers_by_team(roster, people) if from_managers else {}
    teams = {}
    for team_id, team in roster.teams.items():
        override = unit.teams.get(team_id) or unit.teams.get(team.name)
        if override is not None:
            team = replace(team, supervisor_ids=tuple(override.supervisors) or team.supervisor_ids,
                           slack_channel=override.slack_channel or team.slack_channel)
        if not (override and override.supervisors) and managers.get(team_id):
            team = replace(team, supervisor_ids=managers[team_id])
        teams[team_id] = team
    return Roster(mu, teams, roster.agents, people)


def _managers_by_team(roster: Roster, people: dict[str, Person]) -> dict[str, tuple[str, ...]]:
    """Team id -> its agents' managers (first seen first), only those the directory can reach."""
    found: dict[str, dict[str, None]] = {}
    for agent in roster.agents.values():
        if agent.manager_id and agent.manager_id != agent.id and agent.manager_id in people:
            found.setdefault(agent.team_id, {})[agent.manager_id] = None
    return {team_id: tuple(ids) for team_id, ids in found.items()}
