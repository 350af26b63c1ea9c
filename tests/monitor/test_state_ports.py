"""The contract of the state ports (``services/ports.py``), checked on RedisStore and MemoryStore alike:
compare-and-set commits, the outbox consumer group, closed incidents, the status board, card refs."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from services.domain.escalation import (
    DEFAULT_POLICY,
    AgentTrack,
    EventKind,
    FiredTier,
    Incident,
    IncidentEvent,
    IncidentStatus,
    TierAction,
)
from services.ports import MessageRef, TrackChange
from tests.store_backends import StoreBackend

T0 = datetime(2026, 5, 18, 9, 0, tzinfo=UTC)
MU = "mu-1"


def incident(agent_id: str, *, fired: bool = True, storm_id: str | None = None,
             status: IncidentStatus = IncidentStatus.OPEN) -> Incident:
    tiers = (FiredTier(index=0, action=TierAction.CHAT_CARD, at=T0),) if fired else ()
    return Incident(id=f"{MU}.{agent_id}.1", mu_id=MU, agent_id=agent_id, team_id="t1", started_at=T0,
                    policy=DEFAULT_POLICY, fired=tiers, storm_id=storm_id, status=status)


def fired(agent_id: str) -> IncidentEvent:
    item = incident(agent_id)
    return IncidentEvent(EventKind.TIER_FIRED, item, T0, tier=item.fired[0])


def track(agent_id: str, item: Incident | None = None) -> AgentTrack:
    return AgentTrack(agent_id=agent_id, incident=item or incident(agent_id))


async def test_a_stale_version_is_rejected_with_its_events_and_the_rest_applies(store_backend: StoreBackend) -> None:
    store = store_backend.new_store()
    first = await store.commit(MU, changes=[TrackChange("a", 0, track("a")), TrackChange("b", 0, track("b"))],
                               events=[], day=T0.date())
    assert first.rejected == frozenset() and not first.fenced
    stored = await store.load_track(MU, "a")
    assert stored is not None and stored.version == 1
    # A tick read version 1 of both; meanwhile a click moved "a" on to version 2.
    await store.commit(MU, changes=[TrackChange("a", 1, track("a"))], events=[], day=T0.date())
    result = await store.commit(MU, changes=[TrackChange("a", 1, None), TrackChange("b", 1, None)],
                                events=[fired("a"), fired("b")], day=T0.date())
    assert result.rejected == frozenset({"a"})
    assert set(await store.load_tracks(MU)) == {"a"}
    assert [e["agent"] for e in await store.audit(MU)] == ["b"]
    assert [e.event.incident.agent_id for e in await store.read_outbox(MU, "c1")] == ["b"]


async def test_only_told_incidents_reach_the_outbox_and_closed_ones_are_kept(store_backend: StoreBackend) -> None:
    store = store_backend.new_store()
    quiet = IncidentEvent(EventKind.OPENED, incident("a", fired=False), T0)
    resolved = incident("b", storm_id="s1", status=IncidentStatus.RESOLVED)
    closing = IncidentEvent(EventKind.RESOLVED, resolved, T0)
    await store.commit(MU, changes=[], events=[quiet, closing], day=T0.date())
    assert [e["kind"] for e in await store.audit(MU)] == ["opened", "resolved"]
    assert [e.event.kind for e in await store.read_outbox(MU, "c1")] == [EventKind.RESOLVED]
    assert await store.closed_incident(MU, resolved.id) == resolved
    assert await store.closed_incident(MU, "mu-1.a.1") is None
    assert await store.closed_in_storm(MU, "s1", exclude=set()) == [resolved]
    assert await store.closed_in_storm(MU, "s1", exclude={resolved.id}) == []


async def test_the_outbox_is_a_consumer_group(store_backend: StoreBackend) -> None:
    store = store_backend.new_store()
    await store.commit(MU, changes=[], events=[fired("a"), fired("b")], day=T0.date())
    assert (await store.outbox_backlog(MU))[0] == 2
    taken = await store.read_outbox(MU, "c1")
    assert [e.event.incident.agent_id for e in taken] == ["a", "b"]
    assert await store.read_outbox(MU, "c2") == []  # pending for c1, not idle long enough to take over
    again = await store.read_outbox(MU, "c1")  # c1 restarted: its pending entries come back, in order
    assert [e.entry_id for e in again] == [e.entry_id for e in taken]
    assert taken[0].delivery_key == f"{MU}.a.1:tier_fired:0"
    await store.mark_delivered(MU, taken[0], T0)
    assert await store.was_delivered(MU, taken[0].delivery_key)
    assert (await store.outbox_backlog(MU))[0] == 1
    await store.give_up(MU, again[1])
    assert (await store.outbox_backlog(MU))[0] == 0 and await store.read_outbox(MU, "c1") == []
    assert [e["kind"] for e in await store.audit(MU)][-1] == "delivery_failed"
    assert await store_backend.outbox_length(MU) == 0  # delivered and given-up entries leave the stream


async def test_entries_of_a_dead_consumer_are_taken_over_once_idle(store_backend: StoreBackend) -> None:
    store = store_backend.new_store()
    await store.commit(MU, changes=[], events=[fired("a"), fired("b")], day=T0.date())
    taken = await store.read_outbox(MU, "c1")
    assert await store.read_outbox(MU, "c2") == []  # c1's entries are not idle for a minute yet
    took_over = await store.read_outbox(MU, "c2", claim_idle=timedelta(0))  # c1 died
    assert [e.entry_id for e in took_over] == [e.entry_id for e in taken]
    assert await store.read_outbox(MU, "c1") == []  # now c2's
    assert (await store.outbox_backlog(MU))[0] == 2


async def test_retries_steps_and_card_refs_are_remembered(store_backend: StoreBackend) -> None:
    store = store_backend.new_store()
    assert await store.retry_state(MU, "1-0") == (0, None)
    await store.schedule_retry(MU, "1-0", 2, T0 + timedelta(seconds=10))
    assert await store.retry_state(MU, "1-0") == (2, T0 + timedelta(seconds=10))
    assert not await store.was_delivered(MU, "k:card")
    await store.mark_step_delivered(MU, "k:card", T0)
    assert await store.was_delivered(MU, "k:card")
    assert await store.card_ref(MU, "storm:s1") is None
    ref = MessageRef(channel="C1", ts="1.2", permalink="https://slack.example/p1")
    await store.save_card_ref(MU, "storm:s1", ref)
    assert await store.card_ref(MU, "storm:s1") == ref


async def test_the_status_board_and_out_seconds_add_up_per_day(store_backend: StoreBackend) -> None:
    store = store_backend.new_store()
    day = date(2026, 5, 18)
    await store.commit(MU, changes=[], events=[], status={"a": "NON_ADHERENT|x"}, out_seconds={"a": 15.0}, day=day)
    await store.commit(MU, changes=[], events=[], status={"b": "ADHERENT|y"}, out_seconds={"a": 14.9996}, day=day)
    assert await store.statuses(MU) == {"a": "NON_ADHERENT|x", "b": "ADHERENT|y"}
    assert await store.out_seconds(MU, day) == {"a": 30.0}
    assert await store.out_seconds(MU, day + timedelta(days=1)) == {}


async def test_heartbeats_are_per_replica_and_expire(store_backend: StoreBackend) -> None:
    store = store_backend.new_store()
    assert await store.heartbeats() == []
    await store.write_heartbeat("r1", {"at": T0.isoformat(), "units": [MU]}, timedelta(seconds=60))
    await store.write_heartbeat("r2", {"at": T0.isoformat(), "units": []}, timedelta(milliseconds=1))
    await store.write_heartbeat("r1", {"at": (T0 + timedelta(seconds=15)).isoformat(), "units": [MU]},
                                timedelta(seconds=60))
    await asyncio.sleep(0.02)  # r2's 1 ms TTL runs out (Redis PX and the memory store's monotonic clock)
    assert await store.heartbeats() == [{"at": (T0 + timedelta(seconds=15)).isoformat(), "units": [MU],
                                         "replica": "r1"}]


async def test_a_tick_claim_fences_the_commit(store_backend: StoreBackend) -> None:
    store = store_backend.new_store()
    token = await store.claim_tick(MU, 3, timedelta(seconds=60))
    assert token is not None
    assert await store.claim_tick(MU, 3, timedelta(seconds=60)) is None
    fenced = await store.commit(MU, changes=[TrackChange("a", 0, track("a"))], events=[fired("a")],
                                token="not-the-claim", tick_number=3, day=T0.date())
    assert fenced.fenced and await store.load_tracks(MU) == {} and await store.audit(MU) == []
    applied = await store.commit(MU, changes=[TrackChange("a", 0, track("a"))], events=[], token=token,
                                 tick_number=3, day=T0.date())
    assert not applied.fenced and set(await store.load_tracks(MU)) == {"a"}
