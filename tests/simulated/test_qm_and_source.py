"""The simulated QM system and the WorkforceSource surface: idempotent coaching, clear errors, filtering."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from services.adapters.simulated import SimulatedContactCenter, SimulatedQM, UnknownManagementUnit
from services.clock import ManualClock
from services.config import SimulatorConfig
from services.ports import CoachingPort, CoachingRequest, WorkforceSource
from tests.simulated.conftest import DAY, Sim


def _request(key: str, agent_id: str, start: datetime, **changes: object) -> CoachingRequest:
    fields: dict[str, object] = {
        "idempotency_key": key, "mu_id": "mu-1", "agent_id": agent_id, "facilitator_id": "mu-1-t1-sup1",
        "name": "Adherence coaching", "description": "Away 35 min during on-queue work", "start": start,
        "length_minutes": 15}
    fields.update(changes)
    return CoachingRequest(**fields)  # type: ignore[arg-type]


def test_the_simulator_satisfies_both_ports(sim: Sim) -> None:
    """Checked by mypy (structural typing); at run time, that the methods exist on the object."""
    source: WorkforceSource = sim.cc
    coaching: CoachingPort = sim.cc
    qm: CoachingPort = sim.cc.qm
    for name in ("management_units", "roster", "schedules", "live_states", "approved_exceptions",
                 "on_schedule_changed"):
        assert callable(getattr(source, name))
    assert callable(coaching.create_coaching_appointment) and callable(qm.create_coaching_appointment)


async def test_coaching_is_recorded_once_per_idempotency_key(sim: Sim) -> None:
    cc = sim.cc
    agent = "mu-1-t1-a001"
    sim.at(cc.start + timedelta(hours=2))
    start = cc.start + timedelta(days=1, seconds=42, microseconds=7)
    first = await cc.create_coaching_appointment(_request("incident-1:tier-3", agent, start))
    sim.at(cc.start + timedelta(hours=3))
    again = await cc.create_coaching_appointment(_request("incident-1:tier-3", agent, start, name="changed"))
    other = await cc.create_coaching_appointment(_request("incident-2:tier-3", agent, start))
    assert first == again != other
    booked = cc.coaching_appointments
    assert [a.id for a in booked] == [first, other]
    assert booked[0].name == "Adherence coaching"  # the retry recorded nothing
    assert booked[0].created_at == cc.start + timedelta(hours=2)
    assert booked[0].start == cc.start + timedelta(days=1)  # rounded down to the minute, as Genesys does
    assert (booked[0].agent_id, booked[0].facilitator_id, booked[0].length_minutes) == (agent, "mu-1-t1-sup1", 15)
    assert booked[0].status == "Scheduled"


async def test_the_same_key_gives_the_same_id_in_a_fresh_qm_system() -> None:
    clock = ManualClock(datetime(2026, 5, 18, 9, tzinfo=UTC))
    start = datetime(2026, 5, 19, 9, tzinfo=UTC)
    one = await SimulatedQM(clock).create_coaching_appointment(_request("k", "a", start))
    two = await SimulatedQM(clock).create_coaching_appointment(_request("k", "a", start))
    assert one == two


@pytest.mark.parametrize(("changes", "message"), [
    ({"agent_id": "nobody"}, "unknown attendee"),
    ({"length_minutes": 0}, "at least 1 minute"),
    ({"start": datetime(2026, 5, 19, 9)}, "timezone-aware"),
    ({"idempotency_key": ""}, "idempotency_key"),
])
async def test_bad_coaching_requests_are_refused_and_record_nothing(sim: Sim, changes: dict[str, object],
                                                                    message: str) -> None:
    request = dataclasses.replace(_request("bad", "mu-1-t1-a001", sim.cc.start + timedelta(days=1)),
                                  **changes)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        await sim.cc.create_coaching_appointment(request)
    assert sim.cc.coaching_appointments == ()


async def test_an_unknown_unit_is_a_clear_error(sim: Sim) -> None:
    with pytest.raises(UnknownManagementUnit, match=r"unknown management unit 'mu-9'.*mu-1, mu-2"):
        await sim.cc.roster("mu-9")
    with pytest.raises(UnknownManagementUnit):
        await sim.cc.live_states("mu-9")
    with pytest.raises(LookupError, match="unknown agent"):
        sim.cc.state_at("nobody", sim.cc.start)


async def test_schedules_cover_only_agents_whose_shift_overlaps_the_range(sim: Sim) -> None:
    cc = sim.cc
    roster = await cc.roster("mu-1")
    assert await cc.schedules("mu-1", cc.start - timedelta(hours=3), cc.start) == {}
    everyone = await cc.schedules("mu-1", cc.start, cc.start + timedelta(hours=12))
    assert set(everyone) == set(roster.agents)
    early = await cc.schedules("mu-1", cc.start, cc.start + timedelta(minutes=16))
    first_starts = {a: s.activities[0].start for a, s in everyone.items()}
    assert set(early) == {a for a, t in first_starts.items() if t < cc.start + timedelta(minutes=16)}
    assert 0 < len(early) < len(everyone)
    with pytest.raises(ValueError, match="empty"):
        await cc.schedules("mu-1", cc.start, cc.start)


async def test_approved_exceptions_are_filtered_by_unit_and_range(sim: Sim) -> None:
    cc = sim.cc
    day = (cc.start, cc.start + timedelta(hours=24))
    windows = [w for mu in ("mu-1", "mu-2") for w in await cc.approved_exceptions(mu, *day)]
    assert len(windows) == 1
    window = windows[0]
    assert await cc.approved_exceptions(cc.agent(window.agent_id).mu_id, cc.start, window.start) == []
    assert await cc.approved_exceptions(cc.agent(window.agent_id).mu_id, window.end, day[1]) == []
    assert window.source == "wfm" and window.reason


def test_the_report_interval_must_be_whole_seconds() -> None:
    clock = ManualClock(datetime(2026, 5, 18, 7, 45, tzinfo=UTC))
    for bad in (timedelta(0), timedelta(milliseconds=1500)):
        with pytest.raises(ValueError, match="whole number of seconds"):
            SimulatedContactCenter.build(SimulatorConfig(), clock, DAY, report_interval=bad)


async def test_a_shorter_report_interval_keeps_observed_at_fresher(sim: Sim) -> None:
    clock = ManualClock(sim.cc.start + timedelta(hours=3, seconds=17))
    cc = SimulatedContactCenter.build(SimulatorConfig(), clock, DAY, report_interval=timedelta(seconds=10))
    states = await cc.live_states("mu-1")
    assert all(clock.now() - s.observed_at < timedelta(seconds=10) for s in states.values())
    default = await sim.cc.live_states("mu-1")  # the default interval: two minutes
    assert all(sim.clock.now() - s.observed_at < timedelta(minutes=2) for s in default.values())
