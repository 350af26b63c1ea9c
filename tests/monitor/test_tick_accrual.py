"""Issue 11.4: a tick costs what changes. Out-of-adherence and scheduled seconds accrue by segments
(a steady agent is not written per tick, yet its seconds keep counting as read back); the tracks are
re-read only when another writer moved them on (an excuse stops the out seconds at the next tick);
a source that reports its changes is not compared state by state. Manual clock; real Redis and memory."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, cast

from services.adapters.redis.history import RedisAdherenceHistory
from services.booking.ports import AdherenceHistory
from services.domain.model import Person
from services.domain.states import Presence, RoutingStatus
from services.incident_actions import Actor, IncidentActions
from services.monitor import Monitor
from services.ports import CommitResult, MonitorStore
from tests.monitor.test_monitor_on_redis import TICK, Rig, at
from tests.store_backends import MemoryBackend, RedisBackend, StoreBackend


class Directory:
    async def user_id_for(self, person: Person) -> str | None:
        return {"sup": "U-SUP"}.get(person.id)


class Spy:
    """The real store; keeps each tick commit's accrual argument (which agents' flags were sent)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.track_reads = inner, 0
        self.accruals: list[dict[str, str]] = []

    async def commit(self, mu_id: str, **kwargs: Any) -> CommitResult:
        if kwargs.get("accrual_seconds") is not None:
            self.accruals.append(dict(kwargs.get("accrual") or {}))
        return cast(CommitResult, await self.inner.commit(mu_id, **kwargs))

    async def tracks_if_changed(self, mu_id: str, known: int | None) -> Any:
        version, tracks = await self.inner.tracks_if_changed(mu_id, known)
        self.track_reads += tracks is not None
        return version, tracks

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def spied(rig: Rig) -> Spy:
    spy = Spy(rig.backend.new_store())
    rig.monitor = Monitor(source=rig.source, store=cast(MonitorStore, spy), config=rig.config, clock=rig.clock,
                          replica_id="r1")
    return spy


def history(rig: Rig) -> AdherenceHistory:
    if isinstance(rig.backend, RedisBackend):
        return RedisAdherenceHistory(rig.backend.redis, rig.backend.prefix)
    assert isinstance(rig.backend, MemoryBackend)
    return rig.backend.store.history


async def test_steady_agents_are_not_written_per_tick_yet_their_seconds_keep_counting(
        store_backend: StoreBackend) -> None:
    rig = Rig(store_backend, agents=3)
    spy = spied(rig)
    rig.source.set_state("a1", Presence.AWAY, RoutingStatus.OFF_QUEUE, since=at(0))
    await rig.monitor.tick()  # first tick: every agent's flags sent (segments opened)
    assert spy.accruals[0] == {"a0": "s", "a1": "so", "a2": "s"}
    for _ in range(4):
        rig.clock.advance(TICK)
        await rig.monitor.tick()
    assert spy.accruals[1:] == [{}, {}, {}, {}]  # nothing changed: no agent written
    day = at(0).date()
    assert await rig.store.out_seconds("mu-1", day) == {"a1": 75.0}  # 5 ticks of 15 s, read back open
    record = (await history(rig).days("mu-1", [day]))[day]
    assert record == {"a0": (75.0, 0.0), "a1": (75.0, 75.0), "a2": (75.0, 0.0)}
    rig.source.set_state("a1", Presence.ON_QUEUE, RoutingStatus.IDLE)  # back: its out segment closes
    rig.clock.advance(TICK)
    await rig.monitor.tick()
    assert spy.accruals[-1] == {"a1": "s"}
    for _ in range(2):
        rig.clock.advance(TICK)
        await rig.monitor.tick()
    assert await rig.store.out_seconds("mu-1", day) == {"a1": 75.0}  # stopped when it came back
    record = (await history(rig).days("mu-1", [day]))[day]
    assert record == {"a0": (120.0, 0.0), "a1": (120.0, 75.0), "a2": (120.0, 0.0)}


