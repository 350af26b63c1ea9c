"""The new card controls through the Slack app, on Redis and on the in-memory store: who may press them,
what they store (audited), and that two replicas pressing at once settle on one winner."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from presentation.blocks.incident_card import incident_ref
from presentation.blocks.nudge import agent_ref
from presentation.payloads import AGENT_ON_A_CALL, STORM_ACK_ALL, UNACKNOWLEDGE, UNSNOOZE, StormRef
from services.domain.escalation import AlreadyDone, ReplyKind
from services.domain.model import Agent
from services.domain.states import Presence, RoutingStatus
from services.incident_actions import Actor, IncidentActions
from testing.fake_slack import FakeSlack
from tests.slack.rig import MU, OPS_ID, STRANGER_ID, SUPERVISOR_ID, SlackRig
from tests.slack.samples import view
from tests.store_backends import StoreBackend

pytestmark = pytest.mark.redis


@pytest.fixture
async def rig(redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack,
              store_backend: StoreBackend) -> AsyncIterator[SlackRig]:
    yield SlackRig(redis_client, redis_prefix, fake_slack, store=store_backend.new_store())


async def test_snooze_is_stored_on_the_incident_audited_and_only_for_who_may_act(
        rig: SlackRig, fake_slack: FakeSlack) -> None:
    incident = await rig.open_incident()
    sam = Actor(SUPERVISOR_ID, "Sam Supervisor")
    with pytest.raises(Exception, match="Only the agent's supervisors"):
        await rig.actions.snooze(MU, "a0", incident.id, Actor(STRANGER_ID, "Eve"), choice="60", shown=0)
    snoozed = await rig.actions.snooze(MU, "a0", incident.id, sam, choice="15", shown=0)
    assert snoozed.snooze is not None and snoozed.snooze.until == rig.clock.now() + timedelta(minutes=15)
    assert [a["kind"] for a in await rig.store.audit(MU)].count("snoozed") == 1

    await rig.click(UNSNOOZE, incident_ref(snoozed).dump(), OPS_ID)
    assert (await fake_slack.wait_for("webhook"))[0]["text"].startswith("⏰ Unsnoozed")
    after = await rig.incident()
    assert after.snooze is not None and after.snooze.lifted_by == "Olga Ops" and not after.snoozed(rig.clock.now())


async def test_two_replicas_snoozing_at_once_settle_on_one(rig: SlackRig) -> None:
    incident = await rig.open_incident()
    other = IncidentActions(store=rig.store, rosters=rig.monitor.roster, directory=rig.directory, clock=rig.clock)
    results = await asyncio.gather(
        rig.actions.snooze(MU, "a0", incident.id, Actor(SUPERVISOR_ID, "Sam Supervisor"), choice="60", shown=0),
        other.snooze(MU, "a0", incident.id, Actor(OPS_ID, "Olga Ops"), choice="240", shown=0),
        return_exceptions=True)
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, AlreadyDone)]
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].done is not None and lost[0].done.what == "snoozed"
    stored = await rig.incident()
    assert stored.snooze is not None and stored.snooze.seq == 1


async def test_unacknowledge_only_when_acknowledged(rig: SlackRig, fake_slack: FakeSlack) -> None:
    incident = await rig.open_incident()
    await rig.click(UNACKNOWLEDGE, incident_ref(incident).dump(), SUPERVISOR_ID)
    assert "This alert is not acknowledged" in (await fake_slack.wait_for("webhook"))[0]["text"]
    acked = await rig.actions.acknowledge(MU, "a0", incident.id, Actor(SUPERVISOR_ID, "Sam Supervisor"))
    await rig.click(UNACKNOWLEDGE, incident_ref(acked).dump(), OPS_ID, hook="2")
    assert (await fake_slack.wait_for("webhook", 2))[1]["text"].startswith("↩️ Unacknowledged")
    after = await rig.incident()
    assert after.acked_by is None and after.unacked_by == "Olga Ops" and after.hold_until is None


async def test_only_the_agent_answers_the_nudge(rig: SlackRig, fake_slack: FakeSlack) -> None:
    rig.source.agents["a0"] = Agent("a0", "Alex Agent", "t1", MU, email="alex@example.com")
    fake_slack.users_by_email["alex@example.com"] = "U0AGENT01"
    incident = await rig.open_incident()
    value = agent_ref(view(incident, rig.clock.now())).dump()
    await rig.click(AGENT_ON_A_CALL, value, OPS_ID)  # the ops manager may act on alerts, not answer for the agent
    assert "Only the agent" in (await fake_slack.wait_for("webhook"))[0]["text"]
    await rig.click(AGENT_ON_A_CALL, value, "U0AGENT01", hook="2")
    await fake_slack.wait_for("webhook", 2)
    reply = (await rig.incident()).agent_reply
    assert reply is not None and reply.kind is ReplyKind.ON_A_CALL
    assert [a["kind"] for a in await rig.store.audit(MU)].count("agent_replied") == 1


async def test_acknowledge_all_acknowledges_every_member_of_the_storm(
        redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack, store_backend: StoreBackend) -> None:
    rig = SlackRig(redis_client, redis_prefix, fake_slack, agents=4, store=store_backend.new_store())
    await rig.run_until(1)
    for agent in ("a0", "a1", "a2"):
        rig.source.set_state(agent, Presence.AWAY, RoutingStatus.OFF_QUEUE)
    await rig.run_until(8)
    storm_id = (await rig.incident("a0")).storm_id
    assert storm_id is not None
    await rig.click(STORM_ACK_ALL, StormRef(mu_id=MU, storm_id=storm_id).dump(), SUPERVISOR_ID)
    assert (await fake_slack.wait_for("webhook"))[0]["text"] == "✅ Acknowledged: 3 alerts."
    assert [(await rig.incident(a)).acked_by for a in ("a0", "a1", "a2")] == ["Sam Supervisor"] * 3
