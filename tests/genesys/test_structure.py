"""Business units -> management units -> agents, teams, supervisors; activity codes -> categories."""

from __future__ import annotations

from services.clock import ManualClock
from services.config import OrgConfig
from services.domain.states import ActivityCategory
from testing.fake_genesys import FakeGenesys
from tests.genesys.conftest import agents_of, make_source


async def test_every_management_unit_of_every_business_unit(fake: FakeGenesys, clock: ManualClock,
                                                            org_config: OrgConfig) -> None:
    fake.add_business_unit("bu-2", "Second", "America/New_York")
    fake.add_unit("mu-c", "bu-2", "Unit C")
    source = make_source(fake, clock, org_config)
    try:
        units = {u.id: u for u in await source.management_units()}
    finally:
        await source.close()
    assert set(units) == {"mu-a", "mu-b", "mu-c"}
    assert units["mu-a"].name == "Unit A"
    assert units["mu-a"].time_zone == "Europe/Berlin"  # from the BU settings (expand=settings.timeZone)
    assert units["mu-c"].time_zone == "America/New_York"
    assert units["mu-a"].ops_manager_ids == ("ops-a",)
    bu_call = fake.requests_to("/businessunits/bu-1$")[0]
    assert bu_call.query["expand"] == ["settings.timeZone"]


async def test_roster_has_agents_teams_and_configured_supervisors(fake: FakeGenesys, clock: ManualClock,
                                                                  org_config: OrgConfig) -> None:
    source = make_source(fake, clock, org_config)
    try:
        roster = await source.roster("mu-a")
    finally:
        await source.close()
    assert set(roster.agents) == set(agents_of("mu-a"))
    agent = roster.agents["agent-a1-1"]
    assert (agent.name, agent.team_id, agent.email) == ("Agent A1-1", "team-a1", "agent-a1-1@example.com")
    assert roster.teams["team-a1"].name == "Team A1"
    assert [p.name for p in roster.supervisors_of("agent-a1-1")] == ["Sam Supervisor"]
    assert roster.supervisors_of("agent-a2-1") == []  # config names none, Genesys lookup is off
    assert [p.email for p in roster.ops_managers()] == ["olga@example.com"]
    users_call = fake.requests_to("/api/v2/users$")[0]
    assert set(users_call.query["id"]) == set(agents_of("mu-a"))


async def test_optional_supervisor_lookup_uses_genesys_managers(fake: FakeGenesys, clock: ManualClock,
                                                                org_config: OrgConfig) -> None:
    source = make_source(fake, clock, org_config, supervisors_from_managers=True)
    try:
        roster = await source.roster("mu-a")
    finally:
        await source.close()
    assert [p.name for p in roster.supervisors_of("agent-a1-1")] == ["Sam Supervisor"]  # config still wins
    assert [(p.id, p.name) for p in roster.supervisors_of("agent-a2-2")] == [("sup-a2", "Supervisor A2")]


async def test_large_units_fetch_users_in_batches(fake: FakeGenesys, clock: ManualClock) -> None:
    for i in range(230):
        fake.add_user(f"bulk-{i:03d}", "mu-b", team_id="team-b1")
    source = make_source(fake, clock)
    try:
        roster = await source.roster("mu-b")
    finally:
        await source.close()
    assert len(roster.agents) == 230 + len(agents_of("mu-b"))
    calls = fake.requests_to("/api/v2/users$")
    assert len(calls) == 3 and all(len(c.query["id"]) <= 100 for c in calls)


async def test_agents_without_a_team_are_grouped_not_dropped(fake: FakeGenesys, clock: ManualClock) -> None:
    fake.add_user("loner", "mu-a", team_id=None)
    source = make_source(fake, clock)
    try:
        roster = await source.roster("mu-a")
    finally:
        await source.close()
    assert roster.agents["loner"].team_id == ""
    assert roster.teams[""].name == "No team"


async def test_activity_codes_map_to_categories(fake: FakeGenesys, clock: ManualClock) -> None:
    fake.business_units["bu-1"].codes["ac-bad"] = {"id": "ac-bad", "name": "Weird", "category": "Nonsense"}
    source = make_source(fake, clock)
    try:
        codes = await source.structure.activity_codes("bu-1")
    finally:
        await source.close()
    assert codes["ac-onq"].category is ActivityCategory.ON_QUEUE_WORK
    assert codes["ac-mtg"].category is ActivityCategory.MEETING
    assert codes["ac-pto"].category is ActivityCategory.TIME_OFF
    assert "ac-bad" not in codes  # logged and skipped, not guessed
