"""The outbox loses nothing and state stays bounded, on real Redis: entries stay until delivered and
leave once delivered, per-item keys carry their own TTL, the audit trail is trimmed by age, a grouped
card survives a crash between acknowledge and post, and an emptied Redis is noticed and said."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from services import telemetry
from services.adapters.redis.store import RedisStore
from services.adapters.redis_keys import HISTORY_TTL, STATE_TTL
from services.dispatch import OutboxDispatcher
from services.domain.escalation import IncidentStatus, close
from services.domain.states import Presence, RoutingStatus
from services.ports import IncidentView, MessageRef, StormView, TrackChange
from tests.monitor.scripted import Recorder
from tests.monitor.test_monitor_on_redis import TICK, Rig, at
from tests.observability.scrape import value

pytestmark = pytest.mark.redis


async def _keys(redis: Redis, prefix: str) -> list[str]:
    return sorted([k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)])


async def test_an_undelivered_entry_stays_in_the_outbox_and_leaves_once_delivered(
        redis_client: Redis, redis_prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    rig = Rig(redis_client, redis_prefix)
    store = RedisStore(redis_client, redis_prefix, backlog_warn=1)
    outbox = store.keys("mu-1").outbox
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE, since=at(0))
    rig.recorder.fail_next = 10_000  # Slack is down
    await rig.run_until(14)
    assert rig.recorder.kinds() == []
    entries = await redis_client.xrange(outbox)
    assert entries is not None and len(entries) == 1
    entry_id, fields = entries[0]
    assert fields is not None and fields["kind"] == "tier_fired"  # the chat tier, still there 9 minutes on
    assert await redis_client.ttl(outbox) == -1  # an outbox holding undelivered entries never expires
    with caplog.at_level(logging.WARNING, logger="services.adapters.redis.store"):
        count, age = await store.outbox_backlog("mu-1", rig.clock.now())
    assert (count, age) == (1, rig.clock.now() - at(5))
    assert "holds 1 undelivered entries" in caplog.text and "nothing is dropped" in caplog.text

    rig.recorder.fail_next = 0  # Slack is back
    await rig.run_until(21)
    assert rig.recorder.kinds().count("post_card") == 1  # (the email went out at 15: it does not wait on Slack)
    assert await redis_client.xrange(outbox, min=str(entry_id), max=str(entry_id)) == []  # deleted once delivered
    assert (await store.outbox_backlog("mu-1", rig.clock.now()))[0] == 0
    pending = await redis_client.xpending(outbox, "dispatch")
    assert pending["pending"] == 0


async def test_every_per_incident_key_expires_on_its_own(redis_client: Redis, redis_prefix: str) -> None:
    rig = Rig(redis_client, redis_prefix)
    keys = RedisStore(redis_client, redis_prefix).keys("mu-1")
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE, since=at(0))
    rig.recorder.fail_next = 1  # one failed delivery: a retry key exists for a while
    await rig.run_until(5.1)
    retries = [k for k in await _keys(redis_client, redis_prefix) if ":retry:" in k]
    assert len(retries) == 1 and 0 < await redis_client.ttl(retries[0]) <= STATE_TTL.total_seconds()
    await rig.run_until(16)
    rig.source.set_state("a0", Presence.ON_QUEUE, RoutingStatus.IDLE)
    await rig.run_until(18)
    (incident_id,) = {e["incident"] for e in await rig.store.audit("mu-1")}
    closed = await rig.store.closed_incident("mu-1", incident_id)
    assert closed is not None and closed.status.value == "resolved"

    found = await _keys(redis_client, redis_prefix)
    assert keys.closed(incident_id) in found and keys.card(incident_id) in found
    assert [k for k in found if ":retry:" in k] == []  # gone once delivered
    delivered = [k for k in found if ":delivered:" in k]
    assert len(delivered) >= 3  # the card, the email and the resolved update, each a key of its own
    state_ttl = STATE_TTL.total_seconds()
    for key in found:
        ttl = await redis_client.ttl(key)
        assert ttl > 0, f"{key} has no TTL"
        if ":adherence:" in key or ":segments:" in key:  # the per-day history and its open segments: 35 days
            assert state_ttl < ttl <= HISTORY_TTL.total_seconds(), key
        elif key != keys.audit:
            assert ttl <= state_ttl, key
    assert await redis_client.ttl(keys.audit) > state_ttl  # the audit trail keeps 14 days
    # No hash that grows with incidents is left: the remaining hashes are bounded by the roster or a day.
    hashes = [k for k in found if await redis_client.type(k) == "hash"]
    assert hashes and all(h.endswith((":tracks", ":status")) or ":out:" in h or ":adherence:" in h or ":segments:" in h
                          for h in hashes), hashes


async def test_a_rejected_change_does_not_shift_the_closed_keys_of_the_others(redis_client: Redis,
                                                                             redis_prefix: str) -> None:
    rig = Rig(redis_client, redis_prefix, agents=3)
    for agent in ("a0", "a1"):
        rig.source.set_state(agent, Presence.AWAY, RoutingStatus.OFF_QUEUE, since=at(0))
    await rig.run_until(2)
    tracks = await rig.store.load_tracks("mu-1")
    changes, events = [], []
    for agent, stale in (("a0", True), ("a1", False)):  # a0 was changed meanwhile: its write is refused
        track = tracks[agent]
        assert track.incident is not None
        _, event = close(track.incident, IncidentStatus.RESOLVED, rig.clock.now())
        changes.append(TrackChange(agent, track.version - 1 if stale else track.version, None))
        events.append(event)
    result = await rig.store.commit("mu-1", changes=changes, events=events, day=at(0).date())
    assert result.rejected == {"a0"}
    a0, a1 = (tracks[a].incident for a in ("a0", "a1"))
    assert a0 is not None and a1 is not None
    assert await rig.store.closed_incident("mu-1", a0.id) is None
    stored = await rig.store.closed_incident("mu-1", a1.id)
    assert stored is not None and stored.id == a1.id and stored.status is IncidentStatus.RESOLVED


async def test_the_audit_trail_is_trimmed_by_age(redis_client: Redis, redis_prefix: str) -> None:
    rig = Rig(redis_client, redis_prefix)
    rig.monitor.store = RedisStore(redis_client, redis_prefix, audit_ttl=timedelta(days=14))
    audit = RedisStore(redis_client, redis_prefix).keys("mu-1").audit
    now_ms = int((await redis_client.time())[0]) * 1000
    fifteen_days_ago = now_ms - 15 * 86_400_000
    for n in range(3):  # entries written 15 days ago (stream ids carry their time)
        await redis_client.xadd(audit, {"kind": "old"}, id=f"{fifteen_days_ago + n}-0")
    await redis_client.xadd(audit, {"kind": "recent"}, id=f"{now_ms - 13 * 86_400_000}-0")
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE, since=at(0))
    await rig.run_until(1)  # the incident opens: one audit entry written, older than 14 days trimmed
    kinds = [e["kind"] for e in await rig.store.audit("mu-1")]
    assert kinds == ["recent", "opened"]
    assert 13 * 86_400 < await redis_client.ttl(audit) <= 14 * 86_400


class HangingStormChat(Recorder):
    """Slack that never answers the grouped card's post: the process is killed while waiting."""

    posting = asyncio.Event()

    async def post_storm_card(self, view: StormView) -> MessageRef:
        self.posting.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_grouped_card_survives_a_crash_between_acknowledge_and_post(redis_client: Redis,
                                                                           redis_prefix: str) -> None:
    rig = Rig(redis_client, redis_prefix, agents=8)
    hanging = HangingStormChat(rig.clock)
    hanging.posting = asyncio.Event()
    rig.dispatcher = OutboxDispatcher(store=RedisStore(redis_client, redis_prefix), chat=hanging, email=hanging,
                                      coaching=hanging, rosters=rig.monitor.roster, clock=rig.clock,
                                      config=rig.config)
    await rig.run_until(1)
    for i in range(5):
        rig.source.set_state(f"a{i}", Presence.OFFLINE, RoutingStatus.OFFLINE)
    while not hanging.posting.is_set():
        await rig.monitor.tick()
        drain = asyncio.ensure_future(rig.dispatcher.drain(["mu-1"]))
        await asyncio.wait([drain, asyncio.create_task(hanging.posting.wait())],
                           return_when=asyncio.FIRST_COMPLETED)
        if hanging.posting.is_set():
            drain.cancel()  # kill -9 while Slack is being asked to post the grouped card
            with pytest.raises(asyncio.CancelledError):
                await drain
        else:
            rig.clock.advance(TICK)
    outbox = RedisStore(redis_client, redis_prefix).keys("mu-1").outbox
    assert await redis_client.xlen(outbox) == 0  # its entries were acknowledged
    # A new process (fresh memory, same Redis) posts the grouped card once, then only updates it.
    rig.clock.advance(TICK)
    rig.dispatcher = rig.new_dispatcher()
    await rig.dispatcher.drain(["mu-1"])
    await rig.run_until(9)
    kinds = rig.recorder.kinds()
    assert kinds[0] == "post_storm:5" and [k for k in kinds if k.startswith("post")] == ["post_storm:5"]
    assert await rig.store.pending_storms("mu-1") == []


