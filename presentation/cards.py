"""What the chat adapters are given to turn views into messages.

The Block Kit builders live in ``presentation/blocks``; the adapters receive them as a
:class:`CardRenderer` so that services never import handlers (``bot/`` wires them together).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.domain.escalation import IncidentEvent
from services.ports import IncidentView, StormView


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A message ready for chat.postMessage / chat.update: fallback text plus Block Kit blocks."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


class CardRenderer(Protocol):
    def incident_card(self, view: IncidentView, *, mentions: Sequence[str] = ()) -> RenderedMessage: ...

    def incident_history_line(self, view: IncidentView, event: IncidentEvent) -> str | None:
        """One short line for the card's thread (no mentions), or None when the event needs none."""
        ...

    def storm_card(self, view: StormView, *, mentions: Sequence[str] = ()) -> RenderedMessage: ...

    def agent_nudge(self, view: IncidentView) -> RenderedMessage:
        """The agent-first DM about the agent's own incident."""
        ...
