"""Incidents and their escalation: a pure state machine over frozen values.

A violation *is* an incident: it opens the moment an agent's negative, unforgiven non-adherence
starts (``started_at``), freezes the escalation policy of that moment, fires tiers as their
thresholds pass, and ends when the agent has been back in adherence for ``clear_after`` (so a
flapping agent keeps its clock) or when a supervisor excuses it. Nothing here does I/O or reads a
clock: every function takes ``now`` and returns the new value plus the events it caused.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, field_validator

from services.domain.adherence import Evaluation, Reason, Status
from services.domain.model import ExceptionWindow
from services.domain.rules import Impact


class TierAction(StrEnum):
    AGENT_NUDGE = "agent_nudge"  # a DM to the agent, before anyone else hears of it
    CHAT_CARD = "chat_card"
    EMAIL = "email"
    COACHING = "coaching"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Tier(_Frozen):
    after: timedelta
    action: TierAction


class EscalationPolicy(_Frozen):
    tiers: tuple[Tier, ...]
    ack_timeout: timedelta = timedelta(minutes=15)
    clear_after: timedelta = timedelta(seconds=60)

    @field_validator("tiers")
    @classmethod
    def _ordered(cls, tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
        if any(b.after < a.after for a, b in itertools.pairwise(tiers)):
            raise ValueError("tiers must be listed in increasing order of 'after'")
        return tiers


DEFAULT_POLICY = EscalationPolicy(
    tiers=(
        Tier(after=timedelta(minutes=5), action=TierAction.CHAT_CARD),
        Tier(after=timedelta(minutes=15), action=TierAction.EMAIL),
        Tier(after=timedelta(minutes=30), action=TierAction.COACHING),
    )
)


#: ``close_reason`` of incidents excused by "Mark as outage" (the storm card's button).
OUTAGE_REASON = "outage"


class IncidentStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    EXCUSED = "excused"
    RESOLVED = "resolved"


class ReplyKind(StrEnum):
    ON_MY_WAY = "on_my_way"
    ON_A_CALL = "on_a_call"
    EXPLANATION = "explanation"


class AgentReply(_Frozen):
    """What the agent answered to the nudge; ``seq`` counts their answers (buttons carry the one shown)."""

    kind: ReplyKind
    at: datetime
    seq: int
    by: str | None = None
    reason_code: str | None = None  # explanations only
    note: str = ""

    @property
    def reason(self) -> str:
        """``code`` or ``code: note``, as approved exceptions store it."""
        code = self.reason_code or "other"
        return f"{code}: {self.note}" if self.note else code


class Snooze(_Frozen):
    """A supervisor's pause of escalation; ``seq`` counts snoozes and unsnoozes (the card carries it)."""

    until: datetime
    by: str
    at: datetime
    seq: int
    lifted_by: str | None = None
    lifted_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.lifted_at is None and now < self.until


class FiredTier(_Frozen):
    index: int
    action: TierAction
    at: datetime
    by: str | None = None  # None: fired by the clock; else the user who pressed Escalate


class Incident(_Frozen):
    id: str
    mu_id: str
    agent_id: str
    team_id: str
    started_at: datetime
    policy: EscalationPolicy
    status: IncidentStatus = IncidentStatus.OPEN
    fired: tuple[FiredTier, ...] = ()
    # What the agent was scheduled for and doing when last seen out of adherence.
    category: str | None = None
    presence: str | None = None
    routing: str | None = None
    last_out_at: datetime | None = None
    back_in_since: datetime | None = None
    acked_by: str | None = None
    acked_at: datetime | None = None
    hold_until: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    close_reason: str | None = None
    storm_id: str | None = None  # set when the incident is part of a grouped outage
    agent_reply: AgentReply | None = None
    snooze: Snooze | None = None
    acks: int = 0  # acknowledgements so far (Unacknowledge makes a second one possible)
    unacked_by: str | None = None
    unacked_at: datetime | None = None

    @property
    def is_closed(self) -> bool:
        return self.status in (IncidentStatus.EXCUSED, IncidentStatus.RESOLVED)

    @property
    def next_tier(self) -> Tier | None:
        tiers = self.policy.tiers
        return tiers[len(self.fired)] if len(self.fired) < len(tiers) else None

    def minutes_out(self, now: datetime) -> float:
        end = self.back_in_since or self.closed_at or now
        return max(0.0, (end - self.started_at).total_seconds() / 60)

    def held(self, now: datetime) -> bool:
        """Escalation waits: acknowledged (until ``ack_timeout``) or snoozed."""
        return (self.hold_until is not None and now < self.hold_until) or self.snoozed(now)

    def snoozed(self, now: datetime) -> bool:
        return self.snooze is not None and self.snooze.active(now)

    @property
    def reply_seq(self) -> int:
        return self.agent_reply.seq if self.agent_reply else 0

    @property
    def snooze_seq(self) -> int:
        return self.snooze.seq if self.snooze else 0