async def _forget_everything(redis: Redis, prefix: str) -> None:
    """What FLUSHALL does to our keys (the test Redis is shared, so only ours go)."""
    keys = await _keys(redis, prefix)
    if keys:
        await redis.delete(*keys)


async def test_an_emptied_redis_is_noticed_logged_and_counted_and_the_outbox_recovers(
        redis_client: Redis, redis_prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    metrics = telemetry.install()  # a fresh registry for this test
    rig = Rig(redis_client, redis_prefix)
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE, since=at(0))
    await rig.run_until(6)
    assert rig.recorder.kinds() == ["post_card"] and rig.dispatcher.store.state_losses == 0
    await _forget_everything(redis_client, redis_prefix)
    with caplog.at_level(logging.ERROR):
        await rig.run_until(8)
    assert rig.dispatcher.store.state_losses == 1
    assert value(metrics, "adherence_redis_state_lost_total") == 1
    assert any(r.levelno == logging.ERROR and "Redis lost its state" in r.getMessage() for r in caplog.records)
    assert rig.dispatcher.state_lost_at == at(6.25)
    # The incident re-opened from the live state and its tier fired again: delivered (the group was
    # recreated), and the new card says state was lost (checked on the real card in tests/slack).
    assert rig.recorder.kinds().count("post_card") == 2
    await rig.run_until(9)
    assert rig.dispatcher.store.state_losses == 1  # counted once, not on every tick
    assert value(metrics, "adherence_redis_state_lost_total") == 1
    telemetry.install()
    # A restarted process still knows when state was lost (it is in the epoch key).
    restarted = rig.new_dispatcher()
    await restarted.drain(["mu-1"])
    assert restarted.state_lost_at == at(6.25) and restarted.store.state_losses == 0


