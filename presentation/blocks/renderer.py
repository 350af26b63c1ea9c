"""The Block Kit builders bundled as the ``CardRenderer`` the chat adapters are given."""

from __future__ import annotations

from collections.abc import Sequence

from presentation.blocks.incident_card import history_line, incident_card
from presentation.blocks.nudge import agent_nudge
from presentation.blocks.storm_card import storm_card
from presentation.cards import RenderedMessage
from services.domain.escalation import IncidentEvent
from services.ports import IncidentView, StormView


class BlockKitRenderer:
    def incident_card(self, view: IncidentView, *, mentions: Sequence[str] = ()) -> RenderedMessage:
        return incident_card(view, mentions=mentions)

    def incident_history_line(self, view: IncidentView, event: IncidentEvent) -> str | None:
        return history_line(view, event)

    def storm_card(self, view: StormView, *, mentions: Sequence[str] = ()) -> RenderedMessage:
        return storm_card(view, mentions=mentions)

    def agent_nudge(self, view: IncidentView) -> RenderedMessage:
        return agent_nudge(view)