class EventKind(StrEnum):
    OPENED = "opened"
    TIER_FIRED = "tier_fired"
    ACKNOWLEDGED = "acknowledged"
    EXCUSED = "excused"
    RESOLVED = "resolved"
    POSITIVE_DEVIATION = "positive_deviation"
    AGENT_REPLIED = "agent_replied"
    SNOOZED = "snoozed"
    UNSNOOZED = "unsnoozed"
    UNACKNOWLEDGED = "unacknowledged"


#: Kinds that may happen more than once to one incident (their delivery key carries the time).
REPEATABLE_KINDS = frozenset({EventKind.ACKNOWLEDGED, EventKind.UNACKNOWLEDGED, EventKind.SNOOZED,
                              EventKind.UNSNOOZED, EventKind.AGENT_REPLIED})


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    kind: EventKind
    incident: Incident
    at: datetime
    actor: str | None = None
    tier: FiredTier | None = None
    note: str = ""
    write_back: ExceptionWindow | None = None  # an approved exception the outbox writes back to the WFM


class EscalationError(Exception):
    """A refused transition; ``code`` is stable and user-facing text is the message."""

    code = "escalation_error"


@dataclass(frozen=True, slots=True)
class Done:
    """What already happened to an incident, and who did it when (for "already ..." answers)."""

    what: str  # "acknowledged", "escalated", "excused", "resolved", "marked as outage"
    by: str | None  # None: the schedule (a tier) or the agent coming back (resolved)
    at: datetime | None
    tier: TierAction | None = None  # the tier, for "escalated"
    until: datetime | None = None  # for "snoozed": until when

    def sentence(self) -> str:
        """Plain text, times in UTC (Slack answers format the time themselves from the fields)."""
        tier = f" to {self.tier.value.replace('_', ' ')}" if self.tier else ""
        who = f" by {self.by}" if self.by else ""
        when = f" until {self.until:%H:%M} UTC" if self.until else (f" at {self.at:%H:%M} UTC" if self.at else "")
        return f"already {self.what}{tier}{who}{when}"


class AlreadyDone(EscalationError):
    """The click asked for something that already happened: nothing changes, ``done`` says what."""

    code = "already_done"

    def __init__(self, done: Done | None, message: str | None = None) -> None:
        super().__init__(message or (done.sentence() if done else "this was already done"))
        self.done = done


class AlreadyAcknowledged(AlreadyDone):
    code = "already_acknowledged"


class AlreadyEscalated(AlreadyDone):
    """The tier after the one the card showed has fired already (a replay, double click or stale card)."""

    code = "already_escalated"


class IncidentClosed(AlreadyDone):
    code = "incident_closed"


class NothingToEscalate(AlreadyDone):
    code = "nothing_to_escalate"


class CardMismatch(EscalationError):
    """A button claims a state the incident never had (tampered, or from another incident)."""

    code = "card_mismatch"


def closed_done(incident: Incident) -> Done:
    """How a closed incident ended, for the answer to a click that came too late."""
    what = "marked as outage" if incident.close_reason == OUTAGE_REASON else incident.status.value
    return Done(what, incident.closed_by, incident.closed_at)


