"""Training-in-surplus benchmark: a simulated week of one 500-agent unit with a seeded call curve.

    REDIS_URL=redis://127.0.0.1:6379/15 python bench/surplus.py [--days 7] [--agents 500] [--seed 7] [--margin 1]

Each day the simulator's curve gets a seeded quiet period (calls x0.55-0.75) and a peak right after
(x1.2-1.4), which the forecast does not know. **Surplus**: the real ``SurplusDesk`` (Redis store,
simulated WFM writer, simulated agents accepting half of the offers) runs every 2 simulated
minutes, and its cheap live watch (``SurplusDesk.watch``) every 30 s in between; training hours
delivered, recalls, and the intervals below the actual requirement that the trainees would have covered.
Those intervals are also reported, separately, when they coincide with a sudden loss the look-ahead
could not see (agents leaving the queue against their published schedule, with no exception, more
than the spare staff the last evaluation projected), with the evidence. **Baseline**: the same
trainings (agent and length) are planned in advance, on the forecast, by the batch planner
(``plan_batch``), written to a fresh simulator, and measured the same way against the same actual
curve. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis

from services.adapters.booking.redis_stores import RedisActivityLog
from services.adapters.redis.surplus import RedisSurplusStore
from services.adapters.redis_keys import BookingKeys
from services.adapters.simulated import SimulatedContactCenter, day_start
from services.adapters.simulated.demand import DemandWindow, ShapedDemand
from services.adapters.simulated.overlay import Overlay
from services.adapters.simulated.responder import SimulatedAnswers
from services.adapters.simulated.wfm import SimulatedWfmWriter
from services.booking.config import SelfPacedItem
from services.booking.demand import SyntheticDemand
from services.clock import ManualClock
from services.config import SimulatorConfig, SurplusConfig
from services.domain.slots import (
    AgentCalendar,
    SlotEngine,
    SlotRequest,
    StateSpan,
    TimeGrid,
    build_problem,
    state_for_category,
)
from services.domain.slots.batch import plan_batch
from services.domain.states import ActivityCategory
from services.domain.surplus import INTERVAL, SurplusFigures, interval_start
from services.surplus import DemandRequirement, SurplusDesk, SurplusTally
from services.surplus.desk import ON_QUEUE

FIRST_DAY = date(2026, 5, 18)
STEP = timedelta(minutes=2)
WATCH = timedelta(seconds=30)  # the desk's live watch between evaluations
HOURS = 10
ITEMS = {"gdpr": SelfPacedItem(name="GDPR refresher", length=timedelta(minutes=45)),
         "kb": SelfPacedItem(name="Knowledge base tour", length=timedelta(minutes=30))}


def windows(seed: int, day: date, start: datetime) -> list[DemandWindow]:
    rng = random.Random(f"{seed}:{day.isoformat()}")
    quiet_at = start + timedelta(minutes=15 * rng.randint(6, 20))
    quiet_end = quiet_at + timedelta(minutes=15 * rng.randint(3, 5))
    peak_end = quiet_end + timedelta(minutes=15 * rng.randint(2, 4))
    return [DemandWindow(quiet_at, quiet_end, rng.uniform(0.55, 0.75)),
            DemandWindow(quiet_end, peak_end, rng.uniform(1.2, 1.4))]


def simulator_config(agents: int, seed: int) -> SimulatorConfig:
    teams = max(1, agents // 50)
    return SimulatorConfig(seed=seed, management_units=1, teams_per_unit=teams, agents_per_team=agents // teams)


async def measure(sim: SimulatedContactCenter, mu_id: str, requirement: DemandRequirement, now: datetime,
                  off_queue: int, tally: SurplusTally) -> None:
    """One look at the floor: below the actual requirement, and would the trainees have covered it?"""
    states = await sim.live_states(mu_id)
    available = sum(1 for s in states.values() if s.routing in ON_QUEUE)
    required = (await requirement.required(mu_id, interval_start(now), 1))[0]
    if available < required:
        tally.below.add(interval_start(now))
        if available + off_queue >= required:
            tally.caused.add(interval_start(now))


async def loss_evidence(sim: SimulatedContactCenter, mu_id: str, now: datetime, before: SurplusFigures,
                        was_on_queue: set[str], trainees: set[str], required: float) -> dict[str, Any]:
    """Why an interval fell short while trainees were out: the agents who left the queue since the last
    evaluation against their published schedule (scheduled on queue now, no approved exception), set
    against the spare staff that evaluation projected for this interval. A loss larger than that spare,
    with the projection at or above the requirement, is one no look-ahead on the published data could see.
    The simulator's scripted scenarios are named as a cross-check only; the verdict uses what the desk reads."""
    states = await sim.live_states(mu_id)
    schedules = await sim.schedules(mu_id, now, now + timedelta(minutes=1))
    excused = {w.agent_id for w in await sim.approved_exceptions(mu_id, now, now + timedelta(seconds=1))}
    lost = [a for a in was_on_queue - trainees if not (a in states and states[a].routing in ON_QUEUE)
            and a in schedules and (act := schedules[a].activity_at(now)) is not None
            and act.category is ActivityCategory.ON_QUEUE_WORK and a not in excused]
    index = int((interval_start(now) - interval_start(before.at)) / INTERVAL)
    # Trainees are not counted: off queue, they cannot cover the minute of a sudden loss.
    projected = before.staff(index) if index < len(before.required) else None
    expected = before.required[index] if index < len(before.required) else None
    spare = projected - expected if projected is not None and expected is not None else None
    roster = await sim.roster(mu_id)
    scripted = [f"{s.kind}: {s.description}" for s in sim.scenarios if s.start <= now < s.end
                and len(set(s.agent_ids) & set(lost)) * 2 >= max(1, len(lost))]
    return {"interval": interval_start(now).isoformat(), "at": now.isoformat(), "required": required,
            "previous_evaluation": before.at.isoformat(), "projected_then": projected, "required_then": expected,
            "lost_against_schedule": len(lost), "excused": len(excused & set(was_on_queue)),
            "lost_by_team": dict(Counter(roster.agents[a].team_id for a in lost if a in roster.agents)),
            "unannounced": spare is not None and spare >= 0 and len(lost) > spare, "scripted": scripted}


