"""Value objects shared by the monitor: who works where, what they are scheduled to do, what they do.

Hot-path objects (evaluated for every agent on every tick) are slotted dataclasses; objects that are
stored or configured are pydantic models elsewhere.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.domain.states import ActivityCategory, Presence, RoutingStatus


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    email: str = ""


@dataclass(frozen=True, slots=True)
class Agent:
    id: str
    name: str
    team_id: str
    mu_id: str
    email: str = ""
    manager_id: str | None = None  # the WFM/HR manager, if the source reports one (Genesys: the user's manager)


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    name: str
    mu_id: str
    supervisor_ids: tuple[str, ...] = ()
    slack_channel: str | None = None


@dataclass(frozen=True, slots=True)
class ManagementUnit:
    id: str
    name: str
    time_zone: str = "UTC"
    ops_manager_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Roster:
    """Everyone in one management unit: agents, their teams and the people escalations go to."""

    mu: ManagementUnit
    teams: dict[str, Team]
    agents: dict[str, Agent]
    people: dict[str, Person] = field(default_factory=dict)

    def supervisors_of(self, agent_id: str) -> list[Person]:
        agent = self.agents.get(agent_id)
        team = self.teams.get(agent.team_id) if agent else None
        if team is None:
            return []
        return [self.people[p] for p in team.supervisor_ids if p in self.people]

    def ops_managers(self) -> list[Person]:
        return [self.people[p] for p in self.mu.ops_manager_ids if p in self.people]


@dataclass(frozen=True, slots=True)
class ScheduledActivity:
    start: datetime
    end: datetime
    category: ActivityCategory
    code_id: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class AgentSchedule:
    """One agent's published activities, sorted and non-overlapping, looked up by bisection."""

    agent_id: str
    activities: tuple[ScheduledActivity, ...]
    _starts: tuple[float, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def of(cls, agent_id: str, activities: Sequence[ScheduledActivity]) -> AgentSchedule:
        ordered = tuple(sorted(activities, key=lambda a: a.start))
        return cls(agent_id, ordered, tuple(a.start.timestamp() for a in ordered))

    def activity_at(self, now: datetime) -> ScheduledActivity | None:
        index = bisect_right(self._starts, now.timestamp()) - 1
        if index < 0:
            return None
        activity = self.activities[index]
        return activity if now < activity.end else None

    def last_end_before(self, now: datetime) -> datetime | None:
        """When the latest activity that ended by ``now`` ended (e.g. the end of today's shift)."""
        index = bisect_right(self._starts, now.timestamp()) - 1
        while index >= 0:
            if self.activities[index].end <= now:
                return self.activities[index].end
            index -= 1
        return None

    def next_boundary_after(self, now: datetime) -> datetime | None:
        """The first instant after ``now`` at which an activity starts or ends (a due instant)."""
        index = bisect_right(self._starts, now.timestamp())
        current_end = self.activities[index - 1].end if index > 0 else None
        next_start = self.activities[index].start if index < len(self.activities) else None
        ahead = [t for t in (current_end, next_start) if t is not None and t > now]
        return min(ahead) if ahead else None

    def scheduled_seconds_between(self, start: datetime, end: datetime) -> float:
        """Seconds of scheduled (non time-off) activity inside ``[start, end)``."""
        total = 0.0
        for activity in self.activities:
            if activity.category in (ActivityCategory.TIME_OFF, ActivityCategory.UNSCHEDULED):
                continue
            lo, hi = max(start, activity.start), min(end, activity.end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        return total


@dataclass(frozen=True, slots=True)
class AgentState:
    """Live state as last reported. ``observed_at`` is when the source last confirmed it.

    ``confirmed`` False: the source cannot vouch for it right now (the live feed carrying the agent
    dropped and has not been reconciled since). The monitor holds such an agent: nothing opens or
    escalates on it until the source confirms the state again.
    """

    agent_id: str
    presence: Presence | None
    routing: RoutingStatus | None
    since: datetime
    observed_at: datetime
    confirmed: bool = True


@dataclass(frozen=True, slots=True)
class ExceptionWindow:
    """An approved deviation (WFM explanation or Slack approval): no escalation inside it."""

    agent_id: str
    start: datetime
    end: datetime
    reason: str = ""
    approved_by: str = ""
    source: str = "wfm"

    def covers(self, now: datetime) -> bool:
        return self.start <= now < self.end
