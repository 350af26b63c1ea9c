"""A sudden loss between evaluations (the simulator's scripted team outage, announced by nothing) is
acted on by the desk's cheap live watch at once, not at the next evaluation; the watch does nothing
while the floor holds, with no trainee out, or once the recalled trainees are due back."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from redis.asyncio import Redis

from presentation.blocks.surplus import surplus_status
from services.adapters.simulated.scenarios import ScenarioKind
from services.surplus import SurplusDesk
from tests.slack.blockkit import assert_valid_blocks
from tests.surplus.rig import Rig, build_rig

# Quiet from 08:15 to 10:15 (x0.6): trainees are out when the outage team drops OFFLINE at 09:15.
QUIET = (timedelta(minutes=30), timedelta(hours=2, minutes=30), 0.6)


async def _trainees_out_before_the_outage(rig: Rig, redis: Redis, prefix: str) -> tuple[SurplusDesk, set[str]]:
    desk = rig.desk(redis, prefix)
    outage = rig.sim.scenario(ScenarioKind.OUTAGE)
    rig.clock.set(rig.start + timedelta(minutes=60))
    while rig.clock.now() < outage.start - timedelta(minutes=1):
        for offer in (await desk.evaluate(rig.mu_id)).offered:
            if offer.agent_id not in outage.agent_ids:  # the outage team is busy with its scenario
                await desk.start(rig.mu_id, offer.offer_id, "U")
        rig.clock.advance(timedelta(minutes=2))
    return desk, set(await desk.store.trainees(rig.mu_id))


async def test_a_sudden_loss_between_evaluations_recalls_at_once(redis_client: Redis, redis_prefix: str) -> None:
    rig = build_rig(redis_client, redis_prefix, [QUIET])
    outage = rig.sim.scenario(ScenarioKind.OUTAGE)
    desk, trainees = await _trainees_out_before_the_outage(rig, redis_client, redis_prefix)
    assert len(trainees) >= 4
    rig.clock.set(outage.start - timedelta(seconds=40))
    calm = await desk.evaluate(rig.mu_id)  # the last evaluation before the outage: all is well
    assert calm.figures is not None and not calm.recalled and calm.figures.shortfall == 0
    rig.clock.advance(timedelta(seconds=20))
    assert await desk.watch(rig.mu_id) is None  # the floor holds: no evaluation, no offer
    assert len(rig.notifier.recalls) == 0
    rig.clock.set(outage.start + timedelta(seconds=10))  # 30 s after the evaluation, long before the next
    report = await desk.watch(rig.mu_id)
    assert report is not None and report.figures is not None
    assert report.recalled and set(report.recalled) <= trainees
    assert len(report.recalled) == min(len(trainees), report.figures.shortfall)
    # /adherence surplus says why a recall came between evaluations.
    status = surplus_status(await desk.status())
    assert_valid_blocks(status.blocks)
    assert "sudden loss between evaluations" in json.dumps(status.blocks)
    back_by = rig.clock.now() + rig.config.surplus.recall_grace
    assert {t.agent_id for t, b in rig.notifier.recalls if b == back_by} == set(report.recalled)
    # Recalled trainees due back within the grace count as staff: the next look recalls nobody twice.
    rig.clock.advance(timedelta(seconds=10))
    assert await desk.watch(rig.mu_id) is None


async def test_the_watch_leaves_a_floor_without_trainees_to_the_evaluation(
        redis_client: Redis, redis_prefix: str) -> None:
    rig = build_rig(redis_client, redis_prefix, [QUIET])
    outage = rig.sim.scenario(ScenarioKind.OUTAGE)
    desk = rig.desk(redis_client, redis_prefix)
    rig.clock.set(outage.start + timedelta(seconds=10))
    assert await desk.watch(rig.mu_id) is None  # short on queue, but nobody to recall
    assert await desk.store.figures(rig.mu_id) == {}  # and no evaluation ran
    assert rig.notifier.offers == [] and rig.notifier.recalls == []


async def test_the_watch_and_the_minute_evaluation_at_once_recall_each_agent_once(
        redis_client: Redis, redis_prefix: str) -> None:
    rig = build_rig(redis_client, redis_prefix, [QUIET])
    outage = rig.sim.scenario(ScenarioKind.OUTAGE)
    desk, trainees = await _trainees_out_before_the_outage(rig, redis_client, redis_prefix)
    assert len(trainees) >= 4
    rig.clock.set(outage.start + timedelta(seconds=10))
    evaluated, watched = await asyncio.gather(desk.evaluate(rig.mu_id), desk.watch(rig.mu_id))
    recalled = [t.agent_id for t, _ in rig.notifier.recalls]
    assert evaluated.recalled and len(recalled) == len(set(recalled)) == len(evaluated.recalled)
    assert watched is None or not watched.recalled
