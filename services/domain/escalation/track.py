"""One agent between ticks: the track the monitor keeps, and how one tick's evaluation advances it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from services.domain.adherence import Evaluation, Reason, Status
from services.domain.escalation.incident import (
    EscalationPolicy,
    EventKind,
    Incident,
    IncidentEvent,
    IncidentStatus,
    ReplyKind,
)
from services.domain.escalation.refusals import CardMismatch, IncidentClosed
from services.domain.escalation.transitions import close, fire_due_tiers, open_incident, refuse_closed
from services.domain.model import ExceptionWindow
from services.domain.rules import Impact


class AgentTrack(BaseModel):
    """What the monitor remembers about one agent between ticks (stored only when non-empty)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent_id: str
    version: int = 0
    incident: Incident | None = None
    positive_since: datetime | None = None
    exception: ExceptionWindow | None = None  # approved from Slack; suppresses new incidents

    @property
    def empty(self) -> bool:
        return self.incident is None and self.positive_since is None and self.exception is None


def excuse(track: AgentTrack, by: str, until: datetime, reason: str,
           now: datetime) -> tuple[AgentTrack, IncidentEvent]:
    """Approve an exception: close the open incident as excused and suppress until ``until``."""
    if track.incident is None:
        raise IncidentClosed(None, "there is no open incident for this agent")
    _incident, event = close(track.incident, IncidentStatus.EXCUSED, now, by=by, reason=reason)
    window = ExceptionWindow(track.agent_id, now, until, reason=reason, approved_by=by, source="slack")
    return track.model_copy(update={"incident": None, "exception": window}), event


def approve_explanation(track: AgentTrack, by: str, now: datetime, *, shown: int | None,
                        suppress: timedelta) -> tuple[AgentTrack, IncidentEvent]:
    """Accept the agent's explanation: excuse the incident for its real window (its start until the
    agent came back, or now) with the agent's reason, and keep new incidents away for ``suppress``.

    ``shown`` is the answer the card showed (``reply_seq``): if the agent answered again since, the
    supervisor approves what they saw or nothing.
    """
    incident = track.incident
    if incident is None:
        raise IncidentClosed(None, "there is no open incident for this agent")
    refuse_closed(incident)
    reply = incident.agent_reply
    if reply is None or reply.kind is not ReplyKind.EXPLANATION:
        raise CardMismatch("the agent has not explained this alert")
    if shown is not None and shown != reply.seq:
        raise CardMismatch("the agent answered again since this card was drawn; use the latest card")
    _incident, event = close(incident, IncidentStatus.EXCUSED, now, by=by, reason=reply.reason)
    end = incident.back_in_since or now
    written = ExceptionWindow(track.agent_id, incident.started_at, max(end, incident.started_at),
                              reason=reply.reason, approved_by=by, source="slack")
    held = ExceptionWindow(track.agent_id, incident.started_at, now + suppress, reason=reply.reason,
                           approved_by=by, source="slack")
    return (track.model_copy(update={"incident": None, "exception": held}),
            replace(event, write_back=written))


@dataclass(frozen=True, slots=True)
class _Tick:
    """One agent's evaluation at one tick, and where a new incident would belong."""

    evaluation: Evaluation
    now: datetime
    mu_id: str
    team_id: str
    policy: EscalationPolicy


def advance(
    track: AgentTrack | None,
    evaluation: Evaluation,
    now: datetime,
    *,
    mu_id: str,
    team_id: str,
    policy: EscalationPolicy,
) -> tuple[AgentTrack | None, list[IncidentEvent]]:
    """One agent, one tick: open, fire, clear or resolve. Returns the new track (None if empty)."""
    if track is None and not evaluation.escalates and not evaluation.positive_deviation:
        return None, []  # the common case, kept cheap: an adherent agent with nothing remembered
    tick = _Tick(evaluation, now, mu_id, team_id, policy)
    current = track or AgentTrack(agent_id=evaluation.agent_id)
    exception, excused_until = current.exception, None
    if exception is not None and now >= exception.end:
        excused_until, exception = exception.end, None
    incident = current.incident
    events: list[IncidentEvent] = []
    if evaluation.escalates and exception is None:
        incident, events = _still_out(tick, incident, excused_until)
    elif incident is not None and evaluation.status is not Status.UNKNOWN:
        # Unknown state freezes an incident: neither escalate nor clear on data we do not have.
        incident, events = _back_in(tick, incident)
    positive_since, deviation = _positive_deviation(tick, current.positive_since, incident)
    events.extend(deviation)
    if (incident is current.incident and exception is current.exception
            and positive_since == current.positive_since):
        return track, events  # nothing moved: skip building and comparing a model (the common push case)
    new = AgentTrack(agent_id=evaluation.agent_id, version=current.version, incident=incident,
                     positive_since=positive_since, exception=exception)
    if new == current:
        return track, events
    return (None if new.empty else new), events


