"""Read-only answers for chat: a team's live snapshot, the caller's teams and open incidents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.dispatch import incident_view
from services.domain.model import Person, Roster, Team
from services.monitor import Monitor
from services.ports import ChatDirectory, Clock, IncidentView, QueryStore


@dataclass(frozen=True, slots=True)
class TeamRef:
    mu_id: str
    mu_name: str
    team_id: str
    name: str


@dataclass(frozen=True, slots=True)
class AgentRow:
    agent_id: str
    agent_name: str
    status: str  # ADHERENT / NON_ADHERENT / OFF_SHIFT / UNKNOWN, or "" before the first tick
    scheduled: str
    presence: str
    routing: str
    reason: str
    minutes_in_state: float
    adherence_pct: float | None
    incident_id: str | None
    incident_status: str | None
    minutes_out: float | None


@dataclass(frozen=True, slots=True)
class TeamSnapshot:
    team: TeamRef
    at: datetime
    rows: Sequence[AgentRow]

    @property
    def adherence_pct(self) -> float | None:
        values = [r.adherence_pct for r in self.rows if r.adherence_pct is not None]
        return sum(values) / len(values) if values else None


class UnknownTeam(Exception):
    code = "unknown_team"

    def __init__(self, query: str, visible: Sequence[TeamRef]) -> None:
        self.query, self.visible = query, list(visible)
        names = ", ".join(t.name for t in visible) or "none"
        super().__init__(f"No team matches {query!r}. Teams you can see: {names}.")


class AdherenceQueries:
    def __init__(self, *, monitor: Monitor, store: QueryStore, directory: ChatDirectory, clock: Clock) -> None:
        self.monitor, self.store, self.directory, self.clock = monitor, store, directory, clock

    async def teams_for(self, slack_user_id: str) -> list[TeamRef]:
        """Teams the caller supervises, and every team of the units the caller is ops manager of."""
        out: list[TeamRef] = []
        for cache in self.monitor.units.values():
            roster = cache.roster
            ops = await self._is_any(roster.ops_managers(), slack_user_id)
            for team in roster.teams.values():
                supervisors = [roster.people[p] for p in team.supervisor_ids if p in roster.people]
                if ops or await self._is_any(supervisors, slack_user_id):
                    out.append(_ref(roster, team))
        return sorted(out, key=lambda t: (t.mu_name, t.name))

    async def team_snapshot(self, team_query: str, slack_user_id: str) -> TeamSnapshot:
        visible = await self.teams_for(slack_user_id)
        team = _match(team_query, visible)
        if team is None:
            raise UnknownTeam(team_query, visible)
        return await self._snapshot(team)

    async def open_incidents_for(self, slack_user_id: str) -> list[IncidentView]:
        views: list[IncidentView] = []
        now = self.clock.now()
        teams_by_unit: dict[str, set[str]] = {}
        for team in await self.teams_for(slack_user_id):
            teams_by_unit.setdefault(team.mu_id, set()).add(team.team_id)
        for mu_id, team_ids in teams_by_unit.items():  # one read of a unit's tracks, however many teams
            roster = self.monitor.roster(mu_id)
            for track in (await self.store.load_tracks(mu_id)).values():
                if track.incident is not None and track.incident.team_id in team_ids:
                    views.append(incident_view(track.incident, roster, now, None))
        return sorted(views, key=lambda v: v.incident.started_at)

    async def _snapshot(self, team: TeamRef) -> TeamSnapshot:
        now = self.clock.now()
        cache = self.monitor.units[team.mu_id]
        statuses = await self.store.statuses(team.mu_id)
        out_today = await self.store.out_seconds(team.mu_id, now.date())
        tracks = await self.store.load_tracks(team.mu_id)
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        rows = []
        for agent in sorted(cache.roster.agents.values(), key=lambda a: a.name):
            if agent.team_id != team.team_id:
                continue
            status, category, presence, routing, since, reason = (statuses.get(agent.id) or "|||||").split("|")
            schedule = cache.schedules.get(agent.id)
            scheduled_s = schedule.scheduled_seconds_between(day_start, now) if schedule else 0.0
            out_s = out_today.get(agent.id, 0.0)
            pct = max(0.0, 100.0 * (1 - out_s / scheduled_s)) if scheduled_s > 0 else None
            incident = tracks[agent.id].incident if agent.id in tracks else None
            minutes = (now.timestamp() - int(since)) / 60 if since else 0.0
            rows.append(AgentRow(
                agent_id=agent.id, agent_name=agent.name, status=status, scheduled=category or "off shift",
                presence=presence, routing=routing, reason=reason, minutes_in_state=max(0.0, minutes),
                adherence_pct=pct, incident_id=incident.id if incident else None,
                incident_status=incident.status.value if incident else None,
                minutes_out=incident.minutes_out(now) if incident else None,
            ))
        return TeamSnapshot(team, now, rows)

    async def _is_any(self, people: Sequence[Person], slack_user_id: str) -> bool:
        for person in people:
            if await self.directory.user_id_for(person) == slack_user_id:
                return True
        return False


def _ref(roster: Roster, team: Team) -> TeamRef:
    return TeamRef(roster.mu.id, roster.mu.name, team.id, team.name)


def _match(query: str, teams: Sequence[TeamRef]) -> TeamRef | None:
    """Exact id, then exact name, then a unique name prefix (case-insensitive)."""
    wanted = query.strip().lower()
    for hits in ([t for t in teams if t.team_id.lower() == wanted],
                 [t for t in teams if t.name.lower() == wanted],
                 [t for t in teams if t.name.lower().startswith(wanted)]):
        if len(hits) == 1:
            return hits[0]
    return None
