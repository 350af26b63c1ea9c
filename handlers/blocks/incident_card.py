"""The incident card: one message per incident, re-rendered from the incident at every transition.

The card shows the facts a supervisor needs to decide (who, scheduled vs actual, since when, how
long, impact, which tier) and, while the incident is open, the actions. Once closed the buttons are
gone and the card says how it ended. Thread history lines never mention anyone.
"""

from __future__ import annotations

from collections.abc import Sequence

from handlers.blocks.format import Block, escape, mrkdwn, plain, slack_time, state_lost_block, truncate
from handlers.payloads import ACKNOWLEDGE, APPROVE_EXCEPTION, ESCALATE, IncidentRef
from services.adapters.slack.cards import RenderedMessage
from services.adapters.slack.wording import (
    OUTAGE_REASON,
    actor_label,
    actual_label,
    category_label,
    clock_time,
    done_tiers,
    headline,
    impact_text,
    minutes,
    reason_label,
    status_sentence,
    tier_label,
    tier_sentence,
)
from services.domain.escalation import EventKind, Incident, IncidentEvent, TierAction
from services.ports import IncidentView


def incident_ref(incident: Incident) -> IncidentRef:
    """The value of the card's buttons: the incident and how many tiers the card shows fired."""
    return IncidentRef(mu_id=incident.mu_id, agent_id=incident.agent_id, incident_id=incident.id,
                       shown=len(incident.fired))


def _buttons(view: IncidentView) -> list[Block]:
    incident = view.incident
    value = incident_ref(incident).dump()
    buttons: list[Block] = []
    if incident.acked_by is None:  # once acknowledged, a second Acknowledge would only confuse
        buttons.append({"type": "button", "action_id": ACKNOWLEDGE, "style": "primary",
                        "text": plain("Acknowledge"), "value": value})
    buttons.append({"type": "button", "action_id": APPROVE_EXCEPTION, "text": plain("Approve exception"),
                    "value": value})
    tier = incident.next_tier
    if tier is not None:
        buttons.append({
            "type": "button", "action_id": ESCALATE, "style": "danger", "text": plain("Escalate now"),
            "value": value,
            "confirm": {
                "title": plain("Escalate now?"),
                "text": mrkdwn(truncate(f"This fires the next tier at once: {tier_label(tier.action)} "
                                        f"for {escape(view.agent_name)}.", 300)),
                "confirm": plain("Escalate"),
                "deny": plain("Cancel"),
                "style": "danger",
            },
        })
    return buttons


def incident_card(view: IncidentView, *, mentions: Sequence[str] = ()) -> RenderedMessage:
    """The card for the incident as it stands in ``view`` (closed incidents get no buttons)."""
    incident = view.incident
    version = f"{len(incident.fired)}.{incident.status.value}"  # new block ids at every transition
    where = escape(" · ".join(p for p in (view.team_name, view.mu_name) if p))
    fields = [
        mrkdwn(f"*Agent*\n{escape(view.agent_name)}" + (f"\n{where}" if where else "")),
        mrkdwn(f"*Scheduled*\n{category_label(incident.category)}"),
        mrkdwn(f"*Actual*\n{actual_label(incident.presence, incident.routing)}"),
        mrkdwn(f"*Since*\n{slack_time(incident.started_at)}"),
        mrkdwn(f"*Minutes out*\n{minutes(incident.minutes_out(view.now))}"),
        mrkdwn(f"*Impact*\n{impact_text(incident)}"),
        mrkdwn(f"*Tier*\n{truncate(tier_sentence(view, slack_time, escape), 1900)}"),
    ]
    blocks: list[Block] = [{"type": "header", "block_id": f"head.{version}",
                            "text": plain(truncate(headline(view), 150))}]
    if mentions:
        blocks.append({"type": "context", "block_id": f"for.{version}",
                       "elements": [mrkdwn("For " + " ".join(f"<@{m}>" for m in mentions[:20]))]})
    if view.state_lost_at is not None:
        blocks.append(state_lost_block(view.state_lost_at, version))
    blocks.append({"type": "section", "block_id": f"facts.{version}", "fields": fields})
    blocks.append({"type": "section", "block_id": f"status.{version}",
                   "text": mrkdwn(truncate(status_sentence(view, slack_time, escape), 3000))})
    if not incident.is_closed:
        blocks.append({"type": "actions", "block_id": f"actions.{version}", "elements": _buttons(view)})
    context = [f"Incident `{escape(incident.id)}`"]
    done = done_tiers(incident, slack_time)
    if done:
        context.append(done)
    context.append(f"updated {slack_time(view.now)}")
    blocks.append({"type": "context", "block_id": f"meta.{version}",
                   "elements": [mrkdwn(truncate(" · ".join(context), 3000))]})
    return RenderedMessage(text=fallback_text(view), blocks=blocks)


def fallback_text(view: IncidentView) -> str:
    """Notification / screen-reader text: plain facts, no date tokens."""
    incident = view.incident
    head = headline(view).split(" ", 1)[1]
    return truncate(
        f"{head} · scheduled {category_label(incident.category)}, actually "
        f"{actual_label(incident.presence, incident.routing)} since {clock_time(incident.started_at)} "
        f"({minutes(incident.minutes_out(view.now))})",
        3000,
    )


def history_line(view: IncidentView, event: IncidentEvent) -> str | None:
    """The thread line for one transition; None for events the thread does not need."""
    incident = event.incident
    at = slack_time(event.at)
    who = actor_label(event.actor, escape)
    if event.kind is EventKind.ACKNOWLEDGED:
        until = f"; escalation paused until {slack_time(incident.hold_until)}" if incident.hold_until else ""
        return f"{at} Acknowledged by {who}{until}."
    if event.kind is EventKind.EXCUSED:
        if event.note == OUTAGE_REASON:
            return f"{at} Marked as outage by {who}."
        reason = f" Reason: {escape(reason_label(event.note))}." if event.note else ""
        return f"{at} Exception approved by {who}.{reason}"
    if event.kind is EventKind.RESOLVED:
        return f"{at} Resolved: back in adherence after {minutes(incident.minutes_out(event.at))}."
    if event.kind is EventKind.TIER_FIRED and event.tier is not None:
        by = f" (escalated now by {who})" if event.actor else ""
        if event.tier.action is TierAction.EMAIL:
            names = ", ".join(escape(p.name) for p in view.ops_managers) or "the ops manager"
            return f"{at} Email sent to {names}{by}."
        if event.tier.action is TierAction.COACHING:
            return f"{at} Coaching session booked for {escape(view.agent_name)}{by}."
        return None
    if event.kind is EventKind.POSITIVE_DEVIATION:
        return f"{at} Positive deviation recorded."
    return None
