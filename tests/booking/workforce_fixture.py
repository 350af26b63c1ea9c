"""An in-memory WorkforceSource for booking tests: one unit, two teams, a week of schedules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from services.booking.config import BookingConfig, LocationConfig, RoomConfig
from services.domain.model import (
    Agent,
    AgentSchedule,
    AgentState,
    ExceptionWindow,
    ManagementUnit,
    Person,
    Roster,
    ScheduledActivity,
    Team,
)
from services.domain.states import ActivityCategory
from services.ports import ScheduleChanged

MONDAY = datetime(2026, 6, 1, tzinfo=UTC)
WORK, BREAK, MEAL = ActivityCategory.ON_QUEUE_WORK, ActivityCategory.BREAK, ActivityCategory.MEAL


def day_of(agent_day: int, begin: int = 8) -> list[ScheduledActivity]:
    base = MONDAY + timedelta(days=agent_day)

    def at(h: float) -> datetime:
        return base + timedelta(hours=h)

    parts = [(0, 2, WORK), (2, 2.25, BREAK), (2.25, 4, WORK), (4, 4.5, MEAL), (4.5, 8.5, WORK)]
    return [ScheduledActivity(at(begin + a), at(begin + b), category) for a, b, category in parts]


class FakeWorkforce:
    def __init__(self, agents_per_team: int = 4, days: int = 5) -> None:
        self.mu = ManagementUnit("mu1", "Unit One", "UTC", ("ops1",))
        self.teams = {"t1": Team("t1", "Blue", "mu1", ("sup1",)), "t2": Team("t2", "Green", "mu1", ("sup2",))}
        self.agents = {f"{t}-a{i}": Agent(f"{t}-a{i}", f"Agent {t}{i}", t, "mu1", f"{t}.a{i}@example.com")
                       for t in self.teams for i in range(agents_per_team)}
        self.people = {p: Person(p, f"Person {p}", f"{p}@example.com") for p in ("sup1", "sup2", "ops1", "trainer1")}
        self.days = days

    async def management_units(self) -> Sequence[ManagementUnit]:
        return [self.mu]

    async def roster(self, mu_id: str) -> Roster:
        return Roster(self.mu, dict(self.teams), dict(self.agents), dict(self.people))

    async def schedules(self, mu_id: str, start: datetime, end: datetime) -> Mapping[str, AgentSchedule]:
        out = {}
        for agent_id in self.agents:
            acts = [a for d in range(self.days) for a in day_of(d)]
            out[agent_id] = AgentSchedule.of(agent_id, [a for a in acts if a.end > start and a.start < end])
        return out

    async def live_states(self, mu_id: str) -> Mapping[str, AgentState]:
        return {}

    async def approved_exceptions(self, mu_id: str, start: datetime, end: datetime) -> Sequence[ExceptionWindow]:
        return []

    def on_schedule_changed(self, callback: ScheduleChanged) -> None:
        pass


def booking_config(**overrides: object) -> BookingConfig:
    base = BookingConfig(locations={"hq": LocationConfig(name="HQ", rooms={
        "small": RoomConfig(name="Small room", capacity=3),
        "big": RoomConfig(name="Big room", capacity=12, mailbox="big@example.com")})}, trainers=["trainer1"])
    return base.model_copy(update=overrides) if overrides else base
