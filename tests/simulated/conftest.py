"""Fixtures for the simulator tests: a simulated day on a clock the test moves by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from services.adapters.simulated import SimulatedContactCenter, day_start
from services.clock import ManualClock
from services.config import SimulatorConfig
from services.domain.adherence import Evaluation, evaluate
from services.domain.rules import DEFAULT_TABLE

DAY = date(2026, 5, 18)
STALE_AFTER = timedelta(minutes=10)


class Sim:
    """A simulator plus the clock that drives it, with the few look-ups the tests repeat."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.clock = ManualClock(day_start(config, DAY))
        self.cc = SimulatedContactCenter.build(config, self.clock, DAY)

    def at(self, when: datetime) -> None:
        self.clock.set(when)

    def mu_of(self, agent_id: str) -> str:
        return self.cc.agent(agent_id).mu_id

    async def evaluate(self, agent_id: str, when: datetime, *, with_exceptions: bool = True) -> Evaluation:
        """Judge the agent at ``when`` exactly as a monitor would, through the public source API."""
        self.at(when)
        mu_id = self.mu_of(agent_id)
        schedules = await self.cc.schedules(mu_id, when - timedelta(hours=12), when + timedelta(hours=12))
        states = await self.cc.live_states(mu_id)
        exceptions = await self.cc.approved_exceptions(mu_id, when - timedelta(minutes=15), when)
        schedule = schedules.get(agent_id)
        activity = schedule.activity_at(when) if schedule else None
        return evaluate(agent_id, activity, states.get(agent_id), when, DEFAULT_TABLE, stale_after=STALE_AFTER,
                        exceptions=exceptions if with_exceptions else ())


@pytest.fixture
def sim() -> Sim:
    """The default configuration (2 units x 2 teams x 6 agents, seed 7), as the demo runs it."""
    return Sim(SimulatorConfig())


@pytest.fixture
def roomy() -> Sim:
    """Room for every scenario in one unit, plus a second and third unit."""
    return Sim(SimulatorConfig(seed=11, management_units=3, teams_per_unit=4, agents_per_team=12))
