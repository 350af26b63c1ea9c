"""An exception approved in Slack is written back to Genesys by the outbox, not by the interaction:
the approval answers at once while Genesys is slow and failing, and the explanation is written once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
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
WRITE_BACK = f"/agents/{AGENT}/adherence/explanations"


class AnyoneIsTheSupervisor:
    async def user_id_for(self, person: Person) -> str | None:
        return "U-SUP"


async def test_approve_exception_answers_at_once_and_the_outbox_writes_it_back_once(
        fake: FakeGenesys, clock: ManualClock, source: GenesysSource, redis_client: Redis,
        redis_prefix: str) -> None:
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

    # Genesys hangs on the first write-back and then answers 503, and goes on failing for a while.
    fake.faults.append(Fault(WRITE_BACK, 503, times=1, method="POST", delay=1.0))
    fake.fail(WRITE_BACK, 503, times=5, method="POST")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await actions.approve_exception("mu-a", AGENT, incident.id, Actor("U-SUP", "Sam"),
                                    until=now + timedelta(minutes=30), reason_code="system_issue")
    assert loop.time() - started < 1.0  # the interaction did not wait on Genesys
    assert not fake.requests_to(WRITE_BACK, "POST")

    await dispatcher.drain(["mu-a"])  # slow, then failing (after the client's own retries): later
    assert fake.explanations == {} and chat.kinds() == ["update_card:excused"]  # the card did not wait
    for _ in range(12):
        clock.advance(timedelta(minutes=1))
        await dispatcher.drain(["mu-a"])
    assert len(fake.requests_to(WRITE_BACK, "POST")) == 7  # 6 failed, then one went through, and no more
    (written,) = fake.explanations.values()
    assert (written["agent"]["id"], written["status"], written["lengthMinutes"]) == (AGENT, "Approved", 30)
    assert "Approved in Slack by Sam: system_issue" in written["notes"]
    assert await redis_client.xlen(store.keys("mu-a").outbox) == 0
