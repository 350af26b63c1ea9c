"""Which agents' live states changed, per unit, behind a cursor (``ports.ChangeReporting``).

Each call of :meth:`ChangeLog.since` closes the unit's current period of changes and returns the
number of the next one as the new cursor; the last ``KEPT`` closed periods are remembered, so a
reader that calls once per tick (the monitor) gets the union of what changed since its cursor. A
cursor it does not know (None, older than what is kept, or from another process) gives None: the
reader compares every state instead.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

KEPT = 8  # closed periods remembered per unit (a reader missing more compares everything once)
_LOGS = itertools.count(1)  # each log numbers its periods apart: another log's cursor is unknown here


@dataclass
class _UnitLog:
    period: int = 0  # the open period's number
    open: set[str] = field(default_factory=set)
    closed: deque[tuple[int, frozenset[str]]] = field(default_factory=lambda: deque(maxlen=KEPT))


class ChangeLog:
    def __init__(self) -> None:
        self._units: dict[str, _UnitLog] = {}
        self._first = next(_LOGS) << 32

    def record(self, mu_id: str, agent_ids: Iterable[str]) -> None:
        self._unit(mu_id).open.update(agent_ids)

    def _unit(self, mu_id: str) -> _UnitLog:
        unit = self._units.get(mu_id)
        if unit is None:
            unit = self._units[mu_id] = _UnitLog(period=self._first)
        return unit

    def since(self, mu_id: str, cursor: int | None) -> tuple[int, Collection[str] | None]:
        """The agents changed since ``cursor`` (None: unknown) and the cursor to pass next time."""
        unit = self._unit(mu_id)
        oldest = unit.closed[0][0] if unit.closed else unit.period
        changed: set[str] | None = None
        if cursor is not None and oldest <= cursor <= unit.period:
            changed = set(unit.open)
            for period, agents in unit.closed:
                if period >= cursor:
                    changed |= agents
        unit.closed.append((unit.period, frozenset(unit.open)))
        unit.period += 1
        unit.open = set()
        return unit.period, changed
