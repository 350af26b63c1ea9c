"""In-memory neutral windows (the ``NeutralWindows`` port) with the Redis adapter's semantics:
the first cancellation wins and later ones return it unchanged; every write is audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.domain.neutral import NeutralWindow


@dataclass
class MemoryNeutralWindows:
    windows: dict[str, dict[str, NeutralWindow]] = field(default_factory=dict)
    audit: list[dict[str, str]] = field(default_factory=list)

    async def save_neutral(self, window: NeutralWindow) -> None:
        self.windows.setdefault(window.mu_id, {})[window.id] = window
        self.audit.append({"kind": "neutral_planned", "neutral": window.id, "actor": window.created_by})

    async def neutral_windows(self, mu_id: str) -> list[NeutralWindow]:
        return list(self.windows.get(mu_id, {}).values())

    async def cancel_neutral(self, mu_id: str, window_id: str, by: str,
                             at: datetime) -> tuple[NeutralWindow, bool] | None:
        unit = self.windows.get(mu_id, {})
        window = unit.get(window_id)
        if window is None:
            return None
        if window.cancelled:
            return window, False
        unit[window_id] = window.cancel(by, at)
        self.audit.append({"kind": "neutral_cancelled", "neutral": window_id, "actor": by})
        return unit[window_id], True
