"""The incident state machine: open, fire tiers, acknowledge, snooze, reply, escalate by hand, close.

Nothing here does I/O or reads a clock: every function takes ``now`` and returns the new incident
plus the event it caused, or raises a refusal (:mod:`refusals`) and changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from services.domain.adherence import Evaluation
from services.domain.escalation.incident import (
    AgentReply,
    EscalationPolicy,
    EventKind,
    FiredTier,
    Incident,
    IncidentEvent,
    IncidentStatus,
    ReplyKind,
    Snooze,
)
from services.domain.escalation.refusals import (
    AlreadyAcknowledged,
    AlreadyDone,
    AlreadyEscalated,
    CardMismatch,
    Done,
    IncidentClosed,
    NothingToEscalate,
    closed_done,
    fired_done,
)


def refuse_closed(incident: Incident) -> None:
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
    refuse_closed(incident)
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
    refuse_closed(incident)
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
    refuse_closed(incident)
    if until <= now:
        raise ValueError("a snooze must end in the future")
    if (shown is not None and shown != incident.snooze_seq) or incident.snoozed(now):
        raise AlreadyDone(_snooze_state(incident, now))
    new = Snooze(until=until, by=by, at=now, seq=incident.snooze_seq + 1)
    incident = incident.model_copy(update={"snooze": new})
    return incident, IncidentEvent(EventKind.SNOOZED, incident, now, actor=by)


def unsnooze(incident: Incident, by: str, now: datetime, *, shown: int | None) -> tuple[Incident, IncidentEvent]:
    """Lift the snooze now: tiers that came due meanwhile fire at the next tick."""
    refuse_closed(incident)
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
    refuse_closed(incident)
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
    refuse_closed(incident)
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
    refuse_closed(incident)
    kind = EventKind.EXCUSED if status is IncidentStatus.EXCUSED else EventKind.RESOLVED
    incident = incident.model_copy(update={
        "status": status, "closed_at": now, "closed_by": by, "close_reason": reason or None, "hold_until": None,
    })
    return incident, IncidentEvent(kind, incident, now, actor=by, note=reason)
