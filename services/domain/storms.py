"""Storm control: when a large share of a team goes out together (an outage), group them.

Incidents of the same team that open within ``window`` of each other, once they reach ``share`` of the
team (and at least ``min_agents``), get one ``storm_id``; the chat tier then posts one grouped card
for the storm instead of one card per agent. Later incidents of the same team that open within the
window of an open storm join it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from services.domain.escalation import Incident


@dataclass(frozen=True, slots=True)
class StormPolicy:
    share: float = 0.5
    min_agents: int = 3
    window: timedelta = timedelta(minutes=1)


def assign_storms(open_incidents: Mapping[str, Incident], team_sizes: Mapping[str, int],
                  policy: StormPolicy) -> dict[str, str]:
    """Return {agent id: storm id} for incidents that should join (or form) a storm now."""
    by_team: dict[str, list[Incident]] = defaultdict(list)
    for incident in open_incidents.values():
        if not incident.is_closed:
            by_team[incident.team_id].append(incident)
    assignments: dict[str, str] = {}
    for team_id, incidents in by_team.items():
        storms = [i for i in incidents if i.storm_id]
        loose = sorted((i for i in incidents if not i.storm_id), key=lambda i: i.started_at)
        if not loose:
            continue
        if storms:
            anchor = min(storms, key=lambda i: i.started_at)
            storm_id = anchor.storm_id or ""
            latest = max(i.started_at for i in storms)
            for incident in loose:
                if incident.started_at - latest <= policy.window:
                    assignments[incident.agent_id] = storm_id
                    latest = max(latest, incident.started_at)
            continue
        size = team_sizes.get(team_id, 0)
        needed = max(policy.min_agents, int(policy.share * size) + 1) if size else policy.min_agents
        cluster = _densest_cluster(loose, policy.window)
        if len(cluster) >= needed:
            storm_id = f"{cluster[0].mu_id}.{team_id}.{int(cluster[0].started_at.timestamp())}"
            for incident in cluster:
                assignments[incident.agent_id] = storm_id
    return assignments


def _densest_cluster(incidents: list[Incident], window: timedelta) -> list[Incident]:
    """The largest run of incidents (sorted by start) all starting within ``window`` of the first."""
    best: list[Incident] = []
    start = 0
    for end in range(len(incidents)):
        while incidents[end].started_at - incidents[start].started_at > window:
            start += 1
        if end - start + 1 > len(best):
            best = incidents[start:end + 1]
    return best

