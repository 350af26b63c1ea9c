"""``[routing] supervisors_from_genesys_manager``: a team the config names no supervisors for is escalated
to its agents' Genesys managers (the user's ``manager``). Against the fake Genesys, through the same
source + routing the monitor uses."""

from __future__ import annotations

from typing import Any

from services.clock import ManualClock
from services.config import parse_org_config
from services.domain.model import Roster
from services.routing import apply_org_routing
from testing.fake_genesys import FakeGenesys
from tests.genesys.conftest import ORG_TOML, make_source


async def _routed(fake: FakeGenesys, clock: ManualClock, toml: dict[str, Any], mu_id: str = "mu-a") -> Roster:
    config = parse_org_config(toml)
    source = make_source(fake, clock, config)  # no SourceOptions flag: the TOML switch alone
    try:
        return apply_org_routing(await source.roster(mu_id), config)
    finally:
        await source.close()


async def test_the_switch_sends_a_teams_alerts_to_its_agents_genesys_managers(fake: FakeGenesys,
                                                                            clock: ManualClock) -> None:
    roster = await _routed(fake, clock, {**ORG_TOML, "routing": {"supervisors_from_genesys_manager": True}})
    assert [(p.id, p.name, p.email) for p in roster.supervisors_of("agent-a2-2")] == [
        ("sup-a2", "Supervisor A2", "sup-a2@example.com")]  # the manager's own Genesys user record
    assert [p.name for p in roster.supervisors_of("agent-a1-1")] == ["Sam Supervisor"]  # the config still wins
    assert roster.agents["agent-a2-2"].manager_id == "sup-a2"
    managers_fetched = [set(r.query["id"]) for r in fake.requests_to("/api/v2/users$")]
    assert {"sup-a1", "sup-a2"} in managers_fetched  # one extra request for the managers, not one per agent


async def test_without_the_switch_a_team_without_supervisors_has_none(fake: FakeGenesys, clock: ManualClock) -> None:
    roster = await _routed(fake, clock, ORG_TOML)
    assert roster.supervisors_of("agent-a2-2") == []
    assert len(fake.requests_to("/api/v2/users$")) == 1  # managers are not looked up


async def test_a_team_with_two_managers_and_agents_without_a_team(fake: FakeGenesys, clock: ManualClock) -> None:
    fake.add_user("boss-2", "", name="Second Boss", team_id=None)
    fake.add_user("agent-b1-9", "mu-b", name="Agent B1-9", team_id="team-b1", manager_id="boss-2")
    fake.add_user("loner", "mu-b", name="Loner", team_id=None, manager_id="boss-2")
    roster = await _routed(fake, clock, {"routing": {"supervisors_from_genesys_manager": True}}, "mu-b")
    assert [p.id for p in roster.supervisors_of("agent-b1-1")] == ["sup-b1", "boss-2"]  # every manager of the team
    assert roster.teams[""].name == "No team"
    assert [p.name for p in roster.supervisors_of("loner")] == ["Second Boss"]


def test_routing_itself_takes_the_managers_of_any_sources_roster() -> None:
    from services.domain.model import Agent, ManagementUnit, Person, Team

    roster = Roster(ManagementUnit("mu-1", "Unit"), {"t1": Team("t1", "Billing", "mu-1"),
                                                     "t2": Team("t2", "Sales", "mu-1")},
                    {"a": Agent("a", "A", "t1", "mu-1", manager_id="m1"),
                     "b": Agent("b", "B", "t1", "mu-1", manager_id="unknown"),  # not in the directory: skipped
                     "c": Agent("c", "C", "t2", "mu-1", manager_id="m1")},
                    {"m1": Person("m1", "Mia Manager", "mia@example.com")})
    on = parse_org_config({"routing": {"supervisors_from_genesys_manager": True},
                           "people": {"sam": {"name": "Sam"}},
                           "management_units": {"mu-1": {"teams": {"Sales": {"supervisors": ["sam"]}}}}})
    routed = apply_org_routing(roster, on)
    assert [p.name for p in routed.supervisors_of("b")] == ["Mia Manager"]
    assert [p.name for p in routed.supervisors_of("c")] == ["Sam"]  # configured supervisors win
    assert apply_org_routing(roster, parse_org_config({})).supervisors_of("a") == []
