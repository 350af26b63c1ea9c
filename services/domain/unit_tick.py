"""One tick of one management unit, as a pure function: every agent evaluated and advanced."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.domain.adherence import Evaluation, Reason, Status, evaluate
from services.domain.due import next_due
from services.domain.escalation import AgentTrack, EscalationPolicy, Incident, IncidentEvent, advance
from services.domain.model import Agent, AgentSchedule, AgentState, ExceptionWindow
from services.domain.rules import RuleTable
from services.domain.states import ActivityCategory
from services.domain.storms import StormPolicy, assign_storms

_NOT_WORK = frozenset({ActivityCategory.TIME_OFF, ActivityCategory.UNSCHEDULED})


@dataclass(frozen=True, slots=True)
class UnitInputs:
    mu_id: str
    agents: Mapping[str, Agent]
    schedules: Mapping[str, AgentSchedule]
    states: Mapping[str, AgentState]
    tracks: Mapping[str, AgentTrack]
    rules: RuleTable
    policy: EscalationPolicy
    stale_after: timedelta
    exceptions: Mapping[str, Sequence[ExceptionWindow]] = field(default_factory=dict)
    storm: StormPolicy | None = None
    team_sizes: Mapping[str, int] = field(default_factory=dict)
    #: The tracks are exactly as a tick commit (storms grouped) left them: with no track changed now,
    #: grouping again would assign nothing (``assign_storms`` depends on the open incidents only).
    grouped: bool = False


@dataclass(slots=True)
class UnitOutcome:
    evaluations: dict[str, Evaluation]
    #: Agents whose track changed: the new track, or None when there is nothing left to remember.
    changed: dict[str, AgentTrack | None]
    events: list[IncidentEvent]
    #: Every evaluated agent's next due instant (``next_due``), None when nothing is due before a tick.
    dues: dict[str, datetime | None] = field(default_factory=dict)

    def out_agents(self) -> list[str]:
        """Agents whose time counts as out of adherence (neither forgiven nor excused)."""
        return [a for a, e in self.evaluations.items() if e.status is Status.NON_ADHERENT and e.reason is Reason.RULE]

    def scheduled_agents(self) -> list[str]:
        """Agents scheduled for work now (not time off): the denominator of adherence %."""
        return [a for a, e in self.evaluations.items() if e.category is not None and e.category not in _NOT_WORK]


def run_unit_tick(inputs: UnitInputs, now: datetime) -> UnitOutcome:
    evaluations: dict[str, Evaluation] = {}
    changed: dict[str, AgentTrack | None] = {}
    events: list[IncidentEvent] = []
    dues: dict[str, datetime | None] = {}
    no_exceptions: Sequence[ExceptionWindow] = ()
    for agent_id, agent in inputs.agents.items():
        schedule = inputs.schedules.get(agent_id)
        activity = schedule.activity_at(now) if schedule is not None else None
        track = inputs.tracks.get(agent_id)
        exceptions = inputs.exceptions.get(agent_id, no_exceptions)
        if track is not None and track.exception is not None:
            exceptions = (*exceptions, track.exception)
        off_since = schedule.last_end_before(now) if schedule is not None and activity is None else None
        evaluation = evaluate(agent_id, activity, inputs.states.get(agent_id), now, inputs.rules,
                              stale_after=inputs.stale_after, exceptions=exceptions, off_shift_since=off_since)
        evaluations[agent_id] = evaluation
        new_track, new_events = advance(track, evaluation, now, mu_id=inputs.mu_id, team_id=agent.team_id,
                                        policy=inputs.policy)
        if new_track is not track:
            changed[agent_id] = new_track
        events.extend(new_events)
        dues[agent_id] = next_due(new_track, schedule, now, exceptions=inputs.exceptions.get(agent_id, no_exceptions))
    if inputs.storm is not None and (changed or not inputs.grouped):
        _group_storms(inputs, changed, events, now)
    return UnitOutcome(evaluations, changed, events, dues)


def _group_storms(inputs: UnitInputs, changed: dict[str, AgentTrack | None], events: list[IncidentEvent],
                  now: datetime) -> None:
    assert inputs.storm is not None
    current: dict[str, AgentTrack] = {}
    for agent_id, track in inputs.tracks.items():
        if agent_id not in changed:
            current[agent_id] = track
    for agent_id, maybe in changed.items():
        if maybe is not None:
            current[agent_id] = maybe
    open_incidents: dict[str, Incident] = {a: t.incident for a, t in current.items() if t.incident is not None}
    if not open_incidents:
        return
    assignments = assign_storms(open_incidents, inputs.team_sizes, inputs.storm)
    if not assignments:
        return
    replaced: dict[str, Incident] = {}
    for agent_id, storm_id in assignments.items():
        track = current[agent_id]
        assert track.incident is not None
        incident = track.incident.model_copy(update={"storm_id": storm_id})
        replaced[track.incident.id] = incident
        changed[agent_id] = track.model_copy(update={"incident": incident})
    # Events of this tick carry the incident as it is stored, storm id included.
    for index, event in enumerate(events):
        if event.incident.id in replaced:
            events[index] = IncidentEvent(event.kind, replaced[event.incident.id], event.at, event.actor,
                                          event.tier, event.note)


def accrual_flags(scheduled: bool, out: bool) -> str:
    """An agent's accrual flags (what its open segment accrues): ``s`` scheduled for work (the
    history's denominator), ``o`` out of adherence (out-seconds; the history's only while scheduled)."""
    return ("s" if scheduled else "") + ("o" if out else "")


def status_line(evaluation: Evaluation) -> str:
    """Compact form kept in Redis for ``/adherence team``: status|category|presence|routing|since|reason."""
    return "|".join((
        evaluation.status.value, evaluation.category or "", evaluation.presence or "",
        evaluation.routing or "", str(int(evaluation.since.timestamp())), evaluation.reason.value,
    ))