async def test_a_hanging_mail_server_does_not_hold_back_the_card_update(redis_client: Redis,
                                                                       redis_prefix: str) -> None:
    rig = Rig(redis_client, redis_prefix)
    release = asyncio.Event()
    hanging: list[str] = []

    async def hang(view: IncidentView) -> None:  # connects, then never answers (until released)
        hanging.append(view.incident.id)
        await release.wait()
        raise TimeoutError("SMTP timed out")

    rig.recorder.send_escalation_email = hang  # type: ignore[method-assign]
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE, since=at(0))
    await rig.run_until(14.9)
    await rig.monitor.tick()  # 15:00: the email tier fires
    drain = asyncio.ensure_future(rig.dispatcher.drain(["mu-1"]))
    while not hanging:
        await asyncio.sleep(0.01)
    for _ in range(100):  # the chat lane finishes while the email lane still hangs
        if rig.recorder.kinds()[-1:] == ["update_card:open"]:
            break
        await asyncio.sleep(0.01)
    assert rig.recorder.kinds() == ["post_card", "update_card:open"] and not drain.done()
    release.set()
    await drain
    assert rig.recorder.kinds() == ["post_card", "update_card:open"]  # the email is retried later, alone
    assert await redis_client.xlen(RedisStore(redis_client, redis_prefix).keys("mu-1").outbox) == 1
