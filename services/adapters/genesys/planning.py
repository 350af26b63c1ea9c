"""Which of a management unit's agents count towards which planning group (the forecast's "queues").

Genesys forecasts staffing per planning group for a whole business unit. A planning group lists its
route paths (``GET .../businessunits/{id}/planninggroups``: ``routePaths[].queue.id``), and a WFM
agent lists its queues (``GET .../managementunits/{mu}/agents/{id}``: ``queues[]``). An agent serves
the planning groups whose route-path queues it is a member of, with an equal share of its
productive time on each.

Assumptions (the reference names no direct mapping): when several management units serve one
planning group, each unit is given the part of the requirement in proportion to its share of the
agents serving the group; when no agent of the business unit maps to any planning group (route paths
not configured), every planning group is pooled into one queue that every agent serves, split
between the units by head count.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.adapters.genesys.client import GenesysClient, as_object
from services.adapters.genesys.parse import ref_id
from services.adapters.genesys.structure import WFM, StructureReader

log = logging.getLogger(__name__)

POOLED = "all-planning-groups"


@dataclass(frozen=True, slots=True)
class PlanningGroups:
    """A business unit's planning groups and who serves them."""

    groups: Mapping[str, frozenset[str]]  # planning group -> queue ids of its route paths
    serving: Mapping[str, Mapping[str, float]]  # agent -> planning group -> share of its productive time
    units: Mapping[str, tuple[str, ...]]  # management unit -> its agents

    @property
    def pooled(self) -> bool:
        return not any(self.serving.values())

    def skills(self, agent_id: str) -> dict[str, float]:
        if self.pooled:
            return {POOLED: 1.0}
        return dict(self.serving.get(agent_id, {}))

    def share(self, mu_id: str, group: str) -> float:
        """The part of ``group``'s requirement this unit's agents carry (0..1)."""
        members = self.units.get(mu_id, ())
        if self.pooled:
            heads = sum(len(agents) for agents in self.units.values())
            return len(members) / heads if heads else 0.0
        total = sum(shares.get(group, 0.0) for shares in self.serving.values())
        ours = sum(self.serving.get(a, {}).get(group, 0.0) for a in members)
        return ours / total if total else 0.0

    def groups_of(self, mu_id: str) -> tuple[str, ...]:
        if self.pooled:
            return (POOLED,)
        found = {g for a in self.units.get(mu_id, ()) for g in self.serving.get(a, {})}
        return tuple(sorted(found))


def read_planning_groups(body: Any) -> dict[str, frozenset[str]]:
    groups: dict[str, frozenset[str]] = {}
    for raw in as_object(body, "planning groups").get("entities") or []:
        group = ref_id(raw)
        if group is None:
            continue
        queues = {ref_id(p.get("queue")) for p in raw.get("routePaths") or [] if isinstance(p, dict)}
        groups[group] = frozenset(q for q in queues if q)
    return groups


async def load_planning_groups(client: GenesysClient, structure: StructureReader, bu_id: str,
                               mu_ids: Sequence[str], *, concurrency: int = 4) -> PlanningGroups:
    """Planning groups of ``bu_id`` and the agents of its management units ``mu_ids`` that serve them.

    One GET per agent of the business unit: ``concurrency`` of them at a time, so the monitor's own
    requests on the same client (and its rate limit) still get through while the map loads.
    """
    groups = read_planning_groups(await client.get(f"{WFM}/businessunits/{bu_id}/planninggroups"))
    by_queue: dict[str, set[str]] = {}
    for group, queues in groups.items():
        for queue in queues:
            by_queue.setdefault(queue, set()).add(group)
    members = await asyncio.gather(*(structure.member_ids(mu) for mu in mu_ids))
    units = {mu: tuple(agents) for mu, agents in zip(mu_ids, members, strict=True)}

    gate = asyncio.Semaphore(concurrency)

    async def agent_queues(mu_id: str, agent_id: str) -> tuple[str, set[str]]:
        async with gate:
            body = as_object(await client.get(f"{WFM}/managementunits/{mu_id}/agents/{agent_id}"), "WFM agent")
        return agent_id, {q for q in (ref_id(x) for x in body.get("queues") or []) if q}

    found = await asyncio.gather(*(agent_queues(mu, a) for mu, agents in units.items() for a in agents))
    serving: dict[str, dict[str, float]] = {}
    for agent_id, member_of in found:
        served = sorted({g for q in member_of for g in by_queue.get(q, ())})
        serving[agent_id] = {g: 1.0 / len(served) for g in served}
    result = PlanningGroups(groups, serving, units)
    if result.pooled:
        log.warning("no agent of business unit %s is a member of a planning group's queues; pooling its %d "
                    "planning group(s) and splitting them between units by head count", bu_id, len(groups))
    return result
