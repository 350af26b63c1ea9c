"""The monitor's Redis state on a real 3-master Redis Cluster: the commit script, the outbox and the
transactions each stay in their unit's slot, and a unit's keys really do share one slot."""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis

from services.adapters.redis_keys import BookingKeys, UnitKeys, heartbeat_key, heartbeats_key
from services.domain.states import Presence, RoutingStatus
from tests.monitor.test_monitor_on_redis import Rig, at


def slot(client: Redis, key: str) -> int:
    return int(client.keyslot(key))  # type: ignore[attr-defined]


def test_every_key_of_a_unit_and_of_booking_shares_one_slot(cluster_client: Redis) -> None:
    unit = UnitKeys("adh", "mu-1")
    unit_keys = [unit.tracks, unit.tick_claim(7), unit.audit, unit.outbox, unit.delivered("i1:tier_fired:0"),
                 unit.retry("1-0"), unit.card("i1"), unit.closed("i1"), unit.storm_closed("s1"), unit.storms_pending,
                 unit.status, unit.out_seconds(at(0).date()), unit.surplus("trainees"), unit.surplus("seats:1800")]
    assert len({slot(cluster_client, k) for k in unit_keys}) == 1
    booking = BookingKeys("adh")
    booking_keys = [booking.requests, booking.submitted("r1"), booking.request_json, booking.status, booking.plans,
                    booking.steps("r1"), booking.work, booking.work_order, booking.registers, booking.templates,
                    booking.activities("mu-1"), booking.activity_starts("mu-1"), booking.activity_index,
                    booking.room_index, booking.room("blue"), booking.optimise_proposals,
                    booking.optimise_decisions, booking.optimise_revisions]
    assert len({slot(cluster_client, k) for k in booking_keys}) == 1
    # ...and different units land on different masters' slots, which is what spreads the load.
    assert len({slot(cluster_client, UnitKeys("adh", f"mu-{i}").tracks) for i in range(10)}) > 1


async def test_monitor_and_outbox_run_on_the_cluster(cluster_client: Redis, cluster_prefix: str) -> None:
    rig = Rig(cluster_client, cluster_prefix)
    await rig.run_until(1)
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE)
    await rig.run_until(32)  # away from 01:15: the coaching tier fires at 31:15
    assert [action for action, _ in rig.fired()] == ["chat_card", "email", "coaching"]
    assert rig.recorder.kinds()[:2] == ["post_card", "email"]
    count, _ = await rig.store.outbox_backlog("mu-1")
    assert count == 0  # every delivery acknowledged and deleted (scripts and transactions in one slot)
    audit = await rig.store.audit("mu-1")
    assert sum(1 for entry in audit if entry.get("kind") == "tier_fired") == 3


async def test_every_replicas_heartbeat_is_read_back_in_one_slot(cluster_client: Redis, cluster_prefix: str) -> None:
    rig = Rig(cluster_client, cluster_prefix)
    await rig.run_until(1)  # r1 commits its ticks and beats after each
    await rig.store.write_heartbeat("r2", {"at": at(1).isoformat(), "units": []}, timedelta(seconds=60))
    beats = await rig.store.heartbeats()  # one MGET: the heartbeat keys share the {monitor} slot
    assert [b["replica"] for b in beats] == ["r1", "r2"] and beats[0]["units"] == ["mu-1"]
    assert slot(cluster_client, heartbeat_key(cluster_prefix, "r1")) == slot(cluster_client,
                                                                             heartbeats_key(cluster_prefix))
