"""The incident as an Adaptive Card (schema 1.5) in the envelope a Teams Workflows webhook takes.

A webhook cannot edit what it posted, so every update is a card of its own, headed by what changed.
"""

from __future__ import annotations

from typing import Any

from presentation.email import facts
from presentation.wording import actor_label, headline, tier_label
from services.domain.escalation import EventKind, IncidentEvent
from services.ports import IncidentView

CARD_VERSION = "1.5"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def _what_changed(event: IncidentEvent) -> str:
    who = f" by {actor_label(event.actor)}" if event.actor else ""
    if event.kind is EventKind.TIER_FIRED and event.tier is not None:
        return f"Escalated: {tier_label(event.tier.action)}{who}"
    return {
        EventKind.ACKNOWLEDGED: f"Acknowledged{who}",
        EventKind.EXCUSED: f"Excused{who}",
        EventKind.RESOLVED: "Resolved: back in adherence",
    }.get(event.kind, f"Update: {event.kind.value.replace('_', ' ')}{who}")


def adaptive_card(view: IncidentView, event: IncidentEvent, *, first: bool) -> dict[str, Any]:
    """The card for tier 1 (``first``) or for a later change of the same incident."""
    title = headline(view) if first else f"{_what_changed(event)}: {view.agent_name} ({view.team_name})"
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": True,
         "style": "heading"},
        {"type": "FactSet", "facts": [{"title": label, "value": value} for label, value in facts(view)]},
    ]
    card: dict[str, Any] = {"type": "AdaptiveCard", "version": CARD_VERSION,
                            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                            "body": body, "fallbackText": title}
    if view.card_link:  # the Slack card, where the buttons are
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in Slack", "url": view.card_link}]
    return card


def envelope(card: dict[str, Any]) -> dict[str, Any]:
    """What a Workflows webhook ("When a Teams webhook request is received") expects."""
    return {"type": "message", "attachments": [{"contentType": CONTENT_TYPE, "contentUrl": None, "content": card}]}
