"""The surplus desk on the simulator with a ManualClock and the real Redis: offers never exceed the
surplus, two replicas accepting at once start only the seats there are, a peak recalls the trainees
with the least time left, and the monitor sees delivered training as scheduled until the recall."""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta

from redis.asyncio import Redis

from services.adapters.redis.store import RedisStore
from services.domain.escalation import EventKind
from services.domain.states import RoutingStatus
from services.domain.surplus import interval_start
from services.monitor import Monitor
from tests.conftest import TEST_REDIS_URL
from tests.surplus.rig import ITEMS, build_rig

QUIET = (timedelta(hours=2), timedelta(hours=2, minutes=45), 0.6)
PEAK = (timedelta(hours=2, minutes=45), timedelta(hours=3, minutes=30), 1.4)
IN_QUIET = timedelta(hours=2)  # at the interval's start the 45-minute item spans it and the next two, all quiet


async def test_a_surplus_over_three_intervals_offers_to_no_more_agents_than_the_surplus(
        redis_client: Redis, redis_prefix: str) -> None:
    rig = build_rig(redis_client, redis_prefix, [QUIET, PEAK])
    desk = rig.desk(redis_client, redis_prefix)
    rig.clock.set(rig.start + IN_QUIET)
    report = await desk.evaluate(rig.mu_id)
    figures = report.figures
    assert figures is not None and len(figures.required) == 3
    assert figures.free_seats > 0
    assert 0 < len(report.offered) <= figures.free_seats
    states = await rig.sim.live_states(rig.mu_id)
    assert all(states[o.agent_id].routing is RoutingStatus.IDLE for o in report.offered)
    assert len({o.agent_id for o in report.offered}) == len(report.offered)
    assert rig.notifier.offers == list(report.offered)  # one DM per offer
    # Unanswered offers hold their seats: a second look a few seconds later offers nothing more than the rest.
    rig.clock.advance(timedelta(seconds=15))
    again = await desk.evaluate(rig.mu_id)
    assert again.figures is not None
    # (the 45-minute item now reaches the peak: only the 30-minute one, over three intervals, has seats)
    assert again.figures.free_seats == 0 and not again.offered
    assert len(report.offered) + len(again.offered) <= again.figures.seats_over(3)
    # Without the quiet period the same moment has less surplus, and fewer offers.
    plain = build_rig(redis_client, redis_prefix + ":plain", [])
    plain.clock.set(plain.start + IN_QUIET)
    unshaped = await plain.desk(redis_client, redis_prefix + ":plain").evaluate(plain.mu_id)
    assert unshaped.figures is not None and unshaped.figures.free_seats < figures.free_seats
    assert len(unshaped.offered) <= unshaped.figures.free_seats < len(report.offered)


async def test_two_replicas_accepting_at_once_start_only_the_surplus_count(
        redis_client: Redis, redis_prefix: str) -> None:
    rig = build_rig(redis_client, redis_prefix, [QUIET, PEAK])
    other_client: Redis = Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    try:
        one, two = rig.desk(redis_client, redis_prefix), rig.desk(other_client, redis_prefix)
        rig.clock.set(rig.start + IN_QUIET)
        offers = (await one.evaluate(rig.mu_id)).offered
        assert len(offers) >= 4
        # Before the agents answer, the surplus of the interval shrinks to 2 (the next figure, e.g. a
        # queue filled up): of all the Starts clicked at once on two replicas, only 2 may win.
        for item in ITEMS:  # each item's seat count (the surplus over the intervals it spans)
            await one.store.set_seats(rig.mu_id, interval_start(rig.clock.now()), 2, item)
        decisions = await asyncio.gather(*[(one if i % 2 else two).start(rig.mu_id, o.offer_id, f"U{i}")
                                           for i, o in enumerate(offers)])
        started = [d for d in decisions if d.outcome == "started"]
        assert len(started) == 2
        assert {d.outcome for d in decisions} == {"started", "full"}
        assert set(await one.store.trainees(rig.mu_id)) == {d.offer.agent_id for d in started if d.offer}
        written = await rig.writer.activities(rig.mu_id, rig.start, rig.start + timedelta(days=1))
        assert sorted(a.attendees[0] for a in written) == sorted(d.offer.agent_id for d in started if d.offer)
        # A replayed Start on either replica changes nothing and says what happened first.
        replay = await two.start(rig.mu_id, started[0].offer.offer_id if started[0].offer else "", "U9")
        assert replay.repeated and replay.outcome == "started"
    finally:
        await other_client.aclose()


