"""How incidents are put into words: labels and sentences shared by the card, the console and email.

Pure functions. Callers pass ``time`` (how to print an instant: a Slack date token, or plain UTC)
and ``esc`` (how to escape free text for their medium: Slack mrkdwn, HTML, or nothing).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from services.domain import escalation
from services.domain.escalation import Incident, IncidentStatus, ReplyKind, TierAction
from services.ports import IncidentView

TimeFormat = Callable[[datetime], str]
Escape = Callable[[str], str]

_CATEGORY_LABELS = {"OnQueueWork": "On-queue work", "OffQueueWork": "Off-queue work", "TimeOff": "Time off"}
_TIER_LABELS = {
    TierAction.AGENT_NUDGE: "message to the agent",
    TierAction.CHAT_CARD: "Slack card to the supervisor",
    TierAction.EMAIL: "email to the ops manager",
    TierAction.COACHING: "coaching session",
}
_TIER_DONE = {
    TierAction.AGENT_NUDGE: "agent messaged",
    TierAction.CHAT_CARD: "card posted",
    TierAction.EMAIL: "email sent to the ops manager",
    TierAction.COACHING: "coaching session booked",
}
OUTAGE_REASON = escalation.OUTAGE_REASON  # close_reason of incidents excused by "Mark as outage"

#: Reason codes offered when approving an exception, stored as ``code`` or ``code: note``.
REASONS: dict[str, str] = {
    "system_issue": "System or phone issue",
    "coaching": "Coaching or 1:1",
    "meeting": "Unplanned meeting",
    "customer_follow_up": "Customer follow-up",
    "personal": "Personal or wellbeing",
    "other": "Other",
    OUTAGE_REASON: "Outage",
}


def _same(text: str) -> str:
    return text


def clock_time(when: datetime) -> str:
    """``14:05 UTC``."""
    return when.astimezone(UTC).strftime("%H:%M UTC")


def category_label(category: str | None) -> str:
    if not category:
        return "nothing scheduled"
    if category in _CATEGORY_LABELS:
        return _CATEGORY_LABELS[category]
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", category).capitalize()


def state_label(value: str | None) -> str:
    """``OFF_QUEUE`` -> ``Off queue``; ``None`` -> ``unknown``."""
    return value.replace("_", " ").lower().capitalize() if value else "unknown"


def actual_label(presence: str | None, routing: str | None) -> str:
    return f"{state_label(presence)} · {state_label(routing)}"


def tier_label(action: TierAction | str) -> str:
    try:
        return _TIER_LABELS[TierAction(action)]
    except ValueError:
        return str(action)


def minutes(value: float) -> str:
    whole = int(value)
    return "1 min" if whole == 1 else f"{whole} min"


def actor_label(actor: str | None, esc: Escape = _same) -> str:
    """Who did something, as stored on the incident; never a mention."""
    if not actor:
        return "someone"
    if actor == "wfm":
        return "the WFM system"
    return esc(actor)


def impact_text(incident: Incident) -> str:
    """Incidents open only for negative-impact deviations (positive ones are recorded, never escalated)."""
    return "Negative: service lost capacity" if incident.is_closed else "Negative: service is losing capacity"


def reason_label(reason: str) -> str:
    """``system_issue: VPN down`` -> ``System or phone issue (VPN down)``; unknown codes stay as written."""
    code, _, note = reason.partition(": ")
    label = REASONS.get(code)
    if label is None:
        return reason
    return f"{label} ({note})" if note else label


def reason_text(code: str) -> str:
    """The label of a reason code (unknown codes, e.g. a unit's own, read as written)."""
    return REASONS.get(code, code.replace("_", " ").capitalize())


def agent_says(incident: Incident, time: TimeFormat = clock_time, esc: Escape = _same) -> str | None:
    """``Agent says: on my way, 10:03``, or None before the agent answered the nudge."""
    reply = incident.agent_reply
    if reply is None:
        return None
    if reply.kind is ReplyKind.EXPLANATION:
        note = f" ({esc(reply.note)})" if reply.note else ""
        what = f"explanation: {esc(reason_text(reply.reason_code or 'other'))}{note}"
    else:
        what = "on my way" if reply.kind is ReplyKind.ON_MY_WAY else "I'm on a call"
    return f"Agent says: {what}, {time(reply.at)}"


def snooze_sentence(incident: Incident, now: datetime, time: TimeFormat = clock_time,
                    esc: Escape = _same) -> str | None:
    """``Snoozed by Sam until 11:05: nothing escalates until then.`` while a snooze holds."""
    snooze = incident.snooze
    if snooze is None or incident.is_closed or not snooze.active(now):
        return None
    return f"Snoozed by {actor_label(snooze.by, esc)} until {time(snooze.until)}: nothing escalates until then."


def headline(view: IncidentView) -> str:
    status, name = view.incident.status, view.agent_name
    if status is IncidentStatus.RESOLVED:
        return f"✅ Back in adherence: {name}"
    if status is IncidentStatus.EXCUSED:
        if view.incident.close_reason == OUTAGE_REASON:
            return f"☑️ Marked as outage: {name}"
        return f"☑️ Exception approved: {name}"
    if status is IncidentStatus.ACKNOWLEDGED:
        return f"👀 Out of adherence (acknowledged): {name}"
    return f"⚠️ Out of adherence: {name}"


def status_sentence(view: IncidentView, time: TimeFormat = clock_time, esc: Escape = _same) -> str:
    """How things stand, in one or two sentences."""
    incident = view.incident
    if incident.status is IncidentStatus.RESOLVED:
        return f"Resolved: back in adherence after {minutes(incident.minutes_out(view.now))}."
    if incident.status is IncidentStatus.EXCUSED:
        when = f" at {time(incident.closed_at)}" if incident.closed_at else ""
        if incident.close_reason == OUTAGE_REASON:
            return f"Marked as outage by {actor_label(incident.closed_by, esc)}{when}: the window is neutral."
        reason = f" Reason: {esc(reason_label(incident.close_reason))}." if incident.close_reason else ""
        return f"Exception approved by {actor_label(incident.closed_by, esc)}{when}.{reason}"
    if incident.acked_at is not None:
        text = f"Acknowledged by {actor_label(incident.acked_by, esc)} at {time(incident.acked_at)}."
        if incident.held(view.now) and incident.hold_until is not None:
            text += f" Escalation paused until {time(incident.hold_until)}."
        elif incident.next_tier is not None:
            text += " The pause is over: escalation has resumed."
        return text
    if incident.unacked_at is not None:
        return (f"Open: unacknowledged by {actor_label(incident.unacked_by, esc)} at {time(incident.unacked_at)}, "
                "so escalation goes on as the policy says.")
    return "Open: not acknowledged yet."


def tier_sentence(view: IncidentView, time: TimeFormat = clock_time, esc: Escape = _same) -> str:
    """Which tier the incident is at, and what comes next and when."""
    incident = view.incident
    total = len(incident.policy.tiers)
    parts = [f"{len(incident.fired)} of {total}"]
    if incident.fired:
        last = incident.fired[-1]
        by = f" (escalated by {actor_label(last.by, esc)})" if last.by else ""
        parts[0] += f": {tier_label(last.action)}{by}"
    tier = incident.next_tier
    if tier is not None and not incident.is_closed:
        due = incident.started_at + tier.after
        if incident.held(view.now) and incident.hold_until is not None:
            due = max(due, incident.hold_until)
        if incident.snooze is not None and incident.snoozed(view.now):
            due = max(due, incident.snooze.until)
        parts.append(f"next: {tier_label(tier.action)} at {time(due)}")
    return " · ".join(parts)


def done_tiers(incident: Incident, time: TimeFormat = clock_time) -> str | None:
    """``card posted 10:05 · email sent to the ops manager 10:15``, or None before the first tier."""
    items = [f"{_TIER_DONE.get(f.action, f.action.value)} {time(f.at)}" for f in incident.fired]
    return " · ".join(items) if items else None