async def surplus_day(redis: Redis, prefix: str, config: SimulatorConfig, day: date, seed: int, margin: float
                      ) -> tuple[SurplusTally, list[tuple[str, int]], float, dict[str, Any]]:
    start = day_start(config, day)
    clock = ManualClock(start)
    sim = SimulatedContactCenter.build(config, clock, day)
    mu_id = next(iter(await sim.management_units())).id
    shaped = ShapedDemand(SyntheticDemand(seed=seed), windows(seed, day, start))
    answers = SimulatedAnswers(accept_share=0.5, seed=seed + day.toordinal())
    desk = SurplusDesk(source=sim, requirement=DemandRequirement(sim, shaped),
                       store=RedisSurplusStore(redis, prefix),
                       writer=SimulatedWfmWriter(RedisActivityLog(redis, BookingKeys(prefix)), sim),
                       notifier=answers, config=SurplusConfig(enabled=True, margin=margin), items=dict(ITEMS),
                       clock=clock)
    answers.desk = desk
    tally = SurplusTally()
    watched, evidence, bare = 0, list[dict[str, Any]](), set[datetime]()  # bare: short with no trainee out
    before: SurplusFigures | None = None
    was_on_queue: set[str] = set()
    began = time.perf_counter()
    while clock.now() < start + timedelta(hours=HOURS):
        report = await desk.evaluate(mu_id)
        trainees = await desk.store.trainees(mu_id)
        caused = set(tally.caused)
        tally.record(report, trainees)
        figures, now = report.figures, clock.now()
        if figures is not None and figures.required and figures.available < figures.required[0] and not any(
                t.start <= now < t.end for t in trainees.values()):
            bare.add(interval_start(now))
        if tally.caused - caused and figures is not None and before is not None:
            evidence.append(await loss_evidence(sim, mu_id, now, before, was_on_queue, set(trainees),
                                                figures.required[0]))
        before = figures
        was_on_queue = {a for a, s in (await sim.live_states(mu_id)).items() if s.routing in ON_QUEUE}
        for _ in range(int(STEP / WATCH) - 1):  # the live watch between two evaluations
            clock.advance(WATCH)
            seen = await desk.watch(mu_id)
            if seen is not None:
                watched += 1
                tally.recalls += len(seen.recalled)
                tally.offers += len(seen.offered)
        clock.advance(STEP - WATCH * (int(STEP / WATCH) - 1))
    elapsed = time.perf_counter() - began
    for item in evidence:
        item["short_with_no_trainee_out_too"] = datetime.fromisoformat(item["interval"]) in bare
    return tally, await started_trainings(desk, mu_id), elapsed, {"watch_evaluations": watched, "evidence": evidence}


