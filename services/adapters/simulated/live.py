"""Live states of one unit, kept current by recomputing only the agents whose state has changed.

Every cached state carries the whole second at which it stops being true (its next flap, activity
boundary or report). Agents are filed under that second, so moving the clock on from ``a`` to ``b``
touches only the seconds in between and the agents filed there. Moving the clock backwards (tests do)
or jumping more than a day rebuilds the cache. Either way the answer at ``t`` equals the pure function
:func:`state_of`, so a test can set a clock anywhere and get an exact answer.
"""

from __future__ import annotations

import math

from services.adapters.simulated.behaviour import agent_state
from services.adapters.simulated.world import Unit
from services.domain.model import AgentState

_REBUILD_AFTER = 86400  # seconds; walking a longer jump second by second costs more than a rebuild


def state_of(unit: Unit, index: int, t: float, report_every: int) -> tuple[AgentState, float]:
    """Agent ``index`` of ``unit`` at ``t``: see :func:`~services.adapters.simulated.behaviour.agent_state`."""
    return agent_state(unit.agent_ids[index], unit.timelines[index], unit.rhythms[index], unit.legacy[index], t,
                       report_every)


class LiveStates:
    """The states of one unit's reporting agents, refreshed incrementally as time moves forward."""

    __slots__ = ("_cursor", "_due", "_every", "_last", "_states", "_unit")

    def __init__(self, unit: Unit, report_every: int) -> None:
        if report_every <= 0:
            raise ValueError("report_every must be a positive number of seconds")
        self._unit, self._every = unit, report_every
        self._states: dict[str, AgentState] = {}
        self._due: dict[int, list[int]] = {}  # whole second -> agents whose state ends then
        self._cursor = 0  # every second before this one has been processed
        self._last = -math.inf

    def at(self, t: float) -> dict[str, AgentState]:
        """The states at ``t``. The dict is the cache itself: callers must copy it before handing it out."""
        now = math.floor(t)
        if t < self._last or now - self._cursor > _REBUILD_AFTER:
            self._rebuild(t)
        else:
            unit, every, states, due = self._unit, self._every, self._states, self._due
            ids, timelines, rhythms, legacy = unit.agent_ids, unit.timelines, unit.rhythms, unit.legacy
            for second in range(self._cursor, now + 1):
                agents = due.pop(second, None)
                if agents is None:
                    continue
                for index in agents:
                    state, until = agent_state(ids[index], timelines[index], rhythms[index], legacy[index], t, every)
                    states[state.agent_id] = state
                    if until != math.inf:
                        due.setdefault(math.ceil(until), []).append(index)
        self._cursor, self._last = now + 1, t
        return self._states

    def _file(self, index: int, until: float) -> None:
        # All boundaries are whole seconds (minute plans, integer flap pieces, integer report interval).
        if until != math.inf:
            self._due.setdefault(math.ceil(until), []).append(index)

    def _rebuild(self, t: float) -> None:
        unit, every = self._unit, self._every
        self._states.clear()
        self._due.clear()
        for index, agent_id in enumerate(unit.agent_ids):
            if agent_id in unit.silent:
                continue
            state, until = state_of(unit, index, t, every)
            self._states[agent_id] = state
            self._file(index, until)