async def test_a_new_owner_resends_every_flag_and_keeps_the_seconds_exact(store_backend: StoreBackend) -> None:
    rig = Rig(store_backend, agents=2)
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE, since=at(0))
    await rig.monitor.tick()
    rig.clock.advance(TICK)
    await rig.monitor.tick()
    other = rig.new_monitor("r2")  # a restart: no memory of the open segments
    rig.clock.advance(TICK)
    await other.tick()
    rig.source.set_state("a0", Presence.ON_QUEUE, RoutingStatus.IDLE)
    rig.clock.advance(TICK)
    await other.tick()
    day = at(0).date()
    assert await rig.store.out_seconds("mu-1", day) == {"a0": 45.0}  # 3 ticks out, none counted twice
    assert (await history(rig).days("mu-1", [day]))[day]["a0"] == (60.0, 45.0)


async def test_an_excuse_by_another_writer_is_read_at_the_next_tick_and_stops_the_out_seconds(
        store_backend: StoreBackend) -> None:
    rig = Rig(store_backend, agents=3)
    spy = spied(rig)
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE, since=at(0))
    await rig.run_until(2)
    reads = spy.track_reads
    rig.clock.advance(TICK)
    await rig.monitor.tick()
    assert spy.track_reads == reads  # our own commits moved the version: not read back
    track = await rig.store.load_track("mu-1", "a0")
    assert track is not None and track.incident is not None
    actions = IncidentActions(store=rig.store, rosters=rig.monitor.roster, directory=Directory(), clock=rig.clock)
    await actions.approve_exception("mu-1", "a0", track.incident.id, Actor("U-SUP", "Sam"), until=at(40),
                                    reason_code="system_issue")
    day = at(0).date()
    before = (await rig.store.out_seconds("mu-1", day))["a0"]
    rig.clock.advance(TICK)
    report = (await rig.monitor.tick()).units[0]
    assert spy.track_reads == reads + 1 and report.evaluated == 1  # the excused agent only
    for _ in range(3):
        rig.clock.advance(TICK)
        await rig.monitor.tick()
    assert (await rig.store.out_seconds("mu-1", day))["a0"] == before  # excused: no more out seconds


class ReportingSource:
    """The scripted source, reporting which agents changed (``ChangeReporting``)."""

    def __init__(self, rig: Rig) -> None:
        self.inner, self.version, self.changed = rig.source, 0, set[str]()

    def set_state(self, agent_id: str, presence: Presence, routing: RoutingStatus) -> None:
        self.inner.set_state(agent_id, presence, routing)
        self.changed.add(agent_id)

    def changed_agents(self, mu_id: str, cursor: int | None) -> tuple[int, Collection[str] | None]:
        changed, self.changed = self.changed, set()
        self.version += 1
        return self.version, (None if cursor is None else changed)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_source_that_reports_its_changes_is_not_compared_state_by_state(
        store_backend: StoreBackend) -> None:
    rig = Rig(store_backend, agents=20)
    source = ReportingSource(rig)
    rig.monitor = Monitor(source=cast(Any, source), store=rig.backend.new_store(), config=rig.config,
                          clock=rig.clock, replica_id="r1")
    assert (await rig.monitor.tick()).units[0].evaluated == 20
    rig.source.set_state("a3", Presence.AWAY, RoutingStatus.OFF_QUEUE)  # not reported: not evaluated
    rig.clock.advance(TICK)
    assert (await rig.monitor.tick()).units[0].evaluated == 0
    source.set_state("a5", Presence.AWAY, RoutingStatus.OFF_QUEUE)
    rig.clock.advance(TICK)
    report = (await rig.monitor.tick()).units[0]
    assert report.evaluated == 1 and [e.incident.agent_id for e in report.events] == ["a5"]
    rig.clock.set(at(5))  # the full sweep still catches what the source did not report
    report = (await rig.monitor.tick()).units[0]
    assert report.evaluated == 20 and "a3" in {e.incident.agent_id for e in report.events}