async def started_trainings(desk: SurplusDesk, mu_id: str) -> list[tuple[str, int]]:
    """(agent, minutes) of every training started that day, from the desk's audit trail."""
    return [(e["agent"], int(ITEMS[e["item"]].length.total_seconds() // 60))
            for e in await desk.store.history(mu_id, 100_000) if e.get("event") == "started"]


async def baseline_day(config: SimulatorConfig, day: date, seed: int, trainings: list[tuple[str, int]]
                       ) -> tuple[SurplusTally, int, float]:
    """The same trainings planned in advance on the forecast by the batch planner, measured on the actual curve."""
    start = day_start(config, day)
    clock = ManualClock(start)
    sim = SimulatedContactCenter.build(config, clock, day)
    mu_id = next(iter(await sim.management_units())).id
    actual = DemandRequirement(sim, ShapedDemand(SyntheticDemand(seed=seed), windows(seed, day, start)))
    await actual.required(mu_id, interval_start(start), 1)  # read before the trainings change the schedule
    roster = await sim.roster(mu_id)
    grid = TimeGrid(interval_start(start), HOURS * 4)
    schedules = await sim.schedules(mu_id, grid.start, grid.end)
    calendars = [AgentCalendar(a.id, a.team_id, [StateSpan(x.start, x.end, state_for_category(x.category))
                                                 for x in schedules[a.id].activities] if a.id in schedules else [],
                               {"q": 1.0}) for a in roster.agents.values()]
    forecast = await SyntheticDemand(seed=seed).demand(mu_id, grid, calendars)
    engine = SlotEngine(build_problem(grid, ("q",), forecast.required, calendars))
    requests = [SlotRequest(f"r{i}", "training", (agent,), minutes, day, day) for i, (agent, minutes)
                in enumerate(trainings)]
    began = time.perf_counter()
    outcomes = plan_batch(engine, requests, refine_time_limit=5.0, explain=False)
    elapsed = time.perf_counter() - began
    spans: list[tuple[datetime, datetime]] = []
    for outcome in outcomes:
        for p in outcome.placements:
            for agent in p.attendees:
                sim.apply_activity(Overlay(f"{p.request_id}|{agent}", agent, p.start, p.end, ActivityCategory.TRAINING))
            spans.append((p.start, p.end))
    tally = SurplusTally()
    for i, (s, e) in enumerate(spans):
        tally.spans[str(i)] = (s, e)
    while clock.now() < start + timedelta(hours=HOURS):
        now = clock.now()
        await measure(sim, mu_id, actual, now, sum(1 for s, e in spans if s <= now < e), tally)
        clock.advance(STEP)
    return tally, sum(1 for o in outcomes if o.placed), elapsed


async def main(days: int, agents: int, seed: int, margin: float) -> dict[str, Any]:
    redis: Redis = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"), decode_responses=True)
    prefix = f"bench-surplus-{uuid.uuid4().hex[:8]}"
    config = simulator_config(agents, seed)
    out: dict[str, Any] = {"bench": "surplus", "days": days, "agents": agents, "seed": seed,
                           "evaluate_every_s": STEP.total_seconds(), "watch_every_s": WATCH.total_seconds(),
                           "hours_per_day": HOURS, "margin": margin}
    totals = {"surplus": {"training_hours": 0.0, "recalls": 0, "offers": 0, "intervals_below": 0,
                          "intervals_below_because_of_training": 0, "seconds": 0.0,
                          "watch_evaluations": 0},
              "baseline_batch": {"training_hours": 0.0, "placed": 0, "requested": 0, "intervals_below": 0,
                                 "intervals_below_because_of_training": 0, "seconds": 0.0}}
    unannounced: list[dict[str, Any]] = []
    try:
        for n in range(days):
            day = FIRST_DAY + timedelta(days=n)
            tally, trainings, seconds, seen = await surplus_day(redis, f"{prefix}:{n}", config, day, seed, margin)
            end = day_start(config, day) + timedelta(hours=HOURS)
            s = totals["surplus"]
            s["training_hours"] += tally.minutes(end) / 60
            s["recalls"] += tally.recalls
            s["offers"] += tally.offers
            s["intervals_below"] += len(tally.below)
            s["intervals_below_because_of_training"] += len(tally.caused)
            s["seconds"] += seconds
            s["watch_evaluations"] += seen["watch_evaluations"]
            unannounced += seen["evidence"]
            base, placed, planning = await baseline_day(config, day, seed, trainings)
            b = totals["baseline_batch"]
            b["training_hours"] += base.minutes(end) / 60
            b["placed"] += placed
            b["requested"] += len(trainings)
            b["intervals_below"] += len(base.below)
            b["intervals_below_because_of_training"] += len(base.caused)
            b["seconds"] += planning
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
    for figures in totals.values():
        for key, value in figures.items():
            if isinstance(value, float):
                figures[key] = round(value, 2)
    out.update(totals)
    # Not a different metric: the intervals counted above as below because of training, of which those
    # that coincide with a sudden loss no look-ahead on the published data could see ("given the
    # look-ahead is right", issue 14), with the evidence of each.
    out["surplus_below_because_of_training_with_an_unannounced_loss"] = {
        "intervals": sum(1 for e in unannounced if e["unannounced"]), "evidence": unannounced}
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--margin", type=float, default=SurplusConfig().margin,
                        help="[surplus] margin: the agents kept spare over the requirement (the risk reserve)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.days, args.agents, args.seed, args.margin))))
