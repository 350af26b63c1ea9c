"""Where the slot search's staffing demand comes from: the ``DemandSource`` port and the synthetic curve.

A demand source answers, for one management unit and the search grid, the required staff per queue
and interval and which agents count towards which queue, and says where the numbers came from
(``provenance``), so every explanation can name its data source. With Genesys connected the
numbers come from the business unit's short-term forecast (``services/adapters/genesys/forecast.py``);
the simulator uses :class:`SyntheticDemand`, a seeded curve calibrated to the published schedule.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from services.domain.slots import AgentCalendar, TimeGrid, build_problem
from services.domain.slots.problem import scheduled_from_states
from services.domain.slots.staffing import daily_requirement


@dataclass(frozen=True, slots=True, eq=False)
class Demand:
    """Required staff per queue and interval on a grid, and where it came from.

    ``skills`` maps an agent to the queues it counts towards (share of its productive time); an agent
    left out counts fully towards every queue. ``missing`` is non-empty when no forecast covers part of
    the period (then ``required`` is zero there and the meeting type's ``no_forecast`` policy decides).
    """

    queues: tuple[str, ...]
    required: NDArray[np.float64]  # (queues, T)
    provenance: str  # e.g. "Genesys short-term forecast f1 (week of 2026-05-18)"
    skills: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    forecast_ids: tuple[str, ...] = ()
    missing: str = ""  # why there is no forecast for (part of) the period

    def weights_of(self, agent_id: str) -> dict[str, float]:
        skills = self.skills.get(agent_id)
        return dict(skills) if skills is not None else dict.fromkeys(self.queues, 1.0)


class DemandSource(Protocol):
    """Required staff per interval for a unit and period, with a description of its provenance.

    ``published`` are the unit's agents with their published schedule (no skills), for sources that
    calibrate to it or map agents to queues.
    """

    async def demand(self, mu_id: str, grid: TimeGrid, published: Sequence[AgentCalendar]) -> Demand: ...


class SyntheticDemand:
    """The simulator's demand: a seeded Erlang C call curve calibrated per day to the published schedule."""

    provenance = "synthetic curve (simulator)"

    def __init__(self, *, slack: float = 1.06, seed: int = 7) -> None:
        self.slack, self.seed = slack, seed

    async def demand(self, mu_id: str, grid: TimeGrid, published: Sequence[AgentCalendar]) -> Demand:
        queue = f"q:{mu_id}"
        agents = [AgentCalendar(a.agent_id, a.team_id, a.spans, {queue: 1.0}) for a in published]
        base = build_problem(grid, (queue,), np.zeros((1, grid.intervals)), agents)
        required = daily_requirement(grid, scheduled_from_states(base.states, base.weights),
                                     zlib.crc32(f"{self.seed}:{mu_id}".encode()), slack=self.slack)
        return Demand((queue,), required, self.provenance)
