"""Replies to ``/adherence``: a team's snapshot, the caller's teams, an unknown team, and help."""

from __future__ import annotations

from collections.abc import Sequence

from presentation.blocks.format import Block, chunk_lines, escape, mrkdwn, plain, slack_time, truncate
from presentation.cards import RenderedMessage
from presentation.wording import actual_label, category_label, minutes
from services.queries import AgentRow, TeamRef, TeamSnapshot

MAX_BLOCKS = 50
_STATUS = {
    "ADHERENT": ("🟢", "in adherence"),
    "NON_ADHERENT": ("🔴", "out of adherence"),
    "OFF_SHIFT": ("⚪", "off shift"),
    "UNKNOWN": ("❔", "no live state"),
}


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}%"


def _row(row: AgentRow) -> str:
    emoji, label = _STATUS.get(row.status, ("⏳", "not evaluated yet"))
    scheduled = category_label(row.scheduled) if row.scheduled != "off shift" else "nothing scheduled"
    parts = [f"{emoji} *{escape(row.agent_name)}*", f"scheduled {scheduled}"]
    if row.status not in ("OFF_SHIFT", ""):
        parts.append(f"actually {actual_label(row.presence or None, row.routing or None)}")
    state = label
    if row.status == "NON_ADHERENT":
        state += f" for {minutes(row.minutes_in_state)}"
    parts.append(state)
    parts.append(f"{_pct(row.adherence_pct)} today")
    if row.incident_id is not None:
        out = f", {minutes(row.minutes_out)} out" if row.minutes_out is not None else ""
        parts.append(f"incident {row.incident_status or 'open'}{out}")
    return " · ".join(parts)


def _team_title(team: TeamRef) -> str:
    return f"{team.name} · {team.mu_name}" if team.mu_name else team.name


def team_snapshot(snapshot: TeamSnapshot, note: str | None = None) -> RenderedMessage:
    rows = snapshot.rows
    counts = {key: sum(1 for r in rows if r.status == key) for key in _STATUS}
    summary = (f"{len(rows)} agents · {counts['ADHERENT']} in · {counts['NON_ADHERENT']} out · "
               f"{counts['OFF_SHIFT']} off shift · {counts['UNKNOWN']} without live state · "
               f"team adherence today {_pct(snapshot.adherence_pct)} · as of {slack_time(snapshot.at)}")
    blocks: list[Block] = [
        {"type": "header", "block_id": "team", "text": plain(truncate(_team_title(snapshot.team), 150))},
        {"type": "context", "block_id": "summary", "elements": [mrkdwn(truncate(summary, 3000))]},
    ]
    if note:  # e.g. an active or upcoming neutral window
        blocks.append({"type": "context", "block_id": "note", "elements": [mrkdwn(truncate(note, 3000))]})
    lines = [_row(r) for r in rows] or ["This team has no agents."]
    chunks = chunk_lines(lines)
    room = MAX_BLOCKS - len(blocks)
    if len(chunks) > room:  # never more than Slack accepts; say what was left out
        chunks = [*chunks[: room - 1], f"…and more agents than fit in one message ({len(rows)} in total)."]
    blocks += [{"type": "section", "block_id": f"agents.{n}", "text": mrkdwn(c)} for n, c in enumerate(chunks)]
    text = f"{_team_title(snapshot.team)}: {counts['NON_ADHERENT']} of {len(rows)} agents out of adherence"
    return RenderedMessage(text=truncate(text, 3000), blocks=blocks)


def _team_lines(teams: Sequence[TeamRef]) -> list[str]:
    return [f"• *{escape(t.name)}* ({escape(t.mu_name)}): `/adherence team {escape(t.name)}`" for t in teams]


def your_teams(teams: Sequence[TeamRef]) -> RenderedMessage:
    if not teams:
        text = ("You don't supervise a team or manage a unit here, so there is nothing to show. "
                "If that is wrong, ask an admin to add your email or Slack user to the bot's configuration.")
        return RenderedMessage(text=text, blocks=[{"type": "section", "block_id": "none", "text": mrkdwn(text)}])
    blocks: list[Block] = [{"type": "section", "block_id": "intro",
                            "text": mrkdwn(f"*Your teams* ({len(teams)}). Pick one for a live snapshot:")}]
    blocks += [{"type": "section", "block_id": f"teams.{n}", "text": mrkdwn(c)}
               for n, c in enumerate(chunk_lines(_team_lines(teams))[: MAX_BLOCKS - 1])]
    return RenderedMessage(text=f"Your teams: {', '.join(t.name for t in teams)}", blocks=blocks)


def unknown_team(query: str, visible: Sequence[TeamRef]) -> RenderedMessage:
    if not query.strip():
        head = "Which team? Write `/adherence team &lt;name&gt;`."
    else:
        head = f"No team you can see matches *{escape(truncate(query, 100))}*."
    if visible:
        lines = [head, "Teams you can see:", *_team_lines(visible)]
    else:
        lines = [head, "You can't see any team: you are not a supervisor or ops manager in the configuration."]
    chunks = chunk_lines(lines)[:MAX_BLOCKS]
    blocks: list[Block] = [{"type": "section", "block_id": f"unknown.{n}", "text": mrkdwn(c)}
                           for n, c in enumerate(chunks)]
    return RenderedMessage(text=truncate(f"No team matches {query!r}", 3000), blocks=blocks)


HELP_LINES = (
    "*Adherence bot*: it watches schedule adherence and escalates sustained, negative-impact "
    "deviations: a card to the supervisor, then an email to the ops manager, then a coaching session.",
    "• `/adherence team &lt;name&gt;`: live snapshot of a team (scheduled vs actual, minutes out, "
    "adherence today, open incidents). Only you see the answer.",
    "• `/adherence`: the teams you may look at.",
    "• `/adherence neutral &lt;team|unit&gt; &lt;from&gt;-&lt;to&gt; &lt;reason&gt;`: plan a neutral window "
    "(ops managers; `/adherence neutral` lists them).",
    "• `/adherence help`: this message.",
    "• `/adherence surplus`: training in surplus: live figures, who was offered what and why, decisions.",
    "On a card: *Acknowledge* pauses escalation for a while, *Approve exception* excuses the agent for a "
    "window with a reason, *Escalate now* fires the next tier at once. Only the agent's supervisors and "
    "the unit's ops managers can press them; every press is audited.",
)


def help_message(note: str | None = None) -> RenderedMessage:
    lines = [f"_{escape(note)}_"] if note else []
    lines += HELP_LINES
    blocks: list[Block] = [{"type": "section", "block_id": f"help.{n}", "text": mrkdwn(line)}
                           for n, line in enumerate(lines)]
    return RenderedMessage(text="How to use /adherence", blocks=blocks)
