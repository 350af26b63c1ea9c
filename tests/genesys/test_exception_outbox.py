"""An exception approved in Slack is written back to Genesys by the outbox, not by the interaction:
the approval answers at once while Genesys is slow and failing, and the explanation is written once,
also when Genesys stored it but its answer was lost, and never while the look for it fails."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from services.adapters.genesys.exception_writer import GenesysExceptionWriter
from services.adapters.genesys.source import GenesysSource
from services.adapters.redis.store import RedisStore
from services.clock import ManualClock
from services.config import OrgConfig
from services.dispatch import OutboxDispatcher
from services.domain.escalation import DEFAULT_POLICY, AgentTrack, FiredTier, Incident, TierAction
from services.domain.model import Person, Roster
from services.incident_actions import Actor, IncidentActions
from services.ports import MessageRef, TrackChange
from testing.fake_genesys import FakeGenesys
from testing.fake_genesys.model import Fault
from tests.monitor.scripted import Recorder

pytestmark = pytest.mark.redis

AGENT = "agent-a1-1"
WRITE_BACK = f"/agents/{AGENT}/adherence/explanations$"  # not its query route, which shares the prefix
LOOKUP = f"/agents/{AGENT}/adherence/explanations/query"


class AnyoneIsTheSupervisor:
    async def user_id_for(self, person: Person) -> str | None:
        return "U-SUP"


@dataclass
class Rig:
    store: RedisStore
    actions: IncidentActions
    dispatcher: OutboxDispatcher
    chat: Recorder
    incident: Incident
    clock: ManualClock

    async def approve(self) -> None:
        await self.actions.approve_exception("mu-a", AGENT, self.incident.id, Actor("U-SUP", "Sam"),
                                             until=self.clock.now() + timedelta(minutes=30),
                                             reason_code="system_issue")

    async def drain_later(self, minutes: int = 1) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        await self.dispatcher.drain(["mu-a"])

    async def outbox_length(self, redis_client: Redis) -> int:
        return int(await redis_client.xlen(self.store.keys("mu-a").outbox))


@pytest.fixture
async def rig(clock: ManualClock, source: GenesysSource, redis_client: Redis, redis_prefix: str) -> Rig:
    """An open incident of AGENT with its card posted, and the dispatcher writing back through the source."""
    store = RedisStore(redis_client, redis_prefix)
    wfm = await source.roster("mu-a")  # Genesys names no supervisors here: an ops manager from the config
    roster = Roster(replace(wfm.mu, ops_manager_ids=("ops",)), wfm.teams, wfm.agents,
                    {**wfm.people, "ops": Person("ops", "Olga Ops")})
    now = clock.now()
    incident = Incident(id=f"mu-a.{AGENT}.1", mu_id="mu-a", agent_id=AGENT, team_id=roster.agents[AGENT].team_id,
                        started_at=now - timedelta(minutes=6), policy=DEFAULT_POLICY, category="OnQueueWork",
                        presence="AWAY", routing="OFF_QUEUE", last_out_at=now,
                        fired=(FiredTier(index=0, action=TierAction.CHAT_CARD, at=now - timedelta(minutes=1)),))
    await store.commit("mu-a", changes=[TrackChange(AGENT, 0, AgentTrack(agent_id=AGENT, incident=incident))],
                       events=[], day=now.date())
    await store.save_card_ref("mu-a", incident.id, MessageRef("D1", "1.000"))  # its card was posted
    actions = IncidentActions(store=store, rosters={"mu-a": roster}.get, directory=AnyoneIsTheSupervisor(),
                              clock=clock)
    chat = Recorder(clock)
    dispatcher = OutboxDispatcher(store=RedisStore(redis_client, redis_prefix), chat=chat, email=chat,
                                  coaching=chat, rosters={"mu-a": roster}.get, clock=clock, config=OrgConfig(),
                                  exception_writer=GenesysExceptionWriter(source))
    return Rig(store, actions, dispatcher, chat, incident, clock)


async def test_approve_exception_answers_at_once_and_the_outbox_writes_it_back_once(
        fake: FakeGenesys, rig: Rig, redis_client: Redis) -> None:
    # Genesys hangs on the first write-back and then answers 503, and goes on failing for a while.
    fake.faults.append(Fault(WRITE_BACK, 503, times=1, method="POST", delay=1.0))
    fake.fail(WRITE_BACK, 503, times=5, method="POST")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await rig.approve()
    assert loop.time() - started < 1.0  # the interaction did not wait on Genesys
    assert not fake.requests_to(WRITE_BACK, "POST")

    await rig.dispatcher.drain(["mu-a"])  # slow, then failing (after the adapter's own tries): later
    assert fake.explanations == {} and rig.chat.kinds() == ["update_card:excused"]  # the card did not wait
    for _ in range(12):
        await rig.drain_later()
    assert len(fake.requests_to(WRITE_BACK, "POST")) == 7  # 6 failed, then one went through, and no more
    # every write was preceded by a look for it (a 503 may have been stored all the same)
    assert len(fake.requests_to(LOOKUP, "POST")) == 7
    (written,) = fake.explanations.values()
    assert (written["agent"]["id"], written["status"], written["lengthMinutes"]) == (AGENT, "Approved", 30)
    assert written["notes"] == f"Approved in Slack by Sam: system_issue [adherence-bot ref: {rig.incident.id}]"
    assert await rig.outbox_length(redis_client) == 0


async def test_a_write_back_stored_but_unanswered_is_retried_by_the_outbox_and_written_once(
        fake: FakeGenesys, rig: Rig, source: GenesysSource, redis_client: Redis) -> None:
    source.explanations.max_writes = 1  # no retry inside the step: the outbox's retry is the one under test
    fake.lose_response(WRITE_BACK, method="POST")  # Genesys stores it; the answer never arrives
    await rig.approve()
    await rig.dispatcher.drain(["mu-a"])
    assert len(fake.explanations) == 1 and await rig.outbox_length(redis_client) == 1  # step failed: retried
    await rig.drain_later()
    assert len(fake.explanations) == 1  # found, not written again
    assert len(fake.requests_to(WRITE_BACK, "POST")) == 1 and len(fake.requests_to(LOOKUP, "POST")) == 2
    assert await rig.outbox_length(redis_client) == 0  # and the step counts as delivered


async def test_while_the_lookup_fails_nothing_is_written_and_the_step_is_retried(
        fake: FakeGenesys, rig: Rig, redis_client: Redis) -> None:
    lookup_down = fake.fail(LOOKUP, 503, times=1000)
    await rig.approve()
    await rig.dispatcher.drain(["mu-a"])
    await rig.drain_later()
    assert fake.explanations == {} and not fake.requests_to(WRITE_BACK, "POST")
    assert rig.chat.kinds() == ["update_card:excused"] and await rig.outbox_length(redis_client) == 1
    lookup_down.times = lookup_down.hits  # the query answers again
    await rig.drain_later(minutes=5)
    assert len(fake.explanations) == 1 and len(fake.requests_to(WRITE_BACK, "POST")) == 1
    assert await rig.outbox_length(redis_client) == 0
