"""Supervisor routing from the organisation config, applied to whatever roster the source reports.

The config wins where it says something (a unit's ops managers, a team's supervisors or Slack
channel, matched by team id or name); the source's own answer stands elsewhere. People named in the
config join the roster's directory so escalations can reach them.
"""

from __future__ import annotations

from dataclasses import replace

from services.config import OrgConfig
from services.domain.model import Person, Roster


def apply_org_routing(roster: Roster, config: OrgConfig) -> Roster:
    unit = config.management_units.get(roster.mu.id)
    if unit is None:
        return roster
    people = dict(roster.people)
    for person_id, person in config.people.items():
        people[person_id] = Person(person_id, person.name, person.email)
    mu = replace(roster.mu, ops_manager_ids=tuple(unit.ops_managers)) if unit.ops_managers else roster.mu
    teams = {}
    for team_id, team in roster.teams.items():
        override = unit.teams.get(team_id) or unit.teams.get(team.name)
        if override is not None:
            team = replace(team, supervisor_ids=tuple(override.supervisors) or team.supervisor_ids,
                           slack_channel=override.slack_channel or team.slack_channel)
        teams[team_id] = team
    return Roster(mu, teams, roster.agents, people)
