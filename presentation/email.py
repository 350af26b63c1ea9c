"""The tier-2 escalation email: the card's facts in plain text and HTML, with a link to the card."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate

from presentation.wording import (
    actual_label,
    category_label,
    impact_text,
    minutes,
    status_sentence,
    tier_sentence,
)
from services.ports import IncidentView, StormView


def subject(view: IncidentView) -> str:
    incident = view.incident
    return (f"[Adherence] {view.agent_name} out of adherence for {minutes(incident.minutes_out(view.now))} "
            f"({view.team_name})")


def facts(view: IncidentView) -> list[tuple[str, str]]:
    """(label, value) pairs, unescaped; the same facts as the Slack card."""
    incident = view.incident
    supervisors = ", ".join(p.name for p in view.supervisors) or "none configured"
    return [
        ("Agent", view.agent_name),
        ("Team", f"{view.team_name} · {view.mu_name}"),
        ("Scheduled", category_label(incident.category)),
        ("Actual", actual_label(incident.presence, incident.routing)),
        ("Since", incident.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("Minutes out", minutes(incident.minutes_out(view.now))),
        ("Impact", impact_text(incident)),
        ("Tier", tier_sentence(view)),
        ("Status", status_sentence(view)),
        ("Supervisors", supervisors),
        ("Incident", incident.id),
    ]


def plain_body(view: IncidentView) -> str:
    lines = [
        f"{view.agent_name} has been out of adherence for {minutes(view.incident.minutes_out(view.now))} "
        "and nobody has resolved it yet, so it is escalated to you as ops manager.",
        "",
    ]
    width = max(len(label) for label, _ in facts(view))
    lines += [f"{label + ':':<{width + 1}} {value}" for label, value in facts(view)]
    lines.append("")
    if view.card_link:
        lines.append(f"Open the Slack card to act on it: {view.card_link}")
    else:
        lines.append("The Slack card with Acknowledge / Approve exception / Escalate is in the supervisor's chat.")
    lines += ["", "-- ", "Sent by the adherence bot. You get this because you are an ops manager of "
              f"{view.mu_name}."]
    return "\n".join(lines) + "\n"


def html_body(view: IncidentView) -> str:
    esc = html.escape
    rows = "\n".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0;color:#555">{esc(label)}</th>'
        f'<td style="padding:2px 0">{esc(value)}</td></tr>'
        for label, value in facts(view)
    )
    if view.card_link:
        link = (f'<p><a href="{esc(view.card_link, quote=True)}" style="font-weight:bold">'
                "Open the Slack card</a> to acknowledge, approve an exception or escalate.</p>")
    else:
        link = "<p>The Slack card with the actions is in the supervisor's chat.</p>"
    return (
        "<!doctype html><html><body style=\"font-family:sans-serif;font-size:14px\">"
        f"<h2 style=\"margin:0 0 8px\">{esc(view.agent_name)} is out of adherence</h2>"
        f"<p>Out for {esc(minutes(view.incident.minutes_out(view.now)))} and not resolved yet, so it is "
        "escalated to you as ops manager.</p>"
        f"<table>{rows}</table>{link}"
        f"<p style=\"color:#888;font-size:12px\">Sent by the adherence bot to the ops managers of "
        f"{esc(view.mu_name)}.</p></body></html>"
    )


def escalation_email(view: IncidentView, *, sender: str, recipients: list[str]) -> EmailMessage:
    message = _message(subject(view), sender, recipients, view.now, view.incident.id, "escalation")
    message.set_content(plain_body(view))
    message.add_alternative(html_body(view), subtype="html")
    return message


def _message(subject_line: str, sender: str, recipients: list[str], now: datetime, key: str,
             kind: str) -> EmailMessage:
    """The headers; the Message-ID is stable per ``key`` and ``kind``: if a retry ever sends the same
    email twice, mail clients show one message."""
    message = EmailMessage()
    message["Subject"] = subject_line
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(now.timestamp(), localtime=False)
    domain = sender.rpartition("@")[2] or "adherence-bot.local"
    token = re.sub(r"[^A-Za-z0-9.-]", "-", key)
    message["Message-ID"] = f"<{token}.{kind}@{domain}>"
    return message


# ---- the grouped (storm) email: one per storm and tier, the agents in a table ----------------------------


def storm_subject(view: StormView) -> str:
    count = len(view.incidents)
    return f"[Adherence] {count} agents of {view.team_name} out of adherence together (possible outage)"


def storm_rows(view: StormView) -> list[tuple[str, str, str, str, str]]:
    """(agent, scheduled, actual, since, minutes out) per agent, unescaped."""
    return [(v.agent_name, category_label(v.incident.category),
             actual_label(v.incident.presence, v.incident.routing),
             v.incident.started_at.astimezone(UTC).strftime("%H:%M UTC"),
             "closed" if v.incident.is_closed else minutes(v.incident.minutes_out(view.now)))
            for v in view.incidents]


STORM_HEADERS = ("Agent", "Scheduled", "Actual", "Since", "Out")


def _storm_link(view: StormView) -> str | None:
    return next((v.card_link for v in view.incidents if v.card_link), None)


def storm_plain_body(view: StormView) -> str:
    rows = [STORM_HEADERS, *storm_rows(view)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(STORM_HEADERS))]
    lines = [f"{len(view.incidents)} agents of {view.team_name} ({view.mu_name}) went out of adherence together "
             "and nobody has resolved it yet, so it is escalated to you as ops manager, once for the group.", ""]
    lines += ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.append("")
    link = _storm_link(view)
    lines.append(f"Open the grouped Slack card to act on it: {link}" if link
                 else "The grouped Slack card (Acknowledge all / Escalate all / Mark as outage) is in the "
                      "supervisors' chat.")
    lines += ["", "-- ", f"Sent by the adherence bot to the ops managers of {view.mu_name}. Storm {view.storm_id}."]
    return "\n".join(lines) + "\n"


def storm_html_body(view: StormView) -> str:
    esc = html.escape
    head = "".join(f'<th align="left" style="padding:2px 12px 2px 0">{esc(h)}</th>' for h in STORM_HEADERS)
    rows = "\n".join("<tr>" + "".join(f'<td style="padding:2px 12px 2px 0">{esc(c)}</td>' for c in row) + "</tr>"
                     for row in storm_rows(view))
    link = _storm_link(view)
    action = (f'<p><a href="{esc(link, quote=True)}" style="font-weight:bold">Open the grouped Slack card</a> '
              "to acknowledge, escalate or mark it as an outage.</p>" if link
              else "<p>The grouped Slack card with the actions is in the supervisors' chat.</p>")
    return (
        "<!doctype html><html><body style=\"font-family:sans-serif;font-size:14px\">"
        f"<h2 style=\"margin:0 0 8px\">{len(view.incidents)} agents of {esc(view.team_name)} are out of "
        "adherence together</h2><p>Probably an outage (phones, login, tools); escalated to you once for the "
        f"group.</p><table><tr>{head}</tr>\n{rows}</table>{action}"
        f"<p style=\"color:#888;font-size:12px\">Sent by the adherence bot to the ops managers of "
        f"{esc(view.mu_name)}.</p></body></html>"
    )


def storm_recipients(view: StormView) -> list[str]:
    seen: list[str] = []
    for person in (p for v in view.incidents[:1] for p in v.ops_managers):
        email = person.email.strip()
        if email and email.lower() not in (s.lower() for s in seen):
            seen.append(email)
    return seen


def storm_email(view: StormView, *, sender: str, recipients: list[str], tier: int) -> EmailMessage:
    message = _message(storm_subject(view), sender, recipients, view.now, view.storm_id, f"storm.{tier}")
    message.set_content(storm_plain_body(view))
    message.add_alternative(storm_html_body(view), subtype="html")
    return message
