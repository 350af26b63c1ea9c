"""``ports.ChangeReporting`` on the Genesys source, against the fake Genesys: which agents' states
changed (pushed notifications, REST reconciliation, a hold and its release) since a cursor, and None
when the cursor is lost or unknown; the monitor's tick evaluates only those between full sweeps."""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis

from services.adapters.genesys.source import GenesysSource
from services.adapters.genesys.state_changes import KEPT, ChangeLog
from services.adapters.redis.store import RedisStore
from services.clock import ManualClock
from services.config import OrgConfig
from services.domain.states import Presence
from services.monitor import Monitor
from services.ports import ChangeReporting
from testing.fake_genesys import FakeGenesys
from tests.genesys.conftest import eventually


def cursor_of(source: GenesysSource, mu_id: str) -> int:
    cursor, changed = source.changed_agents(mu_id, None)
    assert changed is None  # no cursor yet: the reader compares everything once
    return cursor


async def test_a_pushed_change_is_reported_once_and_only_in_its_unit(source: GenesysSource, fake: FakeGenesys,
                                                                     clock: ManualClock) -> None:
    assert isinstance(source, ChangeReporting)
    a, b = cursor_of(source, "mu-a"), cursor_of(source, "mu-b")
    clock.advance(timedelta(seconds=20))
    await fake.set_presence("agent-b2-3", "Away")
    await eventually(lambda: source.table.get("agent-b2-3").presence is Presence.AWAY,  # type: ignore[union-attr]
                     what="the event")
    b, changed = source.changed_agents("mu-b", b)
    assert set(changed or ()) == {"agent-b2-3"}
    assert source.changed_agents("mu-a", a)[1] == set()
    assert source.changed_agents("mu-b", b)[1] == set()  # reported once


async def test_a_reconciled_change_is_reported_and_a_state_observed_again_is_not(
        source: GenesysSource, fake: FakeGenesys, clock: ManualClock) -> None:
    cursor = cursor_of(source, "mu-b")
    await fake.set_presence("agent-b1-3", "Offline", push=False)  # Genesys lost this event
    await fake.send_heartbeats()  # confirms everyone's state: observed again, not changed
    clock.advance(timedelta(minutes=5))
    await source.maintain()  # the periodic REST reconciliation finds it
    cursor, changed = source.changed_agents("mu-b", cursor)
    assert set(changed or ()) == {"agent-b1-3"}
    await source.reconcile(["agent-b1-1", "agent-b1-3"])  # same states read again
    assert source.changed_agents("mu-b", cursor)[1] == set()


async def test_a_dropped_channel_reports_its_held_agents_and_again_when_released(
        source: GenesysSource, fake: FakeGenesys) -> None:
    cursor = cursor_of(source, "mu-a")
    await fake.outage()
    await eventually(lambda: source.feed_down_since() is not None, what="the source noticing the drop")
    cursor, changed = source.changed_agents("mu-a", cursor)
    assert set(changed or ()) == set(source.catalog.rosters["mu-a"][1].agents)  # unconfirmed now
    await fake.outage(False)
    await eventually(lambda: source.feed_down_since() is None, timeout=8.0, what="reconnect and release")
    assert set(source.changed_agents("mu-a", cursor)[1] or ()) == set(source.catalog.rosters["mu-a"][1].agents)


async def test_a_lost_or_unknown_cursor_says_compare_everything(source: GenesysSource, fake: FakeGenesys) -> None:
    first = cursor_of(source, "mu-a")
    await fake.set_presence("agent-a1-1", "Away")
    await eventually(lambda: source.table.get("agent-a1-1").presence is Presence.AWAY,  # type: ignore[union-attr]
                     what="the event")
    cursor = first
    for _ in range(KEPT + 1):  # one more period than is kept since ``first``
        cursor, _ = source.changed_agents("mu-a", cursor)
    assert source.changed_agents("mu-a", first)[1] is None  # older than what is kept
    assert source.changed_agents("mu-a", cursor + 1000)[1] is None  # never handed out
    elsewhere, _ = ChangeLog().since("mu-a", None)  # another table's cursor (a source made again)
    assert source.changed_agents("mu-a", elsewhere)[1] is None


async def test_between_full_sweeps_the_tick_evaluates_only_the_reported_agents(
        source: GenesysSource, fake: FakeGenesys, clock: ManualClock, org_config: OrgConfig, redis_client: Redis,
        redis_prefix: str) -> None:
    monitor = Monitor(source=source, store=RedisStore(redis_client, redis_prefix), config=org_config, clock=clock,
                      replica_id="changes")
    first = await monitor.tick()  # a full sweep: every agent
    assert sum(u.evaluated for u in first.units) == 12
    clock.advance(timedelta(seconds=15))
    await fake.set_presence("agent-a2-2", "Away")
    await eventually(lambda: source.table.get("agent-a2-2").presence is Presence.AWAY,  # type: ignore[union-attr]
                     what="the event")
    second = await monitor.tick()
    assert {u.mu_id: u.evaluated for u in second.units} == {"mu-a": 1, "mu-b": 0}
