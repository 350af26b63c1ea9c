"""Every click is idempotent: a replayed signed payload (the same bytes, signature and timestamp sent
again), a double click (two clicks at once) or a click on a stale card changes nothing (state, audit,
deliveries) and the second click is told ephemerally what already happened, who did it and when.

Signed payloads through the real Slack app, the real use cases on real Redis, the fake Slack Web API,
and a ManualClock.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from presentation.blocks.incident_card import incident_ref
from presentation.payloads import ACKNOWLEDGE, APPROVE_EXCEPTION, ESCALATE, EXCEPTION_MODAL, MARK_OUTAGE, StormRef
from services.domain.escalation import IncidentStatus, TierAction
from services.domain.states import Presence, RoutingStatus
from testing.fake_slack import FakeSlack
from tests.slack.rig import MU, OPS_ID, SUPERVISOR_ID, SlackRig
from tests.slack.test_handlers import exception_values

pytestmark = pytest.mark.redis


@pytest.fixture
async def rig(redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack) -> AsyncIterator[SlackRig]:
    yield SlackRig(redis_client, redis_prefix, fake_slack)


async def kinds(rig: SlackRig) -> Counter[str]:
    return Counter(entry.get("kind", "") for entry in await rig.store.audit(MU))


def date_token(when: object) -> str:
    assert hasattr(when, "timestamp")
    return f"<!date^{int(when.timestamp())}^"


def texts(posts: list[dict[str, object]]) -> list[str]:
    return sorted(str(p["text"]) for p in posts)


# ---- Acknowledge -------------------------------------------------------------------------------

async def test_a_replayed_acknowledge_changes_nothing_and_says_who_was_first(rig: SlackRig,
                                                                            fake_slack: FakeSlack) -> None:
    incident = await rig.open_incident()
    body = rig.click_body(ACKNOWLEDGE, incident_ref(incident).dump(), SUPERVISOR_ID)
    stamp = int(time.time())
    assert (await rig.send(body, stamp)).status == 200
    await fake_slack.wait_for("webhook", 1)
    acked = await rig.incident()
    audit = await kinds(rig)
    rig.clock.advance(timedelta(seconds=2))

    assert (await rig.send(body, stamp)).status == 200  # the very same signed request, 2 s later
    posts = await fake_slack.wait_for("webhook", 2)
    assert posts[1]["response_type"] == "ephemeral" and posts[1]["replace_original"] is False
    assert posts[1]["text"] == (f"ℹ️ Already acknowledged by Sam Supervisor at {date_token(acked.acked_at)}"
                                "{time}|09:07 UTC>. Nothing changed.")
    assert await rig.incident() == acked  # same hold, same time, same person
    assert await kinds(rig) == audit and audit["acknowledged"] == 1
    assert rig.woken == 1  # the outbox was woken for the first click only


async def test_a_double_clicked_acknowledge_acknowledges_once(rig: SlackRig, fake_slack: FakeSlack) -> None:
    incident = await rig.open_incident()
    value = incident_ref(incident).dump()
    await asyncio.gather(rig.click(ACKNOWLEDGE, value, SUPERVISOR_ID, hook="one"),
                         rig.click(ACKNOWLEDGE, value, OPS_ID, hook="two"))
    posts = await fake_slack.wait_for("webhook", 2)
    after = await rig.incident()
    assert after.status is IncidentStatus.ACKNOWLEDGED and after.acked_by in ("Sam Supervisor", "Olga Ops")
    first, second = sorted(posts, key=lambda p: not str(p["text"]).startswith("✅"))
    assert str(first["text"]).startswith("✅ You acknowledged this alert.")
    assert str(second["text"]).startswith(f"ℹ️ Already acknowledged by {after.acked_by} at ")
    assert (await kinds(rig))["acknowledged"] == 1 and rig.woken == 1


# ---- Escalate now ------------------------------------------------------------------------------

async def test_a_replayed_escalate_fires_one_tier_not_the_tier_after_next(rig: SlackRig,
                                                                          fake_slack: FakeSlack) -> None:
    incident = await rig.open_incident()  # tier 1 (the card) fired; the card offers the email next
    assert len(incident.fired) == 1
    body = rig.click_body(ESCALATE, incident_ref(incident).dump(), OPS_ID)
    stamp = int(time.time())
    await rig.send(body, stamp)
    await fake_slack.wait_for("webhook", 1)
    escalated = await rig.incident()
    rig.clock.advance(timedelta(seconds=2))
    await rig.send(body, stamp)  # the replay that used to book the coaching appointment
    posts = await fake_slack.wait_for("webhook", 2)
    assert posts[0]["text"] == "⏫ Escalated now: email to the ops manager."
    email = escalated.fired[1]
    assert posts[1]["text"] == (f"ℹ️ Already escalated to email by Olga Ops at {date_token(email.at)}"
                                "{time}|09:07 UTC>. Nothing changed.")
    assert posts[1]["response_type"] == "ephemeral"
    after = await rig.incident()
    assert after == escalated and [f.action for f in after.fired] == [TierAction.CHAT_CARD, TierAction.EMAIL]
    assert (await kinds(rig))["tier_fired"] == 2  # the card and the email; no coaching
    assert rig.woken == 1


async def test_a_double_clicked_escalate_fires_one_tier(rig: SlackRig, fake_slack: FakeSlack) -> None:
    incident = await rig.open_incident()
    value = incident_ref(incident).dump()
    await asyncio.gather(rig.click(ESCALATE, value, OPS_ID, hook="one"),
                         rig.click(ESCALATE, value, SUPERVISOR_ID, hook="two"))
    posts = await fake_slack.wait_for("webhook", 2)
    after = await rig.incident()
    assert [f.action for f in after.fired] == [TierAction.CHAT_CARD, TierAction.EMAIL]
    by = after.fired[1].by
    assert texts(posts) == sorted(["⏫ Escalated now: email to the ops manager.",
                                   f"ℹ️ Already escalated to email by {by} at {date_token(after.fired[1].at)}"
                                   "{time}|09:07 UTC>. Nothing changed."])
    assert (await kinds(rig))["tier_fired"] == 2 and rig.woken == 1


async def test_escalate_on_a_stale_card_says_the_schedule_got_there_first(rig: SlackRig,
                                                                          fake_slack: FakeSlack) -> None:
    incident = await rig.open_incident()
    stale = incident_ref(incident).dump()  # the card as it stood with one tier fired
    await rig.run_until(17)  # the email tier fires by the clock at 16:15
    on_time = await rig.incident()
    assert [f.action for f in on_time.fired] == [TierAction.CHAT_CARD, TierAction.EMAIL]
    await rig.click(ESCALATE, stale, SUPERVISOR_ID)
    posts = await fake_slack.wait_for("webhook")
    assert posts[0]["text"].startswith("ℹ️ Already escalated to email on schedule at "
                                       f"{date_token(on_time.fired[1].at)}")
    assert await rig.incident() == on_time  # coaching was not booked 14 minutes early
    assert rig.woken == 0


async def test_a_card_from_before_the_version_field_uses_its_block_id(rig: SlackRig, fake_slack: FakeSlack) -> None:
    incident = await rig.open_incident()
    legacy = json.dumps({"m": MU, "a": "a0", "i": incident.id})  # what older cards carried
    body = rig.click_body(ESCALATE, legacy, OPS_ID, block_id="actions.1.open")
    stamp = int(time.time())
    await rig.send(body, stamp)
    await rig.send(body, stamp)
    posts = await fake_slack.wait_for("webhook", 2)
    assert posts[0]["text"] == "⏫ Escalated now: email to the ops manager."
    assert posts[1]["text"].startswith("ℹ️ Already escalated to email by Olga Ops")
    assert len((await rig.incident()).fired) == 2


async def test_an_escalate_that_cannot_say_what_it_showed_fires_nothing(rig: SlackRig,
                                                                        fake_slack: FakeSlack) -> None:
    incident = await rig.open_incident()
    legacy = json.dumps({"m": MU, "a": "a0", "i": incident.id})
    await rig.click(ESCALATE, legacy, OPS_ID, block_id="not-ours")
    posts = await fake_slack.wait_for("webhook")
    assert posts[0]["text"].startswith("🚫 This card is too old to escalate from")
    assert await rig.incident() == incident and rig.woken == 0


async def test_an_acknowledge_from_an_older_card_still_acknowledges(rig: SlackRig, fake_slack: FakeSlack) -> None:
    incident = await rig.open_incident()
    legacy = json.dumps({"m": MU, "a": "a0", "i": incident.id})
    await rig.click(ACKNOWLEDGE, legacy, SUPERVISOR_ID, block_id="not-ours")
    posts = await fake_slack.wait_for("webhook")
    assert posts[0]["text"].startswith("✅ You acknowledged this alert.")
    assert (await rig.incident()).acked_by == "Sam Supervisor"


# ---- Approve exception ---------------------------------------------------------------------------

async def open_modal(rig: SlackRig, fake_slack: FakeSlack) -> tuple[str, str]:
    incident = await rig.open_incident()
    await rig.click(APPROVE_EXCEPTION, incident_ref(incident).dump(), SUPERVISOR_ID)
    modal = (await fake_slack.wait_for("views.open"))[0].body["view"]
    meta = json.loads(modal["private_metadata"])
    assert meta["r"]["t"] == 1  # the modal carries what the card showed
    return incident.id, str(modal["private_metadata"])


async def test_a_replayed_exception_submission_changes_nothing(rig: SlackRig, fake_slack: FakeSlack) -> None:
    incident_id, metadata = await open_modal(rig, fake_slack)
    body = rig.submit_body(EXCEPTION_MODAL, metadata, exception_values(), SUPERVISOR_ID)
    stamp = int(time.time())
    first = await rig.send(body, stamp)
    assert first.status == 200 and first.body == ""
    track = await rig.store.load_track(MU, "a0")
    closed = await rig.store.closed_incident(MU, incident_id)
    assert track is not None and track.exception is not None and closed is not None
    audit = await kinds(rig)
    rig.clock.advance(timedelta(seconds=2))

    replay = json.loads((await rig.send(body, stamp)).body)
    assert replay["response_action"] == "update"
    notice = json.dumps(replay["view"], ensure_ascii=False)
    assert f"ℹ️ Already excused by Sam Supervisor at {date_token(closed.closed_at)}" in notice
    assert await rig.store.load_track(MU, "a0") == track  # the window did not move 2 s on
    assert await rig.store.closed_incident(MU, incident_id) == closed
    assert await kinds(rig) == audit and audit["excused"] == 1
    assert rig.woken == 1


async def test_a_double_submitted_exception_excuses_once(rig: SlackRig, fake_slack: FakeSlack) -> None:
    _, metadata = await open_modal(rig, fake_slack)
    first, second = await asyncio.gather(
        rig.submit(EXCEPTION_MODAL, metadata, exception_values(), SUPERVISOR_ID),
        rig.submit(EXCEPTION_MODAL, metadata, exception_values(window="60"), SUPERVISOR_ID))
    bodies = sorted([first.body, second.body], key=len)
    assert bodies[0] == "" and "Already excused by Sam Supervisor" in bodies[1]
    assert (await kinds(rig))["excused"] == 1 and rig.woken == 1


async def test_approve_on_a_card_already_excused_opens_no_form(rig: SlackRig, fake_slack: FakeSlack) -> None:
    incident_id, metadata = await open_modal(rig, fake_slack)
    await rig.submit(EXCEPTION_MODAL, metadata, exception_values(), SUPERVISOR_ID)
    closed = await rig.store.closed_incident(MU, incident_id)
    assert closed is not None
    stale = json.loads(metadata)["r"]
    await rig.click(APPROVE_EXCEPTION, json.dumps(stale), OPS_ID)  # the second click of a double click
    posts = await fake_slack.wait_for("webhook")
    assert posts[0]["text"].startswith(f"ℹ️ Already excused by Sam Supervisor at {date_token(closed.closed_at)}")
    assert posts[0]["response_type"] == "ephemeral"
    assert len(fake_slack.calls_to("views.open")) == 1


# ---- Mark as outage ----------------------------------------------------------------------------

async def storm(redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack) -> tuple[SlackRig, str]:
    rig = SlackRig(redis_client, redis_prefix, fake_slack, agents=4)
    await rig.run_until(1)
    for agent in ("a0", "a1", "a2"):
        rig.source.set_state(agent, Presence.AWAY, RoutingStatus.OFF_QUEUE)
    await rig.run_until(3)
    storm_id = (await rig.incident("a0")).storm_id
    assert storm_id is not None
    return rig, storm_id


async def exceptions(rig: SlackRig) -> dict[str, object]:
    tracks = await rig.store.load_tracks(MU)
    return {agent: track.exception for agent, track in tracks.items()}


async def test_a_replayed_mark_as_outage_changes_nothing(redis_client: Redis, redis_prefix: str,
                                                         fake_slack: FakeSlack) -> None:
    rig, storm_id = await storm(redis_client, redis_prefix, fake_slack)
    body = rig.click_body(MARK_OUTAGE, StormRef(mu_id=MU, storm_id=storm_id, marked=False).dump(), SUPERVISOR_ID)
    stamp = int(time.time())
    await rig.send(body, stamp)
    await fake_slack.wait_for("webhook", 1)
    windows = await exceptions(rig)
    audit = await kinds(rig)
    marked_at = rig.clock.now()
    rig.clock.advance(timedelta(seconds=2))
    await rig.send(body, stamp)
    posts = await fake_slack.wait_for("webhook", 2)
    assert posts[0]["text"].startswith("☑️ Marked as outage: 3 alerts closed")
    assert posts[1]["text"] == (f"ℹ️ Already marked as outage by Sam Supervisor at {date_token(marked_at)}"
                                "{time}|09:03 UTC>. Nothing changed.")
    assert await exceptions(rig) == windows and len(windows) == 3
    assert await kinds(rig) == audit and audit["excused"] == 3
    assert rig.woken == 1


async def test_a_double_clicked_mark_as_outage_marks_once(redis_client: Redis, redis_prefix: str,
                                                          fake_slack: FakeSlack) -> None:
    rig, storm_id = await storm(redis_client, redis_prefix, fake_slack)
    value = StormRef(mu_id=MU, storm_id=storm_id, marked=False).dump()
    await asyncio.gather(rig.click(MARK_OUTAGE, value, SUPERVISOR_ID, hook="one"),
                         rig.click(MARK_OUTAGE, value, OPS_ID, hook="two"))
    posts = await fake_slack.wait_for("webhook", 2)
    done, already = sorted(posts, key=lambda p: str(p["text"]).startswith("ℹ️"))
    assert str(done["text"]).startswith("☑️ Marked as outage: 3 alerts closed")
    assert str(already["text"]).startswith("ℹ️ Already marked as outage by ")
    assert (await kinds(rig))["excused"] == 3 and rig.woken == 1


async def test_an_outage_button_from_an_older_card_is_told_it_was_marked(redis_client: Redis, redis_prefix: str,
                                                                         fake_slack: FakeSlack) -> None:
    rig, storm_id = await storm(redis_client, redis_prefix, fake_slack)
    await rig.click(MARK_OUTAGE, StormRef(mu_id=MU, storm_id=storm_id, marked=False).dump(), OPS_ID, hook="one")
    await fake_slack.wait_for("webhook", 1)  # the click is acked before it is handled: let the first one finish
    await rig.click(MARK_OUTAGE, json.dumps({"m": MU, "s": storm_id}), SUPERVISOR_ID, hook="two")
    posts = await fake_slack.wait_for("webhook", 2)
    assert posts[1]["text"].startswith("ℹ️ Already marked as outage by Olga Ops at ")
    assert (await kinds(rig))["excused"] == 3
