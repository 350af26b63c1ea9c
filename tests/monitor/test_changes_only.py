"""Work proportional to changes: between full sweeps a tick evaluates only the agents whose live state,
track or due instant changed; pushed states are coalesced per agent and committed in micro-batches
(one commit per batch, no read per event). On the real Redis and in memory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, cast

from services.config import parse_org_config
from services.domain.escalation import IncidentEvent
from services.domain.model import AgentState
from services.domain.states import Presence, RoutingStatus
from services.monitor import Monitor
from services.ports import CommitResult, MonitorStore
from tests.monitor.test_monitor_on_redis import TICK, Rig, at
from tests.store_backends import StoreBackend


class CountingStore:
    """The real store, counting commits and track reads (what the push path must not do per event)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.commits, self.reads = inner, 0, 0
        self.committed_events: list[Sequence[IncidentEvent]] = []

    async def commit(self, mu_id: str, **kwargs: Any) -> CommitResult:
        self.commits += 1
        return cast(CommitResult, await self.inner.commit(mu_id, **kwargs))

    async def load_track(self, mu_id: str, agent_id: str) -> Any:
        self.reads += 1
        return await self.inner.load_track(mu_id, agent_id)

    async def load_tracks(self, mu_id: str) -> Any:
        self.reads += 1
        return await self.inner.load_tracks(mu_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def rig_with(store_backend: StoreBackend, agents: int, **monitor: str) -> tuple[Rig, CountingStore]:
    rig = Rig(store_backend, config=parse_org_config({"monitor": monitor}), agents=agents)
    counting = CountingStore(rig.backend.new_store())
    rig.monitor = Monitor(source=rig.source, store=cast(MonitorStore, counting), config=rig.config,
                          clock=rig.clock, replica_id="r1")
    return rig, counting


async def test_between_full_sweeps_a_tick_evaluates_only_what_changed(store_backend: StoreBackend) -> None:
    rig, _ = rig_with(store_backend, 50, full_sweep="2m")
    first = await rig.monitor.tick()
    assert first.units[0].evaluated == 50  # the first tick is a full sweep
    rig.clock.advance(TICK)
    assert (await rig.monitor.tick()).units[0].evaluated == 0  # states confirmed, nothing changed
    rig.source.set_state("a7", Presence.AWAY, RoutingStatus.OFF_QUEUE)
    rig.clock.advance(TICK)
    report = (await rig.monitor.tick()).units[0]
    assert report.evaluated == 1 and [e.incident.agent_id for e in report.events] == ["a7"]
    rig.clock.advance(TICK)
    assert (await rig.monitor.tick()).units[0].evaluated == 0  # its own commit is not read back (tracks version)
    rig.clock.set(at(2))
    assert (await rig.monitor.tick()).units[0].evaluated == 50  # full sweep: catches anything missed
    # The open incident still escalates on time, and out-of-adherence seconds still count, between sweeps.
    await rig.run_until(6)
    assert [action for action, _ in rig.fired()] == ["chat_card"]
    out = await rig.store.out_seconds("mu-1", at(0).date())
    assert set(out) == {"a7"} and out["a7"] >= 5 * 60


async def test_a_full_sweep_of_0s_evaluates_every_agent_every_tick(store_backend: StoreBackend) -> None:
    rig, _ = rig_with(store_backend, 20, full_sweep="0s")
    for _ in range(3):
        assert (await rig.monitor.tick()).units[0].evaluated == 20  # today's behaviour, kept as a switch
        rig.clock.advance(TICK)


async def test_a_burst_of_pushed_states_commits_the_last_state_of_each_agent_in_few_commits(
        store_backend: StoreBackend) -> None:
    rig, counting = rig_with(store_backend, 100)
    await rig.monitor.tick()
    commits, reads = counting.commits, counting.reads
    presences = [Presence.AWAY, Presence.BREAK, Presence.ON_QUEUE, Presence.MEAL, Presence.AWAY,
                 Presence.ON_QUEUE, Presence.BREAK, Presence.AVAILABLE, Presence.MEETING, Presence.AWAY]
    for step, presence in enumerate(presences):  # 10 changes for each of the 100 agents: 1,000 events
        rig.clock.advance(timedelta(milliseconds=20))
        for i in range(100):
            now = rig.clock.now()
            final = presence if i % 2 == 0 else Presence.ON_QUEUE
            routing = RoutingStatus.IDLE if final is Presence.ON_QUEUE else RoutingStatus.OFF_QUEUE
            rig.monitor.push("mu-1", AgentState(f"a{i}", final, routing, now - timedelta(milliseconds=step), now))
    events = await rig.monitor.flush_pushed()
    assert counting.commits - commits == 1  # one batch: one Lua commit
    assert counting.reads == reads  # no Redis read per event: the tracks are kept in the monitor
    board = await rig.store.statuses("mu-1")
    for i in range(100):  # the last state of each agent, not an earlier one
        expected = "NON_ADHERENT" if i % 2 == 0 else "ADHERENT"
        assert board[f"a{i}"].split("|")[0] == expected, i
        assert board[f"a{i}"].split("|")[2] == (Presence.AWAY if i % 2 == 0 else Presence.ON_QUEUE).value
    assert sorted(e.incident.agent_id for e in events) == sorted(f"a{i}" for i in range(0, 100, 2))
    tracks = await rig.store.load_tracks("mu-1")
    assert sorted(tracks) == sorted(f"a{i}" for i in range(0, 100, 2))


async def test_a_pushed_agent_another_writer_changed_is_reloaded_and_retried(store_backend: StoreBackend) -> None:
    rig, counting = rig_with(store_backend, 2)
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE, since=at(0))
    await rig.monitor.tick()  # opens a0's incident; the monitor keeps its track
    other = rig.new_monitor("r2")
    rig.clock.advance(TICK)
    rig.source.set_state("a0", Presence.BREAK, RoutingStatus.OFF_QUEUE)
    await other.tick()  # another replica moves a0's track on (a new version)
    now = rig.clock.now()
    rig.monitor.push("mu-1", AgentState("a0", Presence.ON_QUEUE, RoutingStatus.IDLE, now, now))
    reads = counting.reads
    assert await rig.monitor.flush_pushed() == []  # rejected (stale version): reloaded, and queued again
    assert counting.reads == reads + 1
    reads = counting.reads
    await rig.monitor.flush_pushed()
    assert counting.reads == reads
    track = (await rig.store.load_tracks("mu-1"))["a0"]
    assert track.incident is not None and track.incident.back_in_since == now  # the pushed state was applied
