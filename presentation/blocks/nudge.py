"""The agent-first nudge: a direct message to the agent about their own incident, and the explain modal.

It says only what concerns the agent (their schedule and their state, never anyone else's), offers
three answers, and is updated in place: the answer they gave, then how the incident ended.
"""

from __future__ import annotations

from collections.abc import Sequence

from presentation.blocks.format import Block, escape, mrkdwn, plain, slack_time, truncate
from presentation.cards import RenderedMessage
from presentation.payloads import (
    AGENT_EXPLAIN,
    AGENT_ON_A_CALL,
    AGENT_ON_MY_WAY,
    EXPLAIN_MODAL,
    AgentRef,
    ExplainModalMeta,
)
from presentation.wording import (
    OUTAGE_REASON,
    actor_label,
    actual_label,
    agent_says,
    category_label,
    clock_time,
    reason_text,
)
from services.domain.escalation import IncidentStatus
from services.ports import IncidentView

REASON_BLOCK, NOTE_BLOCK, FIELD = "reason", "note", "value"
NOTE_MAX = 500


def agent_ref(view: IncidentView) -> AgentRef:
    incident = view.incident
    return AgentRef(mu_id=incident.mu_id, agent_id=incident.agent_id, incident_id=incident.id,
                    reply=incident.reply_seq)


def _ending(view: IncidentView) -> str:
    incident = view.incident
    if incident.status is IncidentStatus.RESOLVED:
        return "✅ You are back in adherence. Thank you!"
    if incident.close_reason == OUTAGE_REASON:
        return "☑️ This was marked as an outage: nothing more is needed from you."
    return f"☑️ Excused by {actor_label(incident.closed_by, escape)}: nothing more is needed from you."


def agent_nudge(view: IncidentView) -> RenderedMessage:
    """The DM: what the schedule says, what the agent's state is, and the three answers."""
    incident = view.incident
    version = f"{incident.reply_seq}.{incident.status.value}"
    scheduled = category_label(incident.category)
    actual = actual_label(incident.presence, incident.routing)
    text = (f"Your schedule says *{escape(scheduled)}* now, and your status has been *{escape(actual)}* "
            f"since {slack_time(incident.started_at)}. If something is keeping you, tell your supervisor here; "
            "they see your answer on the alert.")
    blocks: list[Block] = [
        {"type": "header", "block_id": f"head.{version}", "text": plain("Schedule check")},
        {"type": "section", "block_id": f"facts.{version}", "text": mrkdwn(truncate(text, 3000))},
    ]
    says = agent_says(incident, slack_time, escape)
    if says:
        blocks.append({"type": "context", "block_id": f"said.{version}",
                       "elements": [mrkdwn(truncate("You said: " + says.removeprefix("Agent says: "), 3000))]})
    if incident.is_closed:
        blocks.append({"type": "section", "block_id": f"end.{version}", "text": mrkdwn(_ending(view))})
    else:
        value = agent_ref(view).dump()
        blocks.append({"type": "actions", "block_id": f"answer.{version}", "elements": [
            {"type": "button", "action_id": AGENT_ON_MY_WAY, "style": "primary", "text": plain("On my way"),
             "value": value},
            {"type": "button", "action_id": AGENT_ON_A_CALL, "text": plain("I'm on a call"), "value": value},
            {"type": "button", "action_id": AGENT_EXPLAIN, "text": plain("Explain…"), "value": value},
        ]})
    fallback = f"Schedule check: scheduled {scheduled}, your status is {actual} since {clock_time(incident.started_at)}"
    return RenderedMessage(text=truncate(fallback, 3000), blocks=blocks)


def explain_modal(meta: ExplainModalMeta, reasons: Sequence[str]) -> Block:
    """The agent's explanation: a reason code from the unit's list and a note."""
    options = [{"text": plain(truncate(reason_text(code), 75)), "value": code} for code in reasons[:100]]
    return {
        "type": "modal",
        "callback_id": EXPLAIN_MODAL,
        "private_metadata": meta.dump(),
        "title": plain("Explain"),
        "submit": plain("Send"),
        "close": plain("Cancel"),
        "blocks": [
            {"type": "section", "block_id": "intro", "text": mrkdwn(
                "Your supervisor sees this on the alert and may approve it; an approved explanation is "
                "recorded in the WFM system for the time you were out.")},
            {"type": "input", "block_id": REASON_BLOCK, "label": plain("Reason"),
             "element": {"type": "static_select", "action_id": FIELD, "placeholder": plain("Choose a reason"),
                         "options": options}},
            {"type": "input", "block_id": NOTE_BLOCK, "optional": True, "label": plain("Note"),
             "element": {"type": "plain_text_input", "action_id": FIELD, "multiline": True,
                         "max_length": NOTE_MAX}},
        ],
    }
