"""The grouped storm card: many agents of one team out at once get one card, not one per agent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from presentation.blocks.format import (
    Block,
    chunk_lines,
    escape,
    mrkdwn,
    plain,
    slack_time,
    state_lost_block,
    truncate,
)
from presentation.cards import RenderedMessage
from presentation.payloads import MARK_OUTAGE, STORM_ACK_ALL, STORM_ESCALATE_ALL, StormRef
from presentation.wording import (
    OUTAGE_REASON,
    actor_label,
    actual_label,
    category_label,
    clock_time,
    minutes,
)
from services.domain.escalation import IncidentStatus
from services.ports import StormView

MAX_ROWS = 40  # beyond this the card gives a count; /adherence team lists everyone


@dataclass(frozen=True, slots=True)
class Outage:
    by: str | None
    at: datetime | None


def outage_of(view: StormView) -> Outage | None:
    """Who marked the storm as an outage, read from its incidents (excused with the outage reason)."""
    marked = [v.incident for v in view.incidents
              if v.incident.status is IncidentStatus.EXCUSED and v.incident.close_reason == OUTAGE_REASON]
    if not marked:
        return None
    first = min(marked, key=lambda i: i.closed_at or i.started_at)
    return Outage(first.closed_by, first.closed_at)


def started_at(view: StormView) -> datetime:
    return min((v.incident.started_at for v in view.incidents), default=view.now)


def _row(view: StormView, index: int) -> str:
    item = view.incidents[index]
    incident = item.incident
    state = "closed" if incident.is_closed else f"{minutes(incident.minutes_out(view.now))} out"
    if not incident.is_closed and incident.acked_by:
        state += f", acknowledged by {actor_label(incident.acked_by, escape)}"
    return (f"• *{escape(item.agent_name)}*: scheduled {category_label(incident.category)}, "
            f"actually {actual_label(incident.presence, incident.routing)} ({state})")


def shown_tiers(view: StormView) -> int:
    """Tiers fired of the least escalated open member: what Escalate all moves on from."""
    return min((len(v.incident.fired) for v in view.incidents if not v.incident.is_closed), default=0)


def _group_buttons(view: StormView) -> list[Block]:
    """Acknowledge all (while someone is unacknowledged) and Escalate all (while a tier is left)."""
    open_ = [v.incident for v in view.incidents if not v.incident.is_closed]
    ref = StormRef(mu_id=view.mu_id, storm_id=view.storm_id, marked=outage_of(view) is not None,
                   shown=shown_tiers(view)).dump()
    buttons: list[Block] = []
    if any(i.acked_by is None for i in open_):
        buttons.append({"type": "button", "action_id": STORM_ACK_ALL, "text": plain("Acknowledge all"),
                        "value": ref})
    if any(i.next_tier is not None for i in open_):
        buttons.append({"type": "button", "action_id": STORM_ESCALATE_ALL, "style": "danger",
                        "text": plain("Escalate all"), "value": ref, "confirm": {
                            "title": plain("Escalate all?"),
                            "text": mrkdwn(truncate(f"This fires the next tier at once for the {len(open_)} "
                                                    "agents still out (one grouped email).", 300)),
                            "confirm": plain("Escalate"), "deny": plain("Cancel"), "style": "danger"}})
    return buttons


def storm_card(view: StormView, *, mentions: Sequence[str] = ()) -> RenderedMessage:
    count = len(view.incidents)
    closed = view.closed or all(v.incident.is_closed for v in view.incidents)
    version = f"{count}.{'closed' if closed else 'open'}"
    team = escape(view.team_name)
    outage = outage_of(view)
    if outage is not None:
        head = f"☑️ Marked as outage: {view.team_name}"
        marked_at = f" at {slack_time(outage.at)}" if outage.at else ""
        status = (f"Marked as outage by {actor_label(outage.by, escape)}{marked_at}: the window is neutral "
                  f"for these {count} agents and nothing escalates.")
    elif closed:
        head = f"✅ Back in adherence: {view.team_name}"
        status = "Every agent in this group is back in adherence."
    else:
        head = f"🌩️ {count} agents out at once: {view.team_name}"
        status = (f"{count} agents of *{team}* went out of adherence within the same minute at "
                  f"{slack_time(started_at(view))}. That usually means an outage (phones, login, tools), "
                  "so they are grouped here instead of one card each.")
    blocks: list[Block] = [{"type": "header", "block_id": f"head.{version}", "text": plain(truncate(head, 150))}]
    if mentions:
        blocks.append({"type": "context", "block_id": f"for.{version}",
                       "elements": [mrkdwn("For " + " ".join(f"<@{m}>" for m in mentions[:20]))]})
    lost = next((v.state_lost_at for v in view.incidents if v.state_lost_at is not None), None)
    if lost is not None:
        blocks.append(state_lost_block(lost, version))
    blocks.append({"type": "section", "block_id": f"status.{version}", "text": mrkdwn(truncate(status, 3000))})
    rows = [_row(view, i) for i in range(min(count, MAX_ROWS))]
    if count > MAX_ROWS:
        rows.append(f"…and {count - MAX_ROWS} more")
    for n, chunk in enumerate(chunk_lines(rows)[:5]):
        blocks.append({"type": "section", "block_id": f"agents.{n}.{version}", "text": mrkdwn(chunk)})
    if not closed:
        outage_button: Block = {
            "type": "button", "action_id": MARK_OUTAGE, "style": "primary", "text": plain("Mark as outage"),
            "value": StormRef(mu_id=view.mu_id, storm_id=view.storm_id, marked=outage is not None).dump(),
            "confirm": {
                "title": plain("Mark as outage?"),
                "text": mrkdwn(truncate(f"The window becomes neutral for all {count} agents of {team}: their "
                                        "incidents close as excused and nothing escalates.", 300)),
                "confirm": plain("Mark as outage"),
                "deny": plain("Cancel"),
            },
        }
        blocks.append({"type": "actions", "block_id": f"actions.{version}",
                       "elements": [*_group_buttons(view), outage_button]})
    blocks.append({"type": "context", "block_id": f"meta.{version}", "elements": [mrkdwn(truncate(
        f"Storm `{escape(view.storm_id)}` · {escape(view.mu_name)} · updated {slack_time(view.now)}", 3000))]})
    text = f"{head.split(' ', 1)[1]} · {count} agents out of adherence since {clock_time(started_at(view))}"
    return RenderedMessage(text=truncate(text, 3000), blocks=blocks)