def fired_done(tier: FiredTier) -> Done:
    return Done("escalated", tier.by, tier.at, tier.action)


def _refuse_closed(incident: Incident) -> None:
    if incident.is_closed:
        raise IncidentClosed(closed_done(incident))


def open_incident(evaluation: Evaluation, mu_id: str, team_id: str, policy: EscalationPolicy,
                  now: datetime) -> Incident:
    started = evaluation.since
    return Incident(
        id=f"{mu_id}.{evaluation.agent_id}.{int(started.timestamp())}",
        mu_id=mu_id,
        agent_id=evaluation.agent_id,
        team_id=team_id,
        started_at=started,
        policy=policy,
        category=evaluation.category,
        presence=evaluation.presence,
        routing=evaluation.routing,
        last_out_at=now,
    )


def fire_due_tiers(incident: Incident, now: datetime) -> tuple[Incident, list[IncidentEvent]]:
    """Fire, in order, every tier whose threshold has passed, unless an acknowledgement holds it."""
    events: list[IncidentEvent] = []
    if incident.is_closed or incident.held(now):
        return incident, events
    tier = incident.next_tier
    while tier is not None and now >= incident.started_at + tier.after:
        fired = FiredTier(index=len(incident.fired), action=tier.action, at=now)
        incident = incident.model_copy(update={"fired": (*incident.fired, fired)})
        events.append(IncidentEvent(EventKind.TIER_FIRED, incident, now, tier=fired))
        tier = incident.next_tier
    return incident, events


def acknowledge(incident: Incident, by: str, now: datetime, *,
                shown_acks: int | None = None) -> tuple[Incident, IncidentEvent]:
    """``shown_acks``: acknowledgements the card showed; a replay from before an Unacknowledge is a no-op."""
    _refuse_closed(incident)
    if incident.acked_by is not None:
        raise AlreadyAcknowledged(Done("acknowledged", incident.acked_by, incident.acked_at))
    if shown_acks is not None and shown_acks < incident.acks:
        raise AlreadyDone(Done("unacknowledged", incident.unacked_by, incident.unacked_at))
    incident = incident.model_copy(update={
        "status": IncidentStatus.ACKNOWLEDGED, "acked_by": by, "acked_at": now,
        "hold_until": now + incident.policy.ack_timeout, "acks": incident.acks + 1,
    })
    return incident, IncidentEvent(EventKind.ACKNOWLEDGED, incident, now, actor=by)


def unacknowledge(incident: Incident, by: str, now: datetime, *,
                  shown_acks: int | None = None) -> tuple[Incident, IncidentEvent]:
    """Give the incident back to escalation: the ack hold ends now, and a tier whose time (counted from
    the incident's start, as the policy says) has passed fires at the next tick."""
    _refuse_closed(incident)
    if incident.acked_by is None:
        if incident.unacked_at is not None:
            raise AlreadyDone(Done("unacknowledged", incident.unacked_by, incident.unacked_at))
        raise AlreadyDone(None, "this alert is not acknowledged")
    if shown_acks is not None and shown_acks != incident.acks:  # acknowledged again since the card was drawn
        raise AlreadyAcknowledged(Done("acknowledged", incident.acked_by, incident.acked_at))
    incident = incident.model_copy(update={
        "status": IncidentStatus.OPEN, "acked_by": None, "acked_at": None, "hold_until": None,
        "unacked_by": by, "unacked_at": now,
    })
    return incident, IncidentEvent(EventKind.UNACKNOWLEDGED, incident, now, actor=by)


def _snooze_state(incident: Incident, now: datetime) -> Done:
    snooze = incident.snooze
    if snooze is None:
        return Done("unsnoozed", None, None)
    if snooze.lifted_at is not None:
        return Done("unsnoozed", snooze.lifted_by, snooze.lifted_at)
    if snooze.active(now):
        return Done("snoozed", snooze.by, snooze.at, until=snooze.until)
    return Done("out of the snooze: it ended", None, snooze.until)


