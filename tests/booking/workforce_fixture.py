"""The booking tests' workforce: one unit, two teams, a week of schedules (a set-up of MemoryWorkforce)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from services.booking.config import BookingConfig, LocationConfig, RoomConfig
from services.domain.model import ManagementUnit, Person, ScheduledActivity, Team
from services.domain.states import ActivityCategory
from testing.workforce import MemoryWorkforce

MONDAY = datetime(2026, 6, 1, tzinfo=UTC)
WORK, BREAK, MEAL = ActivityCategory.ON_QUEUE_WORK, ActivityCategory.BREAK, ActivityCategory.MEAL


def day_of(agent_day: int, begin: int = 8) -> list[ScheduledActivity]:
    base = MONDAY + timedelta(days=agent_day)

    def at(h: float) -> datetime:
        return base + timedelta(hours=h)

    parts = [(0, 2, WORK), (2, 2.25, BREAK), (2.25, 4, WORK), (4, 4.5, MEAL), (4.5, 8.5, WORK)]
    return [ScheduledActivity(at(begin + a), at(begin + b), category) for a, b, category in parts]


class FakeWorkforce(MemoryWorkforce):
    """One unit, two teams of ``agents_per_team``, each agent on the same day plan for ``days`` days
    from MONDAY (computed at each read, so a test may change ``days`` or the agents)."""

    def __init__(self, agents_per_team: int = 4, days: int = 5) -> None:
        super().__init__()
        self.add_unit(ManagementUnit("mu1", "Unit One", "UTC", ("ops1",)))
        self.add_team(Team("t1", "Blue", "mu1", ("sup1",)))
        self.add_team(Team("t2", "Green", "mu1", ("sup2",)))
        for t in ("t1", "t2"):
            for i in range(agents_per_team):
                self.add_agent(f"{t}-a{i}", team_id=t, name=f"Agent {t}{i}", email=f"{t}.a{i}@example.com")
        self.people.update({p: Person(p, f"Person {p}", f"{p}@example.com")
                            for p in ("sup1", "sup2", "ops1", "trainer1")})
        self.days = days

    def activities_of(self, agent_id: str) -> Sequence[ScheduledActivity]:
        return [a for d in range(self.days) for a in day_of(d)]


def booking_config(**overrides: object) -> BookingConfig:
    base = BookingConfig(locations={"hq": LocationConfig(name="HQ", rooms={
        "small": RoomConfig(name="Small room", capacity=3),
        "big": RoomConfig(name="Big room", capacity=12, mailbox="big@example.com")})}, trainers=["trainer1"])
    return base.model_copy(update=overrides) if overrides else base
