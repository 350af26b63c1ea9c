"""Short ephemeral replies after an action, and the user-facing text for refused actions."""

from __future__ import annotations

from datetime import datetime

from presentation.blocks.format import escape, slack_time
from presentation.wording import actor_label, tier_label
from services.domain.escalation import Done, Incident, ReplyKind, TierAction

GENERIC_FAILURE = "Something went wrong on our side and it was logged. Please try again in a minute."


def acknowledged(incident: Incident) -> str:
    until = f" Escalation is paused until {slack_time(incident.hold_until)}." if incident.hold_until else ""
    return f"✅ You acknowledged this alert.{until} It resumes by itself unless the agent is back or excused."


def escalated(incident: Incident) -> str:
    if not incident.fired:
        return "⏫ Escalated."
    return f"⏫ Escalated now: {tier_label(incident.fired[-1].action)}."


def exception_approved(incident: Incident, until: datetime) -> str:
    return f"☑️ Exception approved until {slack_time(until)}. The alert is closed as excused."


def unacknowledged(incident: Incident) -> str:
    return "↩️ Unacknowledged: escalation goes on as the policy says (a tier already due fires within a tick)."


def snoozed(incident: Incident) -> str:
    until = f" until {slack_time(incident.snooze.until)}" if incident.snooze else ""
    return f"💤 Snoozed{until}: no tier fires until then. Unsnooze on the card resumes it at once."


def unsnoozed(incident: Incident) -> str:
    return "⏰ Unsnoozed: escalation resumes now."


def explanation_approved(incident: Incident) -> str:
    return ("☑️ Explanation approved: the alert is closed as excused and the explanation is recorded in the WFM "
            "system for the time the agent was out.")


def agent_answered(kind: ReplyKind) -> str:
    if kind is ReplyKind.EXPLANATION:
        return "📨 Thanks: your explanation is on the alert for your supervisor."
    return "📨 Thanks: your supervisor sees your answer on the alert."


def group_done(what: str, count: int) -> str:
    noun = "alert" if count == 1 else "alerts"
    return f"✅ {what}: {count} {noun}."


def outage_marked(count: int) -> str:
    noun = "alert" if count == 1 else "alerts"
    return f"☑️ Marked as outage: {count} {noun} closed and the window is neutral for everyone in it."


_TIER_SHORT = {TierAction.CHAT_CARD: "the Slack card", TierAction.EMAIL: "email",
               TierAction.COACHING: "coaching"}


def already(done: Done) -> str:
    """A click that came after the fact: what happened, who did it and when; nothing changed."""
    what = done.what + (f" to {_TIER_SHORT.get(done.tier, str(done.tier))}" if done.tier else "")
    automatic = " on schedule" if done.tier else ""  # a tier nobody pressed: its time came
    who = f" by {actor_label(done.by, escape)}" if done.by else automatic
    when = f" until {slack_time(done.until)}" if done.until else (f" at {slack_time(done.at)}" if done.at else "")
    return f"ℹ️ Already {what}{who}{when}. Nothing changed."


def refusal(message: str) -> str:
    text = message.strip().rstrip(".") or "That can't be done"
    return f"🚫 {escape(text[0].upper() + text[1:])}."
