"""The one in-memory WorkforceSource of the tests and the benchmarks: units, teams, agents and their
published activities, live states that change only when the caller says so, approved exceptions,
schedule-change callbacks, and (optionally) the ``ChangeReporting`` of which agents' states changed.

The scripted monitor source (``tests/monitor/scripted.py``), the booking week
(``tests/booking/workforce_fixture.py``) and the benchmarks' synthetic units (``bench/``) are set-ups
of this class, not implementations of their own.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import datetime

from services.clock import SystemClock
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
from services.ports import Clock, ScheduleChanged

#: changes remembered per unit for ``changed_agents``; an older cursor is answered "cannot tell"
CHANGE_LOG = 200_000


class MemoryWorkforce:
    """``confirm_on_read``: every read of the live states confirms them (``observed`` = now), as a push
    source that holds the latest state does; otherwise ``observed`` moves only by :meth:`observe`.
    ``report_changes``: answer ``changed_agents`` with the agents changed by :meth:`set_state`
    (otherwise "cannot tell", and the monitor compares every state)."""

    def __init__(self, clock: Clock | None = None, *, confirm_on_read: bool = True,
                 report_changes: bool = False) -> None:
        self.clock = clock or SystemClock()
        self.confirm_on_read, self.report_changes = confirm_on_read, report_changes
        self.units: dict[str, ManagementUnit] = {}
        self.teams: dict[str, Team] = {}
        self.agents: dict[str, Agent] = {}
        self.people: dict[str, Person] = {}
        self.activities: dict[str, list[ScheduledActivity]] = {}
        self.exceptions: list[ExceptionWindow] = []
        self.callbacks: list[ScheduleChanged] = []
        self.schedule_fetches = 0
        self.version = 0
        self._states: dict[str, dict[str, AgentState]] = {}  # unit -> agent -> state
        self._log: dict[str, list[tuple[int, str]]] = {}  # unit -> (version, agent), oldest first
        self._forgotten: dict[str, int] = {}  # unit -> the newest version dropped from its log

    # ---- building -----------------------------------------------------------------------------------
    @property
    def mu(self) -> ManagementUnit:
        """The first unit: most set-ups have one."""
        return next(iter(self.units.values()))

    @mu.setter
    def mu(self, unit: ManagementUnit) -> None:
        self.add_unit(unit)

    def add_unit(self, unit: ManagementUnit) -> None:
        self.units[unit.id] = unit
        self._states.setdefault(unit.id, {})

    def add_team(self, team: Team) -> None:
        self.teams[team.id] = team

    def add_agent(self, agent_id: str, activities: Sequence[ScheduledActivity] = (), team_id: str = "t1", *,
                  mu_id: str | None = None, name: str | None = None, email: str = "") -> Agent:
        """An agent of ``team_id`` (created with supervisor ``sup`` if new) in ``mu_id`` (the first unit)."""
        unit_id = mu_id or self.mu.id
        self.teams.setdefault(team_id, Team(team_id, f"Team {team_id}", unit_id, ("sup",)))
        agent = Agent(agent_id, name or f"Agent {agent_id}", team_id, unit_id, email)
        self.agents[agent_id] = agent
        self.activities[agent_id] = list(activities)
        return agent

    def activities_of(self, agent_id: str) -> Sequence[ScheduledActivity]:
        """An agent's published activities (a set-up may compute them instead of storing them)."""
        return self.activities.get(agent_id, ())

    # ---- scripting ----------------------------------------------------------------------------------
    def set_state(self, agent_id: str, presence: Presence, routing: RoutingStatus,
                  since: datetime | None = None) -> None:
        """A change of state at ``since`` (now by default), recorded for ``changed_agents``."""
        when = since or self.clock.now()
        mu_id = self._unit_of(agent_id)
        self._states.setdefault(mu_id, {})[agent_id] = AgentState(agent_id, presence, routing, when, when)
        self.version += 1
        log = self._log.setdefault(mu_id, [])
        log.append((self.version, agent_id))
        if len(log) > CHANGE_LOG:
            self._forgotten[mu_id] = log[-CHANGE_LOG - 1][0]
            del log[:-CHANGE_LOG]

    def observe(self, agent_id: str, when: datetime | None = None) -> None:
        """The same state seen again (``observed`` moves, ``since`` does not): not a change."""
        states = self._states[self._unit_of(agent_id)]
        state = states[agent_id]
        states[agent_id] = AgentState(agent_id, state.presence, state.routing, state.since,
                                      when or self.clock.now())

    def current_states(self, mu_id: str) -> Mapping[str, AgentState]:
        """The unit's states as held (not confirmed by the read, unlike ``live_states``)."""
        return self._states.get(mu_id, {})

    def republish(self, agent_id: str, activities: Sequence[ScheduledActivity], *, announce: bool = True) -> None:
        self.activities[agent_id] = list(activities)
        if announce:
            for callback in self.callbacks:
                callback(self._unit_of(agent_id))

    def _unit_of(self, agent_id: str) -> str:
        agent = self.agents.get(agent_id)
        return agent.mu_id if agent is not None else self.mu.id  # a state for an agent not (yet) on the roster

    # ---- WorkforceSource ------------------------------------------------------------------------------
    async def management_units(self) -> Sequence[ManagementUnit]:
        return list(self.units.values())

    async def roster(self, mu_id: str) -> Roster:
        teams = {t.id: t for t in self.teams.values() if t.mu_id == mu_id}
        agents = {a.id: a for a in self.agents.values() if a.mu_id == mu_id}
        return Roster(self.units[mu_id], teams, agents, dict(self.people))

    async def schedules(self, mu_id: str, start: datetime, end: datetime) -> Mapping[str, AgentSchedule]:
        self.schedule_fetches += 1
        return {a.id: AgentSchedule.of(a.id, [x for x in self.activities_of(a.id) if x.end > start and x.start < end])
                for a in self.agents.values() if a.mu_id == mu_id}

    async def live_states(self, mu_id: str) -> Mapping[str, AgentState]:
        states = self._states.get(mu_id, {})
        if not self.confirm_on_read:
            return dict(states)
        now = self.clock.now()
        return {a: AgentState(a, s.presence, s.routing, s.since, now) for a, s in states.items()}

    async def approved_exceptions(self, mu_id: str, start: datetime, end: datetime) -> Sequence[ExceptionWindow]:
        return [w for w in self.exceptions if w.end > start and w.start < end]

    def on_schedule_changed(self, callback: ScheduleChanged) -> None:
        self.callbacks.append(callback)

    # ---- ChangeReporting ------------------------------------------------------------------------------
    def changed_agents(self, mu_id: str, cursor: int | None) -> tuple[int, set[str] | None]:
        if not self.report_changes or cursor is None or cursor < self._forgotten.get(mu_id, 0):
            return self.version, None
        log = self._log.get(mu_id, [])
        return self.version, {agent for _, agent in log[bisect_right(log, cursor, key=lambda entry: entry[0]):]}
