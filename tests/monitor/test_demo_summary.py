"""The demo's summary counts what was delivered: a team outage of N agents is N alerts and 1 card."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from bot.demo import Narrator, print_summary, summary_rows
from bot.demo_tally import DeliveryTally
from services.dispatch import OutboxDispatcher
from services.domain.states import Presence, RoutingStatus
from tests.monitor.test_monitor_on_redis import TICK, Rig, at


async def _run(rig: Rig, tally: DeliveryTally, narrator: Narrator, minutes: float) -> None:
    dispatcher = OutboxDispatcher(store=rig.store, chat=tally.chat(rig.recorder), email=tally.email(rig.recorder),
                                  coaching=tally.coaching_port(rig.recorder), rosters=rig.monitor.roster,
                                  clock=rig.clock, config=rig.config)
    while rig.clock.now() <= at(minutes):
        narrator.record(await rig.monitor.tick(), rig.monitor)
        await dispatcher.drain(["mu-1"])
        rig.clock.advance(TICK)


async def test_a_team_outage_is_one_card_and_each_agent_an_alert(redis_client: Redis, redis_prefix: str,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    rig = Rig(redis_client, redis_prefix, agents=8)
    tally, narrator = DeliveryTally(rig.monitor.roster), Narrator(rig.clock, quiet=True)
    await _run(rig, tally, narrator, 1)
    for i in range(5):
        rig.source.set_state(f"a{i}", Presence.OFFLINE, RoutingStatus.OFFLINE)
    await _run(rig, tally, narrator, 20)  # past the email tier (15 min) too

    [row] = await summary_rows(rig.monitor, rig.store, narrator, tally, rig.clock.now())
    assert (row.agents, row.alerts, row.cards) == (8, 5, 1)
    assert row.emails == 5 == rig.recorder.kinds().count("email")  # email goes per incident
    assert row.coaching == 0
    print_summary([row], rig.clock.now())
    printed = capsys.readouterr().out.splitlines()
    header = next(line for line in printed if "alerts" in line and "cards" in line).split()
    values = printed[printed.index(next(line for line in printed if "alerts" in line and "cards" in line)) + 1]
    columns = dict(zip(header[1:], values.split()[-6:], strict=True))
    assert (columns["alerts"], columns["cards"], columns["emails"]) == ("5", "1", "5")


async def test_separate_incidents_get_a_card_each(redis_client: Redis, redis_prefix: str) -> None:
    rig = Rig(redis_client, redis_prefix, agents=8)
    tally, narrator = DeliveryTally(rig.monitor.roster), Narrator(rig.clock, quiet=True)
    await _run(rig, tally, narrator, 1)
    for i in range(2):  # two of eight: not an outage
        rig.source.set_state(f"a{i}", Presence.AWAY, RoutingStatus.OFF_QUEUE)
    await _run(rig, tally, narrator, 7)
    [row] = await summary_rows(rig.monitor, rig.store, narrator, tally, rig.clock.now())
    assert (row.alerts, row.cards, row.emails) == (2, 2, 0)
