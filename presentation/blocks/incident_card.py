"""The incident card: one message per incident, re-rendered from the incident at every transition.

The card shows the facts a supervisor needs to decide (who, scheduled vs actual, since when, how
long, impact, which tier) and, while the incident is open, the actions. Once closed the buttons are
gone and the card says how it ended. Thread history lines never mention anyone.
"""

from __future__ import annotations

from collections.abc import Sequence

from presentation.blocks.format import Block, escape, mrkdwn, plain, slack_time, state_lost_block, truncate
from presentation.cards import RenderedMessage
from presentation.payloads import (
    ACKNOWLEDGE,
    APPROVE_EXCEPTION,
    APPROVE_EXPLANATION,
    ESCALATE,
    SNOOZE,
    SNOOZE_BLOCK,
    UNACKNOWLEDGE,
    UNSNOOZE,
    IncidentRef,
)
from presentation.wording import (
    OUTAGE_REASON,
    actor_label,
    actual_label,
    agent_says,
    category_label,
    clock_time,
    done_tiers,
    headline,
    impact_text,
    minutes,
    reason_label,
    snooze_sentence,
    status_sentence,
    tier_label,
    tier_sentence,
)
from services.domain.escalation import EventKind, Incident, IncidentEvent, ReplyKind, TierAction
from services.ports import IncidentView


def incident_ref(incident: Incident) -> IncidentRef:
    """The value of the card's buttons: the incident and how many tiers the card shows fired."""
    return IncidentRef(mu_id=incident.mu_id, agent_id=incident.agent_id, incident_id=incident.id,
                       shown=len(incident.fired), acks=incident.acks, snooze=incident.snooze_seq,
                       reply=incident.reply_seq)


#: The snooze menu's choices: option value -> label ("shift": until the agent's shift ends).
SNOOZE_CHOICES = (("15", "15 min"), ("60", "1 h"), ("240", "4 h"), ("shift", "Until shift end"))
BLOCK_ID_MAX = 255


def _snooze_block(view: IncidentView) -> Block | None:
    """The Snooze menu, in a block of its own whose id carries the card's state (option values are short)."""
    incident = view.incident
    if incident.snoozed(view.now):
        return None
    block_id = SNOOZE_BLOCK + incident_ref(incident).dump()
    if len(block_id) > BLOCK_ID_MAX:  # ids this long do not occur with Genesys UUIDs; stay valid if they do
        return None
    options = [{"text": plain(label), "value": value} for value, label in SNOOZE_CHOICES]
    return {"type": "actions", "block_id": block_id, "elements": [{
        "type": "static_select", "action_id": SNOOZE, "placeholder": plain("Snooze…"), "options": options}]}


def _buttons(view: IncidentView) -> list[Block]:
    incident = view.incident
    value = incident_ref(incident).dump()
    buttons: list[Block] = []
    if incident.acked_by is None:  # once acknowledged, a second Acknowledge would only confuse
        buttons.append({"type": "button", "action_id": ACKNOWLEDGE, "style": "primary",
                        "text": plain("Acknowledge"), "value": value})
    else:
        buttons.append({"type": "button", "action_id": UNACKNOWLEDGE, "text": plain("Unacknowledge"),
                        "value": value})
    reply = incident.agent_reply
    if reply is not None and reply.kind is ReplyKind.EXPLANATION:
        buttons.append({"type": "button", "action_id": APPROVE_EXPLANATION, "style": "primary",
                        "text": plain("Approve explanation"), "value": value})
    buttons.append({"type": "button", "action_id": APPROVE_EXCEPTION, "text": plain("Approve exception"),
                    "value": value})
    if incident.snoozed(view.now):
        buttons.append({"type": "button", "action_id": UNSNOOZE, "text": plain("Unsnooze"), "value": value})
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
    status = status_sentence(view, slack_time, escape)
    snoozed = snooze_sentence(incident, view.now, slack_time, escape)
    if snoozed:
        status += f"\n💤 {snoozed}"
    blocks.append({"type": "section", "block_id": f"status.{version}",
                   "text": mrkdwn(truncate(status, 3000))})
    says = agent_says(incident, slack_time, escape)
    if says:
        blocks.append({"type": "section", "block_id": f"agent.{version}", "text": mrkdwn(truncate(f"🗣️ {says}", 3000))})
    if not incident.is_closed:
        blocks.append({"type": "actions", "block_id": f"actions.{version}", "elements": _buttons(view)})
        snooze_menu = _snooze_block(view)
        if snooze_menu is not None:
            blocks.append(snooze_menu)
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
        if event.tier.action is TierAction.AGENT_NUDGE:
            return f"{at} {escape(view.agent_name)} was messaged directly."
        return None
    if event.kind is EventKind.POSITIVE_DEVIATION:
        return f"{at} Positive deviation recorded."
    return _new_history_line(view, event, at, who)


def _new_history_line(view: IncidentView, event: IncidentEvent, at: str, who: str) -> str | None:
    """Lines for the agent's answer, snoozes and unacknowledgements."""
    incident = event.incident
    if event.kind is EventKind.AGENT_REPLIED:
        says = agent_says(incident, slack_time, escape)
        return f"{at} {says.rsplit(', ', 1)[0]}." if says else None
    if event.kind is EventKind.SNOOZED and incident.snooze is not None:
        return f"{at} Snoozed by {who} until {slack_time(incident.snooze.until)}."
    if event.kind is EventKind.UNSNOOZED:
        return f"{at} Unsnoozed by {who}: escalation resumes."
    if event.kind is EventKind.UNACKNOWLEDGED:
        return f"{at} Unacknowledged by {who}: escalation resumes."
    return None
