"""An in-memory WorkforceSource whose agents do exactly what a test scripts, plus recording ports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.domain.model import (
    Agent,
    AgentSchedule,
    AgentState,
    ExceptionWindow,
    ManagementUnit,
    Person,
    Roster,
    ScheduledActivity,
    Team,
)
from services.domain.states import Presence, RoutingStatus
from services.ports import Clock, CoachingRequest, IncidentView, MessageRef, ScheduleChanged, StormView


class ScriptedSource:
    """One unit, one team per call to ``add_team``; states change only when the test says so."""

    def __init__(self, clock: Clock, mu_id: str = "mu-1") -> None:
        self.clock = clock
        self.mu = ManagementUnit(mu_id, "Scripted unit", ops_manager_ids=("ops",))
        self.people = {"sup": Person("sup", "Sam Supervisor", "sam@example.com"),
                       "ops": Person("ops", "Olga Ops", "olga@example.com")}
        self.teams: dict[str, Team] = {}
        self.agents: dict[str, Agent] = {}
        self.activities: dict[str, list[ScheduledActivity]] = {}
        self.states: dict[str, AgentState] = {}
        self.exceptions: list[ExceptionWindow] = []
        self.callbacks: list[ScheduleChanged] = []
        self.schedule_fetches = 0

    def add_agent(self, agent_id: str, activities: Sequence[ScheduledActivity], team_id: str = "t1") -> None:
        self.teams.setdefault(team_id, Team(team_id, f"Team {team_id}", self.mu.id, ("sup",)))
        self.agents[agent_id] = Agent(agent_id, f"Agent {agent_id}", team_id, self.mu.id)
        self.activities[agent_id] = list(activities)

    def set_state(self, agent_id: str, presence: Presence, routing: RoutingStatus,
                  since: datetime | None = None) -> None:
        when = since or self.clock.now()
        self.states[agent_id] = AgentState(agent_id, presence, routing, when, when)

    def republish(self, agent_id: str, activities: Sequence[ScheduledActivity], *, announce: bool = True) -> None:
        self.activities[agent_id] = list(activities)
        if announce:
            for callback in self.callbacks:
                callback(self.mu.id)

    async def management_units(self) -> Sequence[ManagementUnit]:
        return [self.mu]

    async def roster(self, mu_id: str) -> Roster:
        return Roster(self.mu, dict(self.teams), dict(self.agents), dict(self.people))

    async def schedules(self, mu_id: str, start: datetime, end: datetime) -> Mapping[str, AgentSchedule]:
        self.schedule_fetches += 1
        return {a: AgentSchedule.of(a, acts) for a, acts in self.activities.items()}

    async def live_states(self, mu_id: str) -> Mapping[str, AgentState]:
        now = self.clock.now()  # the source confirms every state at each read
        return {a: AgentState(a, s.presence, s.routing, s.since, now) for a, s in self.states.items()}

    async def approved_exceptions(self, mu_id: str, start: datetime, end: datetime) -> Sequence[ExceptionWindow]:
        return [w for w in self.exceptions if w.end > start and w.start < end]

    def on_schedule_changed(self, callback: ScheduleChanged) -> None:
        self.callbacks.append(callback)


@dataclass
class Recorder:
    """In-memory ChatPort + EmailPort + CoachingPort that remember every call, in order."""

    clock: Clock
    calls: list[tuple[str, str, datetime]] = field(default_factory=list)
    fail_next: int = 0
    appointments: dict[str, CoachingRequest] = field(default_factory=dict)

    def _record(self, what: str, incident_id: str) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError(f"{what} failed (scripted)")
        self.calls.append((what, incident_id, self.clock.now()))

    async def post_incident_card(self, view: IncidentView) -> MessageRef:
        self._record("post_card", view.incident.id)
        return MessageRef("D1", f"{len(self.calls)}.000", permalink=f"https://slack.example/{len(self.calls)}")

    async def update_incident_card(self, ref: MessageRef, view: IncidentView, event: object) -> None:
        self._record(f"update_card:{view.incident.status.value}", view.incident.id)

    async def post_storm_card(self, view: StormView) -> MessageRef:
        self._record(f"post_storm:{len(view.incidents)}", view.storm_id)
        return MessageRef("C1", f"{len(self.calls)}.000")

    async def update_storm_card(self, ref: MessageRef, view: StormView) -> None:
        self._record(f"update_storm:{len(view.incidents)}", view.storm_id)

    async def send_escalation_email(self, view: IncidentView) -> None:
        self._record("email", view.incident.id)

    async def create_coaching_appointment(self, request: CoachingRequest) -> str:
        self._record("coaching", request.idempotency_key)
        self.appointments[request.idempotency_key] = request
        return request.idempotency_key

    def kinds(self) -> list[str]:
        return [what for what, _, _ in self.calls]
