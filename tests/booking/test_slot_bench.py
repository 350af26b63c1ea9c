"""The benchmark's pieces: Erlang C, the seeded generator (and its planted solution), the checker, batch mode."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from bench.slot_search import check, main, periods_of
from services.domain.slots import Outcome, Placement, SlotEngine
from services.domain.slots.batch import plan_batch
from services.domain.slots.erlang import erlang_c, required_agents, service_level
from testing.slots_synthetic import generate


def test_erlang_c_matches_the_published_vector():
    load = 100 / 1800 * 180  # 100 calls per 30 minutes, 3-minute handle time
    assert erlang_c(14, load) == pytest.approx(0.1741319, abs=1e-6)
    assert service_level(14, load, 180, 20) == pytest.approx(0.8883500, abs=1e-6)
    assert required_agents(load, 180, 20, 0.8) == 14
    assert service_level(10, load, 180, 20) == 0.0  # unstable queue


@pytest.fixture(scope="module")
def small():
    return generate("S", 4)


def test_generator_is_deterministic(small):
    assert generate("S", 4).digest() == small.digest()
    assert generate("S", 5).digest() != small.digest()


def test_generator_calibration_and_requirements(small):
    p, d = small.problem, small.demand
    assert small.stats["sched_over_req"] == pytest.approx(1.06, abs=0.01)
    assert 0.05 <= small.stats["understaffed_share"] <= 0.2  # peaks left short
    load = d.calls * d.aht_s[:, None] / 900
    np.testing.assert_array_equal(required_agents(load, d.aht_s[:, None], d.target_s[:, None], d.goal[:, None]),
                                  p.required)


def planted_outcomes(inst) -> list[Outcome]:
    requests = {r.id: r for r in inst.requests}
    out = []
    for rid, spots in inst.planted.items():
        r = requests[rid]
        d = -(-r.duration_minutes // 15)
        out.append(Outcome(rid, tuple(
            Placement(rid, occ, 0, s, d, inst.grid.time_of(s), inst.grid.time_of(s + d),
                      tuple(a for a in r.attendees if a != r.facilitator), r.facilitator, room, 0.0)
            for occ, (s, room) in enumerate(spots))))
    return out


def test_planted_solution_is_feasible_and_complete(small):
    report = check(small, planted_outcomes(small))
    assert report["hard_violations"] == 0, report["violations_sample"]
    assert report["placed"] == sum(len(periods_of(r)) for r in small.requests if r.id not in small.injected)


def test_checker_catches_a_double_booking(small):
    outcomes = planted_outcomes(small)
    first, second = [o for o in outcomes if len(o.placements) == 1 and o.placements[0].room_id][:2]
    taken = first.placements[0]
    clash = replace(second.placements[0], start_index=taken.start_index, room_id=taken.room_id)
    others = [o for o in outcomes if o.request_id != second.request_id]
    report = check(small, [*others, Outcome(second.request_id, (clash,))])
    assert report["hard_violations"] >= 1
    assert any("double-booked" in v or "busy" in v or "not available" in v for v in report["violations_sample"])


def test_online_mode_on_the_small_instance(small):
    engine = SlotEngine(small.problem)
    outcomes = [engine.book(r) for r in small.requests]
    report = check(small, outcomes)
    assert report["hard_violations"] == 0
    assert report["injected_reason_accuracy"] == 1.0
    assert report["understaffing"] == pytest.approx(engine.added_understaffing(), abs=1e-6)


def test_batch_mode_places_everything_placeable(small):
    engine = SlotEngine(small.problem)
    outcomes = plan_batch(engine, small.requests)
    report = check(small, outcomes)
    assert report["hard_violations"] == 0
    assert report["placed"] == sum(len(periods_of(r)) for r in small.requests if r.id not in small.injected)
    assert all(o.reason == small.injected[o.request_id] for o in outcomes if o.request_id in small.injected)
    again = plan_batch(SlotEngine(small.problem), small.requests)
    assert [o.placements for o in again] == [o.placements for o in outcomes]  # deterministic
    assert all(o.explanations for o in outcomes if o.placed)


@pytest.mark.slow
def test_bench_script_prints_one_json_line_with_the_optimum(capsys):
    report = main(["--size", "S", "--mode", "batch", "--seed", "0", "--time-limit", "50"])
    line = capsys.readouterr().out.strip()
    assert json.loads(line) == report
    assert report["hard_violations"] == 0
    assert report["placed"] >= report["placed_optimal"] - 1
    assert report["understaffing"] >= report["understaffing_optimal"] - 1e-6 or report["placed"] < \
        report["placed_optimal"]
