"""Timer-driven tiers: the due-time index makes the monitor evaluate an agent at the instant something
is due (a tier, the end of an acknowledgement hold, a schedule boundary), not at the next tick; on
the real Redis and in memory, with two replicas and across a restart. The clock is a ManualClock."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from services.domain.escalation import EventKind, acknowledge
from services.domain.model import ScheduledActivity
from services.domain.states import ActivityCategory, Presence, RoutingStatus
from services.due_waker import DueWaker
from services.monitor import Monitor
from services.ports import TrackChange
from tests.monitor.test_monitor_on_redis import T0, TICK, Rig
from tests.store_backends import StoreBackend

OUT_AT = T0 - timedelta(seconds=7)  # between two ticks, so every threshold falls between two ticks too
CARD_AT = OUT_AT + timedelta(minutes=5)  # 09:04:53
EMAIL_AT = OUT_AT + timedelta(minutes=15)


async def live(rig: Rig, until: datetime, *monitors: Monitor) -> None:
    """Ticks every 15 s up to ``until``; between two ticks the clock stops at each due instant the index
    holds and the monitors evaluate what is due there (what the waker does); the outbox is drained at once."""
    monitors = monitors or (rig.monitor,)
    while True:
        for report in await asyncio.gather(*(m.tick() for m in monitors)):
            rig.events += [(e.kind, e.tier.action.value if e.tier else "", e.at) for e in report.events]
        await rig.dispatcher.drain(["mu-1"])
        following = next_tick(rig.clock.now())
        await due_between(rig, min(following, until), *monitors)
        if following > until:
            return
        rig.clock.set(following)


def next_tick(now: datetime) -> datetime:
    step = TICK.total_seconds()
    return datetime.fromtimestamp((now.timestamp() // step + 1) * step, now.tzinfo)


async def due_between(rig: Rig, before: datetime, *monitors: Monitor) -> None:
    monitors = monitors or (rig.monitor,)
    last: datetime | None = None
    while True:
        earliest = await monitors[0].next_due_at()
        if earliest is None or earliest >= before or earliest == last:
            return
        last = earliest
        rig.clock.set(max(earliest, rig.clock.now()))
        for fired in await asyncio.gather(*(m.run_due() for m in monitors)):
            rig.events += [(e.kind, e.tier.action.value if e.tier else "", e.at) for e in fired]
        await rig.dispatcher.drain(["mu-1"])


def go_out(rig: Rig, *agents: str) -> None:
    for agent in agents or ("a0",):
        rig.source.set_state(agent, Presence.AWAY, RoutingStatus.OFF_QUEUE, since=OUT_AT)


async def test_a_tier_due_between_two_ticks_fires_at_its_instant(store_backend: StoreBackend) -> None:
    rig = Rig(store_backend)
    go_out(rig)
    await live(rig, T0 + timedelta(minutes=6))
    assert rig.fired() == [("chat_card", CARD_AT)]  # 09:04:53, not the tick of 09:05:00
    assert [(kind, when) for kind, _, when in rig.recorder.calls] == [("post_card", CARD_AT)]  # handed off then


async def test_an_acknowledgement_hold_ending_between_ticks_resumes_at_its_instant(store_backend: StoreBackend) -> None:
    rig = Rig(store_backend)
    go_out(rig)
    await live(rig, T0 + timedelta(minutes=6))
    acked_at = T0 + timedelta(minutes=6, seconds=22)
    rig.clock.set(acked_at)
    track = (await rig.store.load_tracks("mu-1"))["a0"]
    assert track.incident is not None
    held, event = acknowledge(track.incident, "Sam", acked_at)
    await rig.store.commit("mu-1", changes=[TrackChange("a0", track.version, track.model_copy(
        update={"incident": held}))], events=[event])
    await live(rig, T0 + timedelta(minutes=23))
    hold_end = acked_at + held.policy.ack_timeout  # 09:21:22, after the email's threshold (09:14:53)
    assert rig.fired() == [("chat_card", CARD_AT), ("email", hold_end)]


async def test_a_break_starting_between_ticks_is_evaluated_at_the_boundary(store_backend: StoreBackend) -> None:
    rig = Rig(store_backend)
    boundary = T0 + timedelta(minutes=3, seconds=7)
    rig.source.add_agent("a0", [
        ScheduledActivity(T0 - timedelta(hours=1), boundary, ActivityCategory.ON_QUEUE_WORK),
        ScheduledActivity(boundary, boundary + timedelta(minutes=15), ActivityCategory.BREAK)])
    rig.source.set_state("a0", Presence.BREAK, RoutingStatus.OFF_QUEUE, since=T0 + timedelta(minutes=1, seconds=30))
    await live(rig, boundary - timedelta(seconds=1))  # the agent left for the break 97 s early: out
    track = (await rig.store.load_tracks("mu-1"))["a0"]
    assert track.incident is not None and track.incident.back_in_since is None
    await due_between(rig, boundary + timedelta(seconds=1))
    assert rig.clock.now() == boundary  # the monitor stopped at the boundary, before the next tick
    track = (await rig.store.load_tracks("mu-1"))["a0"]
    assert track.incident is not None and track.incident.back_in_since == boundary
    assert (await rig.store.statuses("mu-1"))["a0"].startswith("ADHERENT|Break")
    await live(rig, boundary + timedelta(minutes=2))
    resolved = [when for kind, _, when in rig.events if kind is EventKind.RESOLVED]
    assert resolved == [boundary + rig.config.monitor.clear_after]  # clear_after is a due instant as well


async def test_two_replicas_and_a_restart_with_pending_due_instants_fire_each_tier_once(
        store_backend: StoreBackend) -> None:
    rig = Rig(store_backend, agents=10)
    second = rig.new_monitor("r2")
    go_out(rig, *(f"a{i}" for i in range(0, 10, 2)))
    await live(rig, T0 + timedelta(minutes=6), rig.monitor, second)
    assert rig.fired() == [("chat_card", CARD_AT)] * 5
    # Both processes die; a new one (empty memory, same store) starts just before the email is due and
    # learns the pending instant from the index, not from a tick.
    rig.clock.set(EMAIL_AT - timedelta(seconds=2))
    rig.monitor = rig.new_monitor("r3")
    rig.dispatcher = rig.new_dispatcher()
    third = rig.new_monitor("r4")
    assert await rig.monitor.next_due_at() == EMAIL_AT
    await due_between(rig, EMAIL_AT + timedelta(seconds=1), rig.monitor, third)
    assert rig.fired() == [("chat_card", CARD_AT)] * 5 + [("email", EMAIL_AT)] * 5
    await live(rig, EMAIL_AT + timedelta(minutes=16), rig.monitor, third)
    audit = [e for e in await rig.store.audit("mu-1") if e["kind"] == "tier_fired"]
    assert len(audit) == 15 and len({e["incident"] for e in audit}) == 5
    assert sorted(rig.fired()) == sorted([("chat_card", CARD_AT), ("email", EMAIL_AT),
                                          ("coaching", OUT_AT + timedelta(minutes=30))] * 5)
    assert rig.recorder.kinds().count("post_card") == 5


async def test_the_waker_sleeps_on_the_injected_clock_and_wakes_delivery(store_backend: StoreBackend) -> None:
    rig = Rig(store_backend)
    go_out(rig)
    await rig.monitor.tick()  # opens the incident at 09:00:00; the card is due at 09:04:53
    waker = DueWaker(rig.monitor, rig.clock, max_wait=TICK)
    stop = asyncio.Event()
    task = asyncio.create_task(waker.run(stop))
    rig.monitor.outbox_ready.clear()
    rig.clock.set(CARD_AT - timedelta(milliseconds=1))
    for _ in range(50):
        await asyncio.sleep(0)
    assert not rig.monitor.outbox_ready.is_set()  # not yet due: the waker still sleeps
    rig.clock.set(CARD_AT)
    await asyncio.wait_for(rig.monitor.outbox_ready.wait(), timeout=10)  # woken by the clock, not by a tick
    await rig.dispatcher.drain(["mu-1"])
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert [(kind, when) for kind, _, when in rig.recorder.calls] == [("post_card", CARD_AT)]
