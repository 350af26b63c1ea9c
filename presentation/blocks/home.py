"""The App Home tab: the caller's open incidents and teams."""

from __future__ import annotations

from collections.abc import Sequence

from presentation.blocks.adherence import HELP_LINES
from presentation.blocks.format import Block, chunk_lines, escape, mrkdwn, plain, slack_time
from presentation.wording import actual_label, category_label, minutes, status_sentence
from services.ports import IncidentView
from services.queries import TeamRef

MAX_BLOCKS = 100


def _incident_line(view: IncidentView) -> str:
    incident = view.incident
    link = f" · <{view.card_link}|open card>" if view.card_link else ""
    return (f"• *{escape(view.agent_name)}* ({escape(view.team_name)}): scheduled "
            f"{category_label(incident.category)}, actually {actual_label(incident.presence, incident.routing)} "
            f"since {slack_time(incident.started_at)} ({minutes(incident.minutes_out(view.now))}). "
            f"{status_sentence(view, slack_time, escape)}{link}")


def home_view(incidents: Sequence[IncidentView], teams: Sequence[TeamRef], extra: Sequence[Block] = ()) -> Block:
    blocks: list[Block] = [{"type": "header", "block_id": "title", "text": plain("Adherence")}]
    blocks.append({"type": "section", "block_id": "incidents.head",
                   "text": mrkdwn(f"*Your open incidents* ({len(incidents)})")})
    lines = [_incident_line(v) for v in incidents] or ["Nothing open. 🎉"]
    blocks += [{"type": "section", "block_id": f"incidents.{n}", "text": mrkdwn(c)}
               for n, c in enumerate(chunk_lines(lines)[:40])]
    blocks.append({"type": "divider", "block_id": "split"})
    blocks.append({"type": "section", "block_id": "teams.head", "text": mrkdwn(f"*Your teams* ({len(teams)})")})
    team_lines = [f"• *{escape(t.name)}* ({escape(t.mu_name)}): `/adherence team {escape(t.name)}`"
                  for t in teams] or ["You don't supervise a team or manage a unit in the configuration."]
    blocks += [{"type": "section", "block_id": f"teams.{n}", "text": mrkdwn(c)}
               for n, c in enumerate(chunk_lines(team_lines)[:40])]
    blocks += extra[: MAX_BLOCKS - len(blocks) - 1]  # e.g. the neutral windows (presentation.blocks.neutral)
    blocks.append({"type": "context", "block_id": "help", "elements": [mrkdwn(line) for line in HELP_LINES[1:4]]})
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}