def _still_out(tick: _Tick, incident: Incident | None,
               excused_until: datetime | None) -> tuple[Incident, list[IncidentEvent]]:
    """Out of adherence: open the incident (or go on with it) and fire the tiers that came due."""
    evaluation, now = tick.evaluation, tick.now
    events: list[IncidentEvent] = []
    if incident is None:
        incident = open_incident(evaluation, tick.mu_id, tick.team_id, tick.policy, now)
        if excused_until is not None and incident.started_at < excused_until:
            # Still out when the approved exception ran out: the clock starts where it ended.
            incident = open_incident(replace(evaluation, since=excused_until), tick.mu_id, tick.team_id,
                                     tick.policy, now)
        events.append(IncidentEvent(EventKind.OPENED, incident, now))
    elif (incident.back_in_since is not None or incident.presence != evaluation.presence
          or incident.routing != evaluation.routing or incident.category != evaluation.category):
        # Back out before clear_after ran out: the same violation goes on, its clock untouched.
        incident = incident.model_copy(update={
            "back_in_since": None, "last_out_at": now, "category": evaluation.category,
            "presence": evaluation.presence, "routing": evaluation.routing,
        })
    incident, fired = fire_due_tiers(incident, now)
    return incident, events + fired


def _back_in(tick: _Tick, incident: Incident) -> tuple[Incident | None, list[IncidentEvent]]:
    """Adherent (or excused by the WFM) again: close at once, or after ``clear_after`` back in."""
    evaluation, now = tick.evaluation, tick.now
    if evaluation.reason is Reason.EXCEPTION:
        _closed, event = close(incident, IncidentStatus.EXCUSED, now, by="wfm", reason="approved adherence exception")
        return None, [event]
    back = incident.back_in_since or max(evaluation.since, incident.last_out_at or incident.started_at)
    incident = incident.model_copy(update={"back_in_since": back})
    if now - back >= incident.policy.clear_after:
        _closed, event = close(incident, IncidentStatus.RESOLVED, now, reason="back in adherence")
        return None, [event]
    return incident, []


def _positive_deviation(tick: _Tick, since: datetime | None,
                        incident: Incident | None) -> tuple[datetime | None, list[IncidentEvent]]:
    """Track a positive deviation; when it ends, record it (on the incident if there is one)."""
    evaluation, now = tick.evaluation, tick.now
    if evaluation.positive_deviation:
        return since or evaluation.since, []
    if since is None or _still_positive(evaluation):
        return since, []
    note = f"{since.isoformat()}/{now.isoformat()}"
    if incident is not None:
        return None, [IncidentEvent(EventKind.POSITIVE_DEVIATION, incident, now, note=note)]
    return None, [_deviation_event(evaluation.agent_id, tick.mu_id, tick.team_id, since, now, tick.policy, note)]


def _still_positive(evaluation: Evaluation) -> bool:
    """A positive deviation goes on through forgiven calls (taking calls on a break) and data gaps."""
    return evaluation.status is Status.UNKNOWN or (
        evaluation.status is Status.NON_ADHERENT and evaluation.impact is Impact.POSITIVE)


def _deviation_event(agent_id: str, mu_id: str, team_id: str, start: datetime, now: datetime,
                     policy: EscalationPolicy, note: str) -> IncidentEvent:
    """Positive deviations are recorded (audit) but never become incidents that escalate."""
    record = Incident(id=f"{mu_id}.{agent_id}.{int(start.timestamp())}.positive", mu_id=mu_id,
                      agent_id=agent_id, team_id=team_id, started_at=start, policy=policy,
                      status=IncidentStatus.RESOLVED, closed_at=now, close_reason="positive deviation")
    return IncidentEvent(EventKind.POSITIVE_DEVIATION, record, now, note=note)
