"""Fixtures for the Genesys adapter tests: a populated fake Genesys, clients and sources pointed at it."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from services.adapters.genesys.auth import ClientCredentialsAuth
from services.adapters.genesys.backoff import Backoff
from services.adapters.genesys.client import ClientOptions, GenesysClient
from services.adapters.genesys.notifications import HubOptions
from services.adapters.genesys.source import GenesysSource, SourceOptions
from services.clock import ManualClock
from services.config import OrgConfig, parse_org_config
from testing.fake_genesys import FakeActivity, FakeGenesys

START = datetime(2026, 5, 18, 8, 0, tzinfo=UTC)
UNITS = {"mu-a": ("team-a1", "team-a2"), "mu-b": ("team-b1", "team-b2")}
AGENTS_PER_TEAM = 3


def agents_of(mu_id: str) -> list[str]:
    return [f"agent-{team[5:]}-{i}" for team in UNITS[mu_id] for i in range(1, AGENTS_PER_TEAM + 1)]


def day_plan(day: datetime) -> list[FakeActivity]:
    """06:00-12:00 on queue, 12:00-12:30 meal, 12:30-15:00 on queue (UTC)."""
    base = day.replace(hour=0, minute=0, second=0, microsecond=0)
    return [FakeActivity(base + timedelta(hours=6), 360, "ac-onq"),
            FakeActivity(base + timedelta(hours=12), 30, "ac-meal"),
            FakeActivity(base + timedelta(hours=12, minutes=30), 150, "ac-onq")]


def populate(fake: FakeGenesys) -> None:
    fake.add_business_unit("bu-1", "Contact centre", "Europe/Berlin")
    for mu_id, teams in UNITS.items():
        fake.add_unit(mu_id, "bu-1", f"Unit {mu_id[-1].upper()}")
        for team in teams:
            fake.add_team(team, f"Team {team[5:].upper()}")
            supervisor = f"sup-{team[5:]}"
            fake.add_user(supervisor, "", name=f"Supervisor {team[5:].upper()}", team_id=None)
            for i in range(1, AGENTS_PER_TEAM + 1):
                agent = f"agent-{team[5:]}-{i}"
                fake.add_user(agent, mu_id, name=f"Agent {team[5:].upper()}-{i}", team_id=team, manager_id=supervisor,
                              presence="On Queue", routing="IDLE")
                fake.set_activities(agent, day_plan(START))


ORG_TOML: dict[str, Any] = {
    "people": {"sup-a1": {"name": "Sam Supervisor", "email": "sam@example.com"},
               "ops-a": {"name": "Olga Ops", "email": "olga@example.com"}},
    "management_units": {"mu-a": {"ops_managers": ["ops-a"], "teams": {"team-a1": {"supervisors": ["sup-a1"]}}}},
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def org_config() -> OrgConfig:
    return parse_org_config(ORG_TOML)


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeGenesys]:
    server = FakeGenesys(clock)
    await server.start()
    populate(server)
    try:
        yield server
    finally:
        await server.stop()


class Sleeps:
    """The injected sleep: records every requested wait, waits at most ``cap`` real seconds. A wait longer
    than ``forever_over`` never ends (the test drives that work itself, e.g. ``maintain()`` for the hourly
    upkeep), so a capped hour cannot turn into a loop that runs twenty times a second."""

    def __init__(self, cap: float = 0.0, forever_over: float = math.inf) -> None:
        self.calls: list[float] = []
        self.cap, self.forever_over = cap, forever_over

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if seconds > self.forever_over:
            await asyncio.Event().wait()  # cancelled when the task that waits is closed
        await asyncio.sleep(min(seconds, self.cap))


class Monotonic:
    """An injectable monotonic clock for token lifetimes and socket silence: it moves only when told."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


def make_client(fake: FakeGenesys, *, sleep: Callable[[float], Awaitable[None]] | None = None,
                options: ClientOptions | None = None, monotonic: Callable[[], float] = time.monotonic,
                secret: str | None = None) -> GenesysClient:
    auth = ClientCredentialsAuth(fake.client_id, SecretStr(secret or fake.client_secret), fake.login_url,
                                 monotonic=monotonic)
    return GenesysClient(fake.api_url, auth, options=options or ClientOptions(timeout=5.0),
                         sleep=sleep or Sleeps())


FAST_HUB = HubOptions(ping_every=0.2, silence_timeout=1.0, open_timeout=2.0,
                      reconnect_backoff=Backoff(base=0.02, cap=0.1))


def make_source(fake: FakeGenesys, clock: ManualClock, config: OrgConfig | None = None, *,
                hub: HubOptions = FAST_HUB, monotonic: Callable[[], float] | None = None,
                **options: Any) -> GenesysSource:
    """A source whose socket silence is measured on ``monotonic`` (by default one that stands still, so a
    slow machine never looks like a silent socket) and whose hourly upkeep waits forever. The client's
    retry back-offs return at once (they are recorded, and bounded by max_attempts): while Genesys is
    down, every tick's reconciliation fails through them, and real waits there made nothing more true."""
    client = make_client(fake, sleep=Sleeps(), options=ClientOptions(timeout=5.0, max_attempts=3))
    settings = SourceOptions(hub=hub, maintenance_every=3600.0, start_timeout=5.0, **options)
    return GenesysSource(client, config=config or OrgConfig(), clock=clock, options=settings,
                         sleep=Sleeps(cap=0.05, forever_over=60.0), monotonic=monotonic or Monotonic())


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Wait for asynchronous I/O to settle (not for time to pass: the domain clock is manual)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@pytest.fixture
def monotonic() -> Monotonic:
    return Monotonic()


@pytest.fixture
async def source(fake: FakeGenesys, clock: ManualClock, monotonic: Monotonic) -> AsyncIterator[GenesysSource]:
    """A started adapter on the fake (structure loaded, sockets subscribed), closed afterwards."""
    src = make_source(fake, clock, monotonic=monotonic)
    await src.start()
    try:
        yield src
    finally:
        await src.close()