async def test_a_peak_recalls_the_agents_with_the_least_time_left(redis_client: Redis, redis_prefix: str) -> None:
    # The look-ahead keeps every training out of the known peak; what needs trainees back is a surprise:
    # agents pulled into a meeting over the next interval at short notice.
    rig = build_rig(redis_client, redis_prefix, [QUIET, PEAK])
    desk = rig.desk(redis_client, redis_prefix)
    rig.clock.set(rig.start + IN_QUIET)
    first = (await desk.evaluate(rig.mu_id)).offered
    for offer in first:
        assert (await desk.start(rig.mu_id, offer.offer_id, "U")).outcome == "started"
    rig.clock.advance(timedelta(minutes=5))  # later starters have more time left
    later = (await desk.evaluate(rig.mu_id)).offered
    for offer in later:
        await desk.start(rig.mu_id, offer.offer_id, "U")
    trainees = await desk.store.trainees(rig.mu_id)
    rig.clock.set(rig.start + IN_QUIET + timedelta(minutes=15))
    calm = await desk.evaluate(rig.mu_id)  # the next interval (2:30) still has room
    assert calm.figures is not None and not calm.recalled
    next_start = interval_start(rig.clock.now()) + timedelta(minutes=15)
    out_then = {a for a, t in trainees.items() if t.end > next_start}  # the others are back by then anyway
    back_by_then = len(trainees) - len(out_then)
    assert len(out_then) >= 2
    slack = math.floor(calm.figures.staff(1) - calm.figures.required[1])
    await rig.short_notice_meeting(set(trainees), slack + back_by_then + len(out_then) // 2)
    rig.clock.advance(timedelta(seconds=30))
    report = await desk.evaluate(rig.mu_id)
    assert report.figures is not None and report.recalled
    assert set(report.recalled) <= out_then  # nobody whose training ends before the short interval
    assert 0 < len(report.recalled) < len(out_then)  # only as many as service needs back
    now = rig.clock.now()
    by_time_left = sorted(out_then, key=lambda a: (trainees[a].end - now, a))
    assert list(report.recalled) == by_time_left[:len(report.recalled)]
    kept = out_then - set(report.recalled)
    assert all(trainees[k].end >= trainees[r].end for k in kept for r in report.recalled)
    back_by = now + rig.config.surplus.recall_grace
    assert [(t.agent_id, b) for t, b in rig.notifier.recalls] == [(a, back_by) for a in report.recalled]
    # The WFM activity now ends at the grace period's end.
    written = {a.key: a for a in await rig.writer.activities(rig.mu_id, rig.start, rig.start + timedelta(days=1))}
    for agent in report.recalled:
        key = trainees[agent].activity_key
        assert key not in written and written[f"{key}#r"].end == back_by


async def test_the_monitor_sees_delivered_training_as_scheduled_until_the_recall_grace_ends(
        redis_client: Redis, redis_prefix: str) -> None:
    rig = build_rig(redis_client, redis_prefix, [QUIET, PEAK])
    desk = rig.desk(redis_client, redis_prefix)
    monitor = Monitor(source=rig.sim, store=RedisStore(redis_client, redis_prefix), config=rig.config,
                      clock=rig.clock, replica_id="surplus")
    rig.clock.set(rig.start + IN_QUIET - timedelta(minutes=1))
    await monitor.tick()
    rig.clock.set(rig.start + IN_QUIET)
    offers = (await desk.evaluate(rig.mu_id)).offered
    assert len(offers) >= 2
    stays, returns = offers[0].agent_id, offers[1].agent_id
    for offer in offers[:2]:
        await desk.start(rig.mu_id, offer.offer_id, "U")
    rig.sim.ignore_recalls([stays])  # this agent will not come back when recalled
    opened: dict[str, list[object]] = {}
    recall_at = rig.start + IN_QUIET + timedelta(minutes=15, seconds=30)
    back_by = None
    while rig.clock.now() < recall_at + timedelta(minutes=8):
        if back_by is None and rig.clock.now() >= recall_at:
            await rig.short_notice_meeting({stays, returns}, 1000)  # service needs everyone back
            report = await desk.evaluate(rig.mu_id)
            assert stays in report.recalled and returns in report.recalled
            back_by = rig.clock.now() + rig.config.surplus.recall_grace
        for event in (await monitor.tick()).events:
            if event.kind is EventKind.OPENED:
                opened.setdefault(event.incident.agent_id, []).append(event.at)
        rig.clock.advance(timedelta(seconds=15))
    assert back_by is not None
    assert returns not in opened  # in training as scheduled, then back on queue in time
    assert stays in opened and all(when >= back_by for when in opened[stays])  # type: ignore[operator]