def snooze(incident: Incident, by: str, until: datetime, now: datetime, *,
           shown: int | None) -> tuple[Incident, IncidentEvent]:
    """Hold every tier until ``until``. ``shown`` is the snooze state the card showed (``snooze_seq``):
    once someone snoozed or unsnoozed since, a replay or a stale card changes nothing."""
    _refuse_closed(incident)
    if until <= now:
        raise ValueError("a snooze must end in the future")
    if (shown is not None and shown != incident.snooze_seq) or incident.snoozed(now):
        raise AlreadyDone(_snooze_state(incident, now))
    new = Snooze(until=until, by=by, at=now, seq=incident.snooze_seq + 1)
    incident = incident.model_copy(update={"snooze": new})
    return incident, IncidentEvent(EventKind.SNOOZED, incident, now, actor=by)


def unsnooze(incident: Incident, by: str, now: datetime, *, shown: int | None) -> tuple[Incident, IncidentEvent]:
    """Lift the snooze now: tiers that came due meanwhile fire at the next tick."""
    _refuse_closed(incident)
    current = incident.snooze
    if current is None or not current.active(now) or (shown is not None and shown != current.seq):
        raise AlreadyDone(_snooze_state(incident, now))
    lifted = current.model_copy(update={"lifted_by": by, "lifted_at": now, "seq": current.seq + 1})
    incident = incident.model_copy(update={"snooze": lifted})
    return incident, IncidentEvent(EventKind.UNSNOOZED, incident, now, actor=by)


def reply_label(kind: ReplyKind) -> str:
    return {ReplyKind.ON_MY_WAY: "on my way", ReplyKind.ON_A_CALL: "I'm on a call",
            ReplyKind.EXPLANATION: "explained"}[kind]


def agent_replies(incident: Incident, kind: ReplyKind, by: str, now: datetime, *, shown: int | None,
                  reason_code: str | None = None, note: str = "") -> tuple[Incident, IncidentEvent]:
    """The agent's answer to the nudge. ``shown``: answers their message showed (a replay changes nothing)."""
    _refuse_closed(incident)
    reply = incident.agent_reply
    if shown is not None and reply is not None and shown < reply.seq:
        raise AlreadyDone(Done(f"answered “{reply_label(reply.kind)}”", None, reply.at))
    if shown is not None and shown > incident.reply_seq:
        raise CardMismatch("this button does not match the alert; use the latest message")
    if kind is ReplyKind.EXPLANATION and not reason_code:
        raise ValueError("an explanation needs a reason")
    new = AgentReply(kind=kind, at=now, seq=incident.reply_seq + 1, by=by,
                     reason_code=reason_code if kind is ReplyKind.EXPLANATION else None,
                     note=note if kind is ReplyKind.EXPLANATION else "")
    incident = incident.model_copy(update={"agent_reply": new})
    return incident, IncidentEvent(EventKind.AGENT_REPLIED, incident, now, actor=by, note=kind.value)


def escalate_now(incident: Incident, by: str, now: datetime, *,
                 shown: int | None = None) -> tuple[Incident, IncidentEvent]:
    """Fire the tier after the ones the card showed (``shown`` tiers fired) and lift any hold.

    ``shown`` makes a click idempotent: a replayed payload, a double click or a click on a stale
    card finds more tiers fired than it showed and changes nothing (:class:`AlreadyEscalated`
    names the tier, who fired it and when). ``None`` means "the current state" (callers that
    cannot say what was shown must not pass it for a user's click).
    """
    _refuse_closed(incident)
    fired_count = len(incident.fired)
    expected = fired_count if shown is None else shown
    if expected < 0 or expected > fired_count:
        raise CardMismatch("this button does not match the alert; use the latest card")
    if expected < fired_count:
        raise AlreadyEscalated(fired_done(incident.fired[expected]))
    tier = incident.next_tier
    if tier is None:
        last = incident.fired[-1] if incident.fired else None
        raise NothingToEscalate(fired_done(last) if last else None, "every tier has already fired")
    fired = FiredTier(index=fired_count, action=tier.action, at=now, by=by)
    lifted = incident.snooze
    if lifted is not None and lifted.active(now):  # escalating by hand ends a snooze too
        lifted = lifted.model_copy(update={"lifted_by": by, "lifted_at": now, "seq": lifted.seq + 1})
    incident = incident.model_copy(update={"fired": (*incident.fired, fired), "hold_until": None,
                                           "snooze": lifted})
    return incident, IncidentEvent(EventKind.TIER_FIRED, incident, now, actor=by, tier=fired)


