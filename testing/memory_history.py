"""``AdherenceHistory`` in memory: what the monitor's commit adds per unit, day and agent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date


class MemoryAdherenceHistory:
    def __init__(self) -> None:
        # (unit, day) -> agent -> [scheduled, out]
        self._days: dict[tuple[str, date], dict[str, list[float]]] = {}

    def add(self, mu_id: str, day: date, scheduled: Mapping[str, float],
            out: Mapping[str, float] | None = None) -> None:
        """As the commit script does: scheduled seconds, and out seconds only while scheduled."""
        record = self._days.setdefault((mu_id, day), {})
        for agent_id, seconds in scheduled.items():
            totals = record.setdefault(agent_id, [0.0, 0.0])
            totals[0] += float(f"{seconds:.3f}")
            if out and agent_id in out:
                totals[1] += float(f"{min(out[agent_id], seconds):.3f}")

    async def days(self, mu_id: str, days: Sequence[date]) -> dict[date, dict[str, tuple[float, float]]]:
        return {day: {a: (s, o) for a, (s, o) in self._days[(mu_id, day)].items()}
                for day in days if self._days.get((mu_id, day))}
