"""The requirement per 15-minute interval for the surplus, from the booking's ``DemandSource``.

The requirement of a day is read once and kept: the synthetic curve calibrates to the published
schedule, and the training we deliver changes that schedule, which must not move the requirement.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from services.booking.demand import DemandSource
from services.domain.slots import AgentCalendar, StateSpan, TimeGrid, state_for_category
from services.domain.surplus import INTERVAL
from services.ports import WorkforceSource


class RequirementSource(Protocol):
    async def required(self, mu_id: str, start: datetime, intervals: int) -> tuple[float, ...]:
        """Required agents (all queues of the unit) for ``intervals`` intervals from ``start``."""
        ...


class DemandRequirement:
    def __init__(self, source: WorkforceSource, demand: DemandSource) -> None:
        self.source, self.demand = source, demand
        self._days: dict[tuple[str, datetime], tuple[datetime, tuple[float, ...]]] = {}

    async def required(self, mu_id: str, start: datetime, intervals: int) -> tuple[float, ...]:
        out: list[float] = []
        for i in range(intervals):
            when = start + i * INTERVAL
            day_start, values = await self._day(mu_id, when)
            index = int((when - day_start) / INTERVAL)
            out.append(values[index] if 0 <= index < len(values) else 0.0)
        return tuple(out)

    async def _day(self, mu_id: str, when: datetime) -> tuple[datetime, tuple[float, ...]]:
        day = when.replace(hour=0, minute=0, second=0, microsecond=0)
        key = (mu_id, day)
        found = self._days.get(key)
        if found is None:
            found = self._days[key] = (day, await self._read(mu_id, day))
            for old in [k for k in self._days if k[0] == mu_id and k[1] < day - timedelta(days=1)]:
                del self._days[old]
        return found

    async def _read(self, mu_id: str, day: datetime) -> tuple[float, ...]:
        grid = TimeGrid(day, 96)
        roster = await self.source.roster(mu_id)
        schedules = await self.source.schedules(mu_id, grid.start, grid.end)
        published: Sequence[AgentCalendar] = [
            AgentCalendar(agent.id, agent.team_id,
                          [StateSpan(a.start, a.end, state_for_category(a.category))
                           for a in (schedules[agent.id].activities if agent.id in schedules else ())])
            for agent in roster.agents.values()]
        demand = await self.demand.demand(mu_id, grid, published)
        return tuple(float(v) for v in demand.required.sum(axis=0))
