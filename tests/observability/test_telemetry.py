"""The recording helpers of services/telemetry.py on a fresh registry."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from services import log_context, telemetry
from services.telemetry import Telemetry
from tests.observability.scrape import value


@pytest.fixture
def metrics() -> Iterator[Telemetry]:
    yield telemetry.install()
    telemetry.install()


@dataclass
class Backlog:
    count: int
    oldest_age: timedelta | None


@pytest.mark.parametrize(("reported", "parts"), [
    (0, (0, None)),
    (7, (7, None)),
    ((3, 12.5), (3, 12.5)),
    ({"count": 2, "oldest_age_seconds": 4}, (2, 4.0)),
    (Backlog(5, timedelta(minutes=2)), (5, 120.0)),
    (Backlog(0, None), (0, None)),
    (object(), (0, None)),
])
def test_backlog_parts_reads_every_shape_a_store_may_report(reported: object, parts: tuple[int, float | None]) -> None:
    assert telemetry.backlog_parts(reported) == parts


@pytest.mark.parametrize(("path", "route"), [
    ("/api/v2/users/5f3c1b2a-9d1e-4c1b-8f00-0a1b2c3d4e5f/presences", "/api/v2/users/{id}/presences"),
    ("/api/v2/workforcemanagement/managementunits/mu-1/users",
     "/api/v2/workforcemanagement/managementunits/mu-1/users"),  # short ids stay (few distinct values)
    ("/api/v2/workforcemanagement/businessunits/bu-77a1c2/weeks/2026-05-18/schedules",
     "/api/v2/workforcemanagement/businessunits/{id}/weeks/{id}/schedules"),
    ("/api/v2/coaching/appointments/12345", "/api/v2/coaching/appointments/{id}"),
])
def test_ids_in_routes_are_folded(path: str, route: str) -> None:
    assert telemetry.route_of(path) == route


def test_a_delivery_step_counts_success_or_failure(metrics: Telemetry) -> None:
    with telemetry.delivery("email"):
        pass
    with pytest.raises(ConnectionError), telemetry.delivery("email"):
        raise ConnectionError("smtp down")
    assert value(metrics, "adherence_deliveries_total", channel="email") == 1
    assert value(metrics, "adherence_delivery_failures_total", channel="email") == 1


def test_a_fresh_registry_starts_empty_and_names_every_series() -> None:
    fresh = Telemetry()
    assert value(fresh, "adherence_tiers_fired_total", mu_id="mu-1", action="email") is None
    names = fresh.names()
    assert {"adherence_tiers_fired_total", "adherence_tick_duration_seconds_bucket",
            "adherence_outbox_backlog", "adherence_genesys_channels_connected"} <= names


def test_log_context_bound_restores_what_was_there() -> None:
    log_context.focus(request_id="r1", mu_id="mu-1")
    with log_context.bound(incident_id="i1", agent_id="a1"):
        assert log_context.current() == {"request_id": "r1", "incident_id": "i1", "agent_id": "a1"}
    assert log_context.current() == {"request_id": "r1", "mu_id": "mu-1"}
    log_context.focus(request_id=None)
    assert log_context.current() == {}
    with pytest.raises(TypeError, match="unknown log context field"):
        log_context.focus(team_id="t1")
