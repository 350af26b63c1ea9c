"""``check``: do the management units and teams the config names exist in the WFM? A unit or team
the source does not know is configuration that can never route an alert."""

from __future__ import annotations

from services.config import OrgConfig
from services.ports import WorkforceSource


async def missing_references(config: OrgConfig, source: WorkforceSource) -> list[str]:
    """One sentence per ``[management_units.<mu>]`` or ``...teams.<team>`` the source does not have."""
    if not config.management_units:
        return []
    known = {mu.id: mu for mu in await source.management_units()}
    problems = []
    for mu_id, unit in config.management_units.items():
        if mu_id not in known:
            problems.append(f"management_units.{mu_id}: no such management unit (known: "
                            f"{', '.join(sorted(known)) or 'none'})")
            continue
        if not unit.teams:
            continue
        roster = await source.roster(mu_id)
        names = {t.id for t in roster.teams.values()} | {t.name for t in roster.teams.values()}
        for team_key in unit.teams:
            if team_key not in names:
                problems.append(f"management_units.{mu_id}.teams.{team_key}: no team with that id or name in "
                                f"{mu_id}")
    return problems
