"""``AdherenceHistory`` in memory: what the monitor's commit adds per unit, day and agent.

It mirrors the commit script's accrual by segments (``services.adapters.redis.history``): per unit and
day a counter that each tick moves on, each agent's open segment (counter at open, flags), closed into
the totals only when the agent's flags change; the readers add the open segments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from services.adapters.redis.history import add_open

_Key = tuple[str, date]


class MemoryAdherenceHistory:
    def __init__(self) -> None:
        # (unit, day) -> agent -> [scheduled, out]
        self._days: dict[_Key, dict[str, list[float]]] = {}
        self._open: dict[_Key, dict[str, tuple[float, str]]] = {}  # agent -> (counter at open, flags)
        self._counter: dict[_Key, float] = {}

    def add(self, mu_id: str, day: date, scheduled: Mapping[str, float],
            out: Mapping[str, float] | None = None) -> None:
        """As the commit script does: scheduled seconds, and out seconds only while scheduled."""
        record = self._days.setdefault((mu_id, day), {})
        for agent_id, seconds in scheduled.items():
            totals = record.setdefault(agent_id, [0.0, 0.0])
            totals[0] += float(f"{seconds:.3f}")
            if out and agent_id in out:
                totals[1] += float(f"{min(out[agent_id], seconds):.3f}")

    def accrue(self, mu_id: str, day: date, elapsed: float, changed: Mapping[str, str]) -> dict[str, float]:
        """One tick's accrual, as the script: close the segments whose flags differ, open the new ones,
        then move the day's counter on. Returns the out seconds closed (for the day's out-seconds)."""
        key = (mu_id, day)
        counter = self._counter.get(key, 0.0)
        segments = self._open.setdefault(key, {})
        record = self._days.setdefault(key, {})
        closed_out: dict[str, float] = {}
        for agent_id, agent_flags in changed.items():
            start, old = segments.get(agent_id, (counter, ""))
            if old == agent_flags:
                continue
            seconds = counter - start
            if seconds > 0 and old:
                if "o" in old:
                    closed_out[agent_id] = seconds
                if "s" in old:
                    totals = record.setdefault(agent_id, [0.0, 0.0])
                    totals[0] += seconds
                    totals[1] += seconds if "o" in old else 0.0
            if agent_flags:
                segments[agent_id] = (counter, agent_flags)
            else:
                segments.pop(agent_id, None)
        self._counter[key] = counter + float(f"{elapsed:.3f}")
        return closed_out

    def open_segments(self, mu_id: str, day: date) -> dict[str, tuple[str, float]]:
        """agent -> (flags, seconds so far) of the day's open segments."""
        key = (mu_id, day)
        counter = self._counter.get(key, 0.0)
        return {a: (f, max(0.0, counter - start)) for a, (start, f) in self._open.get(key, {}).items()}

    async def days(self, mu_id: str, days: Sequence[date]) -> dict[date, dict[str, tuple[float, float]]]:
        found: dict[date, dict[str, tuple[float, float]]] = {}
        for day in days:
            record = {a: (s, o) for a, (s, o) in self._days.get((mu_id, day), {}).items()}
            add_open(record, self.open_segments(mu_id, day))
            if record:
                found[day] = record
        return found