def close(incident: Incident, status: IncidentStatus, now: datetime, *, by: str | None = None,
          reason: str = "") -> tuple[Incident, IncidentEvent]:
    _refuse_closed(incident)
    kind = EventKind.EXCUSED if status is IncidentStatus.EXCUSED else EventKind.RESOLVED
    incident = incident.model_copy(update={
        "status": status, "closed_at": now, "closed_by": by, "close_reason": reason or None, "hold_until": None,
    })
    return incident, IncidentEvent(kind, incident, now, actor=by, note=reason)


class AgentTrack(_Frozen):
    """What the monitor remembers about one agent between ticks (stored only when non-empty)."""

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
    _refuse_closed(incident)
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
    agent_id = evaluation.agent_id
    if track is None and not evaluation.escalates and not evaluation.positive_deviation:
        return None, []  # the common case, kept cheap: an adherent agent with nothing remembered
    current = track or AgentTrack(agent_id=agent_id)
    incident, positive_since, exception = current.incident, current.positive_since, current.exception
    events: list[IncidentEvent] = []

    excused_until = None
    if exception is not None and now >= exception.end:
        excused_until, exception = exception.end, None

    if evaluation.escalates and exception is None:
        if incident is None:
            incident = open_incident(evaluation, mu_id, team_id, policy, now)
            if excused_until is not None and incident.started_at < excused_until:
                # Still out when the approved exception ran out: the clock starts where it ended.
                incident = open_incident(replace(evaluation, since=excused_until), mu_id, team_id, policy, now)
            events.append(IncidentEvent(EventKind.OPENED, incident, now))
        elif (incident.back_in_since is not None or incident.presence != evaluation.presence
              or incident.routing != evaluation.routing or incident.category != evaluation.category):
            # Back out before clear_after ran out: the same violation goes on, its clock untouched.
            incident = incident.model_copy(update={
                "back_in_since": None, "last_out_at": now, "category": evaluation.category,
                "presence": evaluation.presence, "routing": evaluation.routing,
            })
        incident, fired = fire_due_tiers(incident, now)
        events.extend(fired)
    elif incident is not None and evaluation.status is not Status.UNKNOWN:
        # Unknown state freezes an incident: neither escalate nor clear on data we do not have.
        if evaluation.reason is Reason.EXCEPTION:
            incident, event = close(incident, IncidentStatus.EXCUSED, now, by="wfm",
                                    reason="approved adherence exception")
            events.append(event)
            incident = None
        else:
            back = incident.back_in_since or max(evaluation.since, incident.last_out_at or incident.started_at)
            incident = incident.model_copy(update={"back_in_since": back})
            if now - back >= incident.policy.clear_after:
                incident, event = close(incident, IncidentStatus.RESOLVED, now, reason="back in adherence")
                events.append(event)
                incident = None

    if evaluation.positive_deviation:
        positive_since = positive_since or evaluation.since
    elif positive_since is not None and not _still_positive(evaluation):
        note = f"{positive_since.isoformat()}/{now.isoformat()}"
        if incident is not None:
            events.append(IncidentEvent(EventKind.POSITIVE_DEVIATION, incident, now, note=note))
        else:
            events.append(_deviation_event(agent_id, mu_id, team_id, positive_since, now, policy, note))
        positive_since = None

    if (incident is current.incident and exception is current.exception
            and positive_since == current.positive_since):
        return track, events  # nothing moved: skip building and comparing a model (the common push case)
    new = AgentTrack(agent_id=agent_id, version=current.version, incident=incident,
                     positive_since=positive_since, exception=exception)
    if new == current:
        return track, events
    return (None if new.empty else new), events


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
