"""The monitor loop end to end with an injected clock: exact tier times, restarts, two replicas at once,
fencing, the outbox, and mid-day schedule changes. Each test runs on the real Redis and on the
in-memory store (``store_backend``), except those about Redis itself (key expiry)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from services.adapters.redis_keys import heartbeat_key
from services.clock import ManualClock
from services.config import OrgConfig, parse_org_config
from services.dispatch import OutboxDispatcher
from services.domain.escalation import EventKind
from services.domain.model import ScheduledActivity
from services.domain.states import ActivityCategory, Presence, RoutingStatus
from services.monitor import Monitor
from tests.monitor.scripted import Recorder, ScriptedSource
from tests.store_backends import MemoryBackend, RedisBackend, StoreBackend

T0 = datetime(2026, 5, 18, 9, 0, tzinfo=UTC)
TICK = timedelta(seconds=15)
ON_QUEUE_DAY = [ScheduledActivity(T0 - timedelta(hours=1), T0 + timedelta(hours=7), ActivityCategory.ON_QUEUE_WORK)]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class Rig:
    def __init__(self, backend: StoreBackend | Redis, prefix: str = "", config: OrgConfig | None = None, *,
                 agents: int = 1) -> None:
        # A Redis client (or a RedisCluster, which is not a Redis subclass) means the Redis backend.
        self.backend = backend if isinstance(backend, RedisBackend | MemoryBackend) else RedisBackend(backend, prefix)
        self.clock = ManualClock(T0)
        self.config = config or OrgConfig()
        self.source = ScriptedSource(self.clock)
        for i in range(agents):
            self.source.add_agent(f"a{i}", ON_QUEUE_DAY)
            self.source.set_state(f"a{i}", Presence.ON_QUEUE, RoutingStatus.IDLE, since=at(-60))
        self.recorder = Recorder(self.clock)
        self.store = self.backend.new_store()
        self.monitor = self.new_monitor()
        self.dispatcher = self.new_dispatcher()
        self.events: list[tuple[EventKind, str, datetime]] = []

    def new_monitor(self, replica: str = "r1") -> Monitor:
        return Monitor(source=self.source, store=self.backend.new_store(), config=self.config,
                       clock=self.clock, replica_id=replica)

    def new_dispatcher(self) -> OutboxDispatcher:
        return OutboxDispatcher(store=self.backend.new_store(), chat=self.recorder, email=self.recorder,
                                coaching=self.recorder, rosters=self.monitor.roster, clock=self.clock,
                                config=self.config)

    async def run_until(self, minutes: float, *monitors: Monitor) -> None:
        monitors = monitors or (self.monitor,)
        while self.clock.now() <= at(minutes):
            reports = await asyncio.gather(*(m.tick() for m in monitors))
            for report in reports:
                self.events += [(e.kind, e.tier.action.value if e.tier else "", e.at) for e in report.events]
            await self.dispatcher.drain(["mu-1"])
            self.clock.advance(TICK)

    def fired(self) -> list[tuple[str, datetime]]:
        return [(action, when) for kind, action, when in self.events if kind is EventKind.TIER_FIRED]


async def test_tiers_fire_at_their_thresholds_and_the_incident_resolves(store_backend: StoreBackend) -> None:
    rig = Rig(store_backend)
    await rig.run_until(1)
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE)  # at 01:15
    await rig.run_until(40)
    start = at(1.25)
    assert rig.fired() == [
        ("chat_card", start + timedelta(minutes=5)),
        ("email", start + timedelta(minutes=15)),
        ("coaching", start + timedelta(minutes=30)),
    ]
    # Each tier's delivery and its card update, at the tier's tick; channels run side by side, so
    # only the order within a channel is fixed.
    calls = rig.recorder.calls
    assert [(w, t) for w, _, t in calls if w.startswith(("post", "update"))] == [
        ("post_card", start + timedelta(minutes=5)), ("update_card:open", start + timedelta(minutes=15)),
        ("update_card:open", start + timedelta(minutes=30))]
    assert [(w, t) for w, _, t in calls if not w.startswith(("post", "update"))] == [
        ("email", start + timedelta(minutes=15)), ("coaching", start + timedelta(minutes=30))]
    (request,) = rig.recorder.appointments.values()
    assert request.agent_id == "a0" and request.facilitator_id == "sup"
    rig.source.set_state("a0", Presence.ON_QUEUE, RoutingStatus.IDLE)
    await rig.run_until(42)
    assert rig.recorder.kinds()[-1] == "update_card:resolved"
    assert [k for k, _, _ in rig.events][-1] is EventKind.RESOLVED
    assert await rig.store.load_tracks("mu-1") == {}


async def test_a_restart_mid_violation_neither_repeats_nor_skips_a_tier(store_backend: StoreBackend) -> None:
    rig = Rig(store_backend)
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE, since=at(0))
    await rig.run_until(10)
    assert [a for a, _ in rig.fired()] == ["chat_card"]
    # The process dies; a new one (fresh memory, same Redis) takes over after a gap of 8 minutes.
    rig.clock.set(at(18))
    rig.monitor = rig.new_monitor("r2")
    rig.dispatcher = rig.new_dispatcher()
    await rig.run_until(35)
    assert [a for a, _ in rig.fired()] == ["chat_card", "email", "coaching"]
    assert rig.fired()[1][1] == at(18)  # overdue during the outage: fired at the first tick back, once
    assert rig.fired()[2][1] == at(30)
    assert rig.recorder.kinds().count("post_card") == 1


async def test_two_monitors_at_once_fire_each_tier_once(store_backend: StoreBackend) -> None:
    rig = Rig(store_backend, agents=20)
    second = rig.new_monitor("r2")
    for i in range(0, 20, 2):
        rig.source.set_state(f"a{i}", Presence.AWAY, RoutingStatus.OFF_QUEUE, since=at(0))
    await rig.run_until(35, rig.monitor, second)
    assert sorted(rig.fired()) == sorted([("chat_card", at(5)), ("email", at(15)), ("coaching", at(30))] * 10)
    audit = await rig.store.audit("mu-1")
    fired_pairs = [(e["incident"], e["event"]) for e in audit if e["kind"] == "tier_fired"]
    assert len(fired_pairs) == 30 and len({incident for incident, _ in fired_pairs}) == 10
    assert rig.recorder.kinds().count("post_card") == 10  # half the team is not a storm (needs more than half)
    outbox = await rig.backend.outbox_length("mu-1")
    assert outbox == 0  # each delivered entry left the outbox (the tiers above fired once each)


async def test_a_commit_that_lost_its_claim_is_discarded(store_backend: StoreBackend) -> None:
    store = store_backend.new_store()
    token = await store.claim_tick("mu-1", 7, timedelta(seconds=60))
    assert token is not None
    assert await store.claim_tick("mu-1", 7, timedelta(seconds=60)) is None  # the other replica loses
    await store_backend.overwrite_claim("mu-1", 7, "someone-else", timedelta(seconds=60))
    result = await store.commit("mu-1", changes=[], events=[], token=token, tick_number=7)
    assert result.fenced


async def test_schedule_republished_mid_day_is_used_at_once_no_false_alert(store_backend: StoreBackend) -> None:
    rig = Rig(store_backend)
    await rig.run_until(5)
    training = [ScheduledActivity(at(-60), at(10), ActivityCategory.ON_QUEUE_WORK),
                ScheduledActivity(at(10), at(70), ActivityCategory.TRAINING),
                ScheduledActivity(at(70), at(420), ActivityCategory.ON_QUEUE_WORK)]
    rig.source.republish("a0", training)
    await rig.run_until(9.9)
    rig.source.set_state("a0", Presence.TRAINING, RoutingStatus.OFF_QUEUE, since=at(10))
    await rig.run_until(30)
    assert rig.events == []


async def test_without_the_signal_the_cache_refreshes_within_schedule_refresh(store_backend: StoreBackend) -> None:
    rig = Rig(store_backend, config=parse_org_config({"monitor": {"schedule_refresh": "15m"}}))
    await rig.run_until(1)
    fetches = rig.source.schedule_fetches
    rig.source.republish("a0", [ScheduledActivity(at(-60), at(420), ActivityCategory.TRAINING)], announce=False)
    rig.source.set_state("a0", Presence.TRAINING, RoutingStatus.OFF_QUEUE)
    await rig.run_until(17)
    assert rig.source.schedule_fetches == fetches + 1
    # Against the stale copy the agent looked out from 01:15 until the refresh at 15:00: long enough for the
    # chat tier (at 06:15), which is why the "schedule changed" signal matters; the refresh then clears it.
    assert [a for a, _ in rig.fired()] == ["chat_card"]
    assert rig.events[-1][0] is EventKind.RESOLVED and rig.events[-1][2] <= at(16.25)


async def test_heartbeat_and_every_key_expire(redis_client: Redis, redis_prefix: str) -> None:
    rig = Rig(redis_client, redis_prefix)
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE, since=at(0))
    await rig.run_until(16)
    [beat] = await rig.store.heartbeats()
    assert beat["replica"] == "r1" and beat["units"] == ["mu-1"]
    assert datetime.fromisoformat(beat["at"]) == rig.clock.now() - timedelta(seconds=15)  # the last committed tick
    assert 0 < await redis_client.pttl(heartbeat_key(redis_prefix, "r1")) <= 20 * 15_000
    keys = [k async for k in redis_client.scan_iter(match=f"{redis_prefix}:*")]
    assert len(keys) >= 6
    for key in keys:
        assert await redis_client.ttl(key) > 0, key


async def test_audit_stream_has_every_transition(store_backend: StoreBackend) -> None:
    rig = Rig(store_backend)
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE, since=at(0))
    await rig.run_until(6)
    rig.source.set_state("a0", Presence.ON_QUEUE, RoutingStatus.IDLE)
    await rig.run_until(8)
    audit = await rig.store.audit("mu-1")
    assert [(e["kind"], e["agent"]) for e in audit] == [("opened", "a0"), ("tier_fired", "a0"), ("resolved", "a0")]


async def test_a_failed_delivery_is_retried_later_and_never_doubled(store_backend: StoreBackend) -> None:
    rig = Rig(store_backend)
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE, since=at(0))
    rig.recorder.fail_next = 2  # Slack is down for the first two attempts
    await rig.run_until(5.3)  # tier at 5:00 fails, the retry at 5:15 fails too
    assert rig.recorder.kinds() == [] and rig.recorder.fail_next == 0
    await rig.run_until(7)  # the retry after the backoff goes through
    assert rig.recorder.calls[0][:2] == ("post_card", "mu-1.a0.1779094800") and len(rig.recorder.calls) == 1
    assert rig.recorder.calls[0][2] == at(5.5)
    # A restarted dispatcher (same consumer name) finds nothing left to do.
    rig.dispatcher = rig.new_dispatcher()
    await rig.run_until(8)
    assert rig.recorder.kinds() == ["post_card"]


async def test_a_restart_between_tier_fired_and_card_posted_posts_exactly_one_card(store_backend: StoreBackend) -> None:
    rig = Rig(store_backend)
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE, since=at(0))
    while rig.clock.now() <= at(5):  # ticks only: the process dies before delivering anything
        await rig.monitor.tick()
        rig.clock.advance(TICK)
    assert await rig.backend.outbox_length("mu-1") == 1
    rig.monitor = rig.new_monitor("r2")
    rig.dispatcher = rig.new_dispatcher()
    await rig.run_until(7)
    assert rig.recorder.kinds() == ["post_card"]


@pytest.mark.parametrize("share_out", [5])
async def test_a_team_outage_posts_one_grouped_card(store_backend: StoreBackend, share_out: int) -> None:
    rig = Rig(store_backend, agents=8)
    await rig.run_until(1)
    for i in range(share_out):
        rig.source.set_state(f"a{i}", Presence.OFFLINE, RoutingStatus.OFFLINE)
    await rig.run_until(7)
    kinds = rig.recorder.kinds()
    assert kinds.count("post_card") == 0
    assert kinds[0] == f"post_storm:{share_out}"
    assert len([k for k in kinds if k.startswith("post_storm")]) == 1


async def test_a_delivery_that_cannot_succeed_is_given_up_at_once_and_audited(store_backend: StoreBackend) -> None:
    from services.ports import DeliveryError

    rig = Rig(store_backend)
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE, since=at(0))
    attempts: list[datetime] = []

    async def refuse(view: object) -> object:
        attempts.append(rig.clock.now())
        raise DeliveryError("channel_not_found", retryable=False)

    rig.recorder.post_incident_card = refuse  # type: ignore[method-assign, assignment]
    await rig.run_until(8)
    assert attempts == [at(5)]
    audit = await rig.store.audit("mu-1")
    assert [e["kind"] for e in audit][-1] == "delivery_failed"


def test_config_routing_overrides_the_sources_supervisors_and_channel() -> None:
    from services.domain.model import Agent, ManagementUnit, Person, Roster, Team
    from services.routing import apply_org_routing

    roster = Roster(ManagementUnit("mu-1", "Unit"), {"t1": Team("t1", "Billing", "mu-1", ("src-sup",))},
                    {"a": Agent("a", "A", "t1", "mu-1")}, {"src-sup": Person("src-sup", "Source Sup")})
    config = parse_org_config({
        "people": {"sam": {"name": "Sam", "email": "sam@example.com"}, "olga": {"name": "Olga"}},
        "management_units": {"mu-1": {"ops_managers": ["olga"],
                                      "teams": {"Billing": {"supervisors": ["sam"], "slack_channel": "C0BILLING"}}}},
    })
    routed = apply_org_routing(roster, config)
    assert [p.name for p in routed.supervisors_of("a")] == ["Sam"]
    assert routed.teams["t1"].slack_channel == "C0BILLING"
    assert [p.name for p in routed.ops_managers()] == ["Olga"]
    assert apply_org_routing(roster, parse_org_config({})) is roster


async def test_an_exception_approved_in_chat_is_written_back_to_the_wfm_once_by_the_outbox(
        store_backend: StoreBackend) -> None:
    from services.domain.model import ExceptionWindow, Person
    from services.incident_actions import Actor, IncidentActions

    class Directory:
        async def user_id_for(self, person: Person) -> str | None:
            return {"sup": "U-SUP"}.get(person.id)

    class Writer:
        """Genesys as it is on a bad day: the first write-back hangs until it times out."""

        def __init__(self) -> None:
            self.windows: list[tuple[str, ExceptionWindow]] = []
            self.calls = 0

        async def record_exception(self, mu_id: str, window: ExceptionWindow, *, ref: str) -> None:
            self.calls += 1
            if self.calls == 1:
                await asyncio.sleep(0.2)
                raise TimeoutError("Genesys did not answer")
            self.windows.append((mu_id, window))

    rig = Rig(store_backend)
    writer = Writer()
    rig.dispatcher = OutboxDispatcher(store=rig.backend.new_store(), chat=rig.recorder, email=rig.recorder,
                                      coaching=rig.recorder, rosters=rig.monitor.roster, clock=rig.clock,
                                      config=rig.config, exception_writer=writer)
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE, since=at(0))
    await rig.run_until(6)
    track = await rig.store.load_track("mu-1", "a0")
    assert track is not None and track.incident is not None
    actions = IncidentActions(store=rig.store, rosters=rig.monitor.roster, directory=Directory(), clock=rig.clock)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await actions.approve_exception("mu-1", "a0", track.incident.id, Actor("U-SUP", "Sam"), until=at(40),
                                    reason_code="system_issue", note="VPN")
    assert loop.time() - started < 0.15 and writer.calls == 0  # answered without waiting on Genesys
    approved_at = rig.clock.now()
    await rig.dispatcher.drain(["mu-1"])  # hangs, fails: retried later, the card is updated meanwhile
    assert writer.calls == 1 and writer.windows == [] and rig.recorder.kinds()[-1] == "update_card:excused"
    rig.clock.advance(timedelta(minutes=1))
    await rig.dispatcher.drain(["mu-1"])
    await rig.dispatcher.drain(["mu-1"])
    ((mu_id, window),) = writer.windows
    assert (mu_id, window.agent_id, window.end, window.approved_by) == ("mu-1", "a0", at(40), "Sam")
    assert window.reason == "system_issue: VPN" and window.start == approved_at
    assert writer.calls == 2 and rig.recorder.kinds().count("update_card:excused") == 1
    assert await rig.backend.outbox_length("mu-1") == 0
