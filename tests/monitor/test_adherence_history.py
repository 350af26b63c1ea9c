"""The adherence history the monitor's tick commit writes (what ``/book-training`` targets read), over
several simulated days on the injected clock: scripted agents give exactly the adherence % expected,
on the real Redis and in memory; on Redis its keys carry a TTL and stay one hash per unit per day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from redis.asyncio import Redis

from services.adapters.redis.history import RedisAdherenceHistory
from services.adapters.redis_keys import HISTORY_TTL, STATE_TTL, UnitKeys
from services.booking.ports import AdherenceHistory
from services.booking.targeting import Target, Targeting
from services.clock import ManualClock
from services.config import parse_org_config
from services.domain.model import ScheduledActivity
from services.domain.states import ActivityCategory, Presence, RoutingStatus
from services.monitor import Monitor
from tests.monitor.scripted import ScriptedSource
from tests.store_backends import MemoryBackend, RedisBackend, StoreBackend

DAY1 = date(2026, 5, 18)
DAYS = [DAY1 + timedelta(days=n) for n in range(3)]
TICK = timedelta(minutes=1)
SHIFT = timedelta(minutes=100)  # 09:00-10:40 on queue each day


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


class HistoryRig:
    """Two agents on queue 09:00-10:40 for three days: ``steady`` always adherent, ``drifter`` Away
    09:30-10:00 every day (30 of the 100 scheduled minutes), ``off`` on time off (never scheduled)."""

    def __init__(self, backend: StoreBackend) -> None:
        self.backend = backend
        self.clock = ManualClock(at(DAY1, 8, 58))
        self.source = ScriptedSource(self.clock)
        shifts = [ScheduledActivity(at(d, 9), at(d, 9) + SHIFT, ActivityCategory.ON_QUEUE_WORK) for d in DAYS]
        leave = [ScheduledActivity(at(d, 9), at(d, 9) + SHIFT, ActivityCategory.TIME_OFF) for d in DAYS]
        self.source.add_agent("steady", shifts, team_id="billing")
        self.source.add_agent("drifter", shifts, team_id="billing")
        self.source.add_agent("off", leave, team_id="billing")
        self.source.add_agent("support1", shifts, team_id="support")
        for agent in self.source.agents:
            self.source.set_state(agent, Presence.ON_QUEUE, RoutingStatus.IDLE, since=at(DAY1, 8))
        config = parse_org_config({"monitor": {"tick": "1m"}})
        self.monitor = Monitor(source=self.source, store=backend.new_store(), config=config, clock=self.clock,
                               replica_id="r1")

    async def run_days(self) -> None:
        for day in DAYS:
            # From 08:58 (before the shift: the first tick after a night is not on the schedule) to 10:45.
            self.clock.set(at(day, 8, 58))
            while self.clock.now() <= at(day, 10, 45):
                now = self.clock.now()
                if now == at(day, 9, 30):
                    self.source.set_state("drifter", Presence.AWAY, RoutingStatus.OFF_QUEUE)
                elif now == at(day, 10):
                    self.source.set_state("drifter", Presence.ON_QUEUE, RoutingStatus.IDLE)
                await self.monitor.tick()
                self.clock.advance(TICK)

    def history(self) -> AdherenceHistory:
        if isinstance(self.backend, RedisBackend):
            return RedisAdherenceHistory(self.backend.redis, self.backend.prefix)
        assert isinstance(self.backend, MemoryBackend)
        return self.backend.store.history


async def test_ticks_over_three_days_record_each_agents_scheduled_and_out_seconds(store_backend: StoreBackend):
    rig = HistoryRig(store_backend)
    await rig.run_days()
    record = await rig.history().days("mu-1", [DAY1 - timedelta(days=1), *DAYS])
    assert sorted(record) == DAYS  # the day before has no record: left out
    for day in DAYS:
        # 100 ticks on the schedule, 60 s each; the drifter out of adherence for 30 of them.
        assert record[day]["steady"] == (6000.0, 0.0)
        assert record[day]["drifter"] == (6000.0, 1800.0)
        assert "off" not in record[day]  # time off is not scheduled work: no denominator, not recorded


async def test_the_target_reads_seventy_percent_for_the_drifter_and_selects_only_it(store_backend: StoreBackend):
    rig = HistoryRig(store_backend)
    await rig.run_days()
    roster = await rig.source.roster("mu-1")
    targeting = Targeting(rig.history(), rig.clock)
    selection = await targeting.select(roster, Target(teams=("billing",), below=85.0, days=7))
    assert [(c.agent_id, round(c.adherence, 6)) for c in selection.selected] == [("drifter", 70.0)]
    assert [(c.agent_id, c.adherence) for c in selection.others] == [("steady", 100.0)]
    assert selection.without_data == ("off",)
    assert selection.coverage == "3 of 7 days have data"
    assert "support1" not in {c.agent_id for c in (*selection.selected, *selection.others)}  # not a named team
    # 70 % is not below 70 %: the threshold is strict.
    assert (await targeting.select(roster, Target(teams=("billing",), below=70.0, days=7))).selected == ()


@pytest.mark.redis
async def test_history_keys_expire_and_stay_one_hash_per_unit_per_day(redis_client: Redis, redis_prefix: str):
    rig = HistoryRig(RedisBackend(redis_client, redis_prefix))
    await rig.run_days()
    keys = UnitKeys(redis_prefix, "mu-1")
    found = sorted([k async for k in redis_client.scan_iter(match=f"{redis_prefix}:*adherence*", count=1000)])
    assert found == [keys.adherence_day(d) for d in DAYS]  # one hash per unit per day, in the unit's slot
    assert all("{mu-1}" in k for k in found)
    for key in found:
        ttl = await redis_client.ttl(key)
        assert STATE_TTL.total_seconds() < ttl <= HISTORY_TTL.total_seconds(), key
        # Bounded by the roster: at most a scheduled and an out field per agent.
        assert set(await redis_client.hkeys(key)) == {"s:steady", "s:drifter", "o:drifter", "s:support1"}
