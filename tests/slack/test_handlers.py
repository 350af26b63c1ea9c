"""The Slack listeners, driven by signed payloads through AsyncApp.async_dispatch (as bolt-python tests
itself), on the real use cases over real Redis, answering through the fake Slack Web API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from handlers.app import BOOKING_UNAVAILABLE
from presentation.blocks.incident_card import incident_ref
from presentation.payloads import ACKNOWLEDGE, APPROVE_EXCEPTION, ESCALATE, EXCEPTION_MODAL, MARK_OUTAGE, StormRef
from services.domain.escalation import IncidentStatus, TierAction
from services.domain.states import Presence, RoutingStatus
from testing.fake_slack import FakeSlack
from tests.slack import signed
from tests.slack.blockkit import assert_valid_blocks, assert_valid_view
from tests.slack.rig import MU, OPS_ID, STRANGER_ID, SUPERVISOR_ID, SlackRig, at
from tests.store_backends import StoreBackend

pytestmark = pytest.mark.redis


@pytest.fixture
async def rig(redis_client: Redis, redis_prefix: str, fake_slack: FakeSlack,
              store_backend: StoreBackend) -> AsyncIterator[SlackRig]:
    """Each test runs with the use cases on Redis and on the in-memory store."""
    yield SlackRig(redis_client, redis_prefix, fake_slack, store=store_backend.new_store())


def exception_values(window: str = "30", reason: str | None = "system_issue", note: str | None = "VPN down"
                     ) -> dict[str, Any]:
    selected = {"text": {"type": "plain_text", "text": "x"}, "value": reason} if reason else None
    return {
        "window": {"value": {"type": "static_select",
                             "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": window}}},
        "reason": {"value": {"type": "static_select", "selected_option": selected}},
        "note": {"value": {"type": "plain_text_input", "value": note}},
    }


async def test_acknowledge_by_the_supervisor(rig: SlackRig, fake_slack: FakeSlack) -> None:
    incident = await rig.open_incident()
    response = await rig.click(ACKNOWLEDGE, incident_ref(incident).dump(), SUPERVISOR_ID)
    assert response.status == 200
    posts = await fake_slack.wait_for("webhook")
    assert posts[0]["response_type"] == "ephemeral" and posts[0]["replace_original"] is False
    assert "You acknowledged this alert" in posts[0]["text"]
    after = await rig.incident()
    assert after.status is IncidentStatus.ACKNOWLEDGED
    assert after.acked_by == "Sam Supervisor"  # real name from users.info, not the handle
    assert after.hold_until == after.acked_at + rig.config.monitor.ack_timeout  # type: ignore[operator]
    audit = await rig.store.audit(MU)
    assert [a for a in audit if a.get("kind") == "acknowledged"], audit
    assert rig.woken == 1


async def test_second_acknowledge_says_who_was_first(rig: SlackRig, fake_slack: FakeSlack) -> None:
    incident = await rig.open_incident()
    await rig.click(ACKNOWLEDGE, incident_ref(incident).dump(), SUPERVISOR_ID, hook="first")
    await fake_slack.wait_for("webhook", 1)
    response = await rig.click(ACKNOWLEDGE, incident_ref(incident).dump(), OPS_ID, hook="second")
    assert response.status == 200
    posts = await fake_slack.wait_for("webhook", 2)
    assert posts[1]["text"].startswith("ℹ️ Already acknowledged by Sam Supervisor at <!date^")
    assert posts[1]["response_type"] == "ephemeral"
    assert (await rig.incident()).acked_by == "Sam Supervisor"
    assert rig.woken == 1


async def test_someone_who_may_not_act_gets_an_ephemeral_refusal(rig: SlackRig, fake_slack: FakeSlack) -> None:
    incident = await rig.open_incident()
    for action in (ACKNOWLEDGE, ESCALATE, APPROVE_EXCEPTION):
        await rig.click(action, incident_ref(incident).dump(), STRANGER_ID)
    posts = await fake_slack.wait_for("webhook", 3)
    assert fake_slack.calls_to("views.open") == []  # refused at the click, not after filling in a form
    for post in posts:
        assert post["text"].startswith("🚫 Only the agent's supervisors and the unit's ops managers may act")
        assert post["response_type"] == "ephemeral" and post["replace_original"] is False
    after = await rig.incident()
    assert after.acked_by is None and len(after.fired) == 1
    assert rig.woken == 0


async def test_escalate_now_fires_the_next_tier(rig: SlackRig, fake_slack: FakeSlack) -> None:
    incident = await rig.open_incident()
    await rig.click(ESCALATE, incident_ref(incident).dump(), OPS_ID)
    posts = await fake_slack.wait_for("webhook")
    assert posts[0]["text"] == "⏫ Escalated now: email to the ops manager."
    after = await rig.incident()
    assert [f.action for f in after.fired] == [TierAction.CHAT_CARD, TierAction.EMAIL]
    assert after.fired[-1].by == "Olga Ops"


async def test_approve_exception_opens_the_modal_and_the_submission_excuses(
        rig: SlackRig, fake_slack: FakeSlack) -> None:
    incident = await rig.open_incident()
    await rig.click(APPROVE_EXCEPTION, incident_ref(incident).dump(), SUPERVISOR_ID)
    opened = (await fake_slack.wait_for("views.open"))[0].body
    assert opened["trigger_id"] == "4916855695380.1.trigger"
    modal = opened["view"]
    assert_valid_view(modal)
    assert modal["callback_id"] == EXCEPTION_MODAL

    now = rig.clock.now()
    response = await rig.submit(EXCEPTION_MODAL, modal["private_metadata"], exception_values(), SUPERVISOR_ID)
    assert response.status == 200 and response.body == ""  # an empty ack closes the modal
    closed = await rig.store.closed_incident(MU, incident.id)
    assert closed is not None and closed.status is IncidentStatus.EXCUSED
    assert (closed.closed_by, closed.close_reason) == ("Sam Supervisor", "system_issue: VPN down")
    track = await rig.store.load_track(MU, "a0")
    assert track is not None and track.incident is None and track.exception is not None
    assert track.exception.end - now == timedelta(minutes=30)
    confirmation = (await fake_slack.wait_for("chat.postEphemeral"))[0].body
    assert (confirmation["channel"], confirmation["user"]) == ("D0CARD001", SUPERVISOR_ID)
    assert "Exception approved until" in confirmation["text"]


async def test_exception_form_errors_are_shown_in_the_modal(rig: SlackRig, fake_slack: FakeSlack) -> None:
    incident = await rig.open_incident()
    await rig.click(APPROVE_EXCEPTION, incident_ref(incident).dump(), SUPERVISOR_ID)
    metadata = (await fake_slack.wait_for("views.open"))[0].body["view"]["private_metadata"]
    response = await rig.submit(EXCEPTION_MODAL, metadata, exception_values(reason="other", note=None),
                                SUPERVISOR_ID)
    assert json.loads(response.body) == {"response_action": "errors",
                                         "errors": {"note": "Add a note when the reason is Other."}}
    response = await rig.submit(EXCEPTION_MODAL, metadata, exception_values(window="99999", reason=None),
                                SUPERVISOR_ID)
    assert set(json.loads(response.body)["errors"]) == {"window", "reason"}
    assert (await rig.incident()).status is IncidentStatus.OPEN


async def test_exception_refused_or_too_late_is_explained_in_the_modal(rig: SlackRig, fake_slack: FakeSlack) -> None:
    incident = await rig.open_incident()
    # A submission is checked again (a modal forwarded to someone else, or metadata replayed).
    await rig.click(APPROVE_EXCEPTION, incident_ref(incident).dump(), SUPERVISOR_ID)
    metadata = (await fake_slack.wait_for("views.open"))[0].body["view"]["private_metadata"]
    refused = json.loads((await rig.submit(EXCEPTION_MODAL, metadata, exception_values(), STRANGER_ID)).body)
    assert refused["response_action"] == "update"
    assert_valid_view(refused["view"])
    assert "Only the agent's supervisors" in json.dumps(refused["view"])
    assert (await rig.incident()).status is IncidentStatus.OPEN

    rig.source.set_state("a0", Presence.ON_QUEUE, RoutingStatus.IDLE)  # back in; resolves after clear_after
    await rig.run_until(10)
    late = json.loads((await rig.submit(EXCEPTION_MODAL, metadata, exception_values(), SUPERVISOR_ID)).body)
    assert "Already resolved at <!date^" in json.dumps(late["view"])


async def test_a_tampered_button_value_is_refused(rig: SlackRig, fake_slack: FakeSlack) -> None:
    await rig.click(ACKNOWLEDGE, '{"m": "mu-1"}', SUPERVISOR_ID)
    posts = await fake_slack.wait_for("webhook")
    assert "out of date or not from this bot" in posts[0]["text"]


async def test_mark_as_outage_excuses_the_whole_storm(redis_client: Redis, redis_prefix: str,
                                                      fake_slack: FakeSlack) -> None:
    rig = SlackRig(redis_client, redis_prefix, fake_slack, agents=4)
    await rig.run_until(1)
    for agent in ("a0", "a1", "a2"):
        rig.source.set_state(agent, Presence.AWAY, RoutingStatus.OFF_QUEUE)
    await rig.run_until(3)
    storm_id = (await rig.incident("a0")).storm_id
    assert storm_id is not None and storm_id == (await rig.incident("a2")).storm_id
    await rig.click(MARK_OUTAGE, StormRef(mu_id=MU, storm_id=storm_id).dump(), STRANGER_ID, hook="stranger")
    refused = await fake_slack.wait_for("webhook")
    assert refused[0]["text"].startswith("🚫 Only the agent's supervisors")
    await rig.click(MARK_OUTAGE, StormRef(mu_id=MU, storm_id=storm_id).dump(), SUPERVISOR_ID, hook="sup")
    posts = await fake_slack.wait_for("webhook", 2)
    assert posts[1]["text"].startswith("☑️ Marked as outage: 3 alerts closed")
    for agent in ("a0", "a1", "a2"):
        track = await rig.store.load_track(MU, agent)
        assert track is not None and track.incident is None and track.exception is not None


async def test_adherence_team_snapshot(rig: SlackRig, fake_slack: FakeSlack) -> None:
    await rig.open_incident()
    response = await rig.command("team Team t1", SUPERVISOR_ID)
    assert response.status == 200
    post = (await fake_slack.wait_for("webhook"))[0]
    assert post["response_type"] == "ephemeral"
    assert_valid_blocks(post["blocks"])
    text = json.dumps(post["blocks"], ensure_ascii=False)
    assert "Team t1 · Scripted unit" in text
    assert "🔴 *Agent a0* · scheduled On-queue work · actually Away · Off queue · out of adherence for 6 min" in text
    assert "incident open, 6 min out" in text
    assert "🟢 *Agent a1*" in text and "100% today" in text


@pytest.mark.parametrize(("text", "user", "expected"), [
    ("", SUPERVISOR_ID, "/adherence team Team t1"),
    ("team", SUPERVISOR_ID, "Team t1 · Scripted unit"),  # the caller's only team
    ("help", SUPERVISOR_ID, "/adherence team &lt;name&gt;"),
    ("what", SUPERVISOR_ID, "I don't know “what”"),
    ("team Nope", OPS_ID, "No team you can see matches *Nope*"),
    ("team Nope", STRANGER_ID, "You can't see any team"),
    ("", STRANGER_ID, "You don't supervise a team"),
    ("team Team t1", STRANGER_ID, "No team you can see matches"),
])
async def test_adherence_variants(rig: SlackRig, fake_slack: FakeSlack, text: str, user: str, expected: str) -> None:
    await rig.run_until(0)
    await rig.command(text, user)
    post = (await fake_slack.wait_for("webhook"))[0]
    assert_valid_blocks(post["blocks"])
    assert post["response_type"] == "ephemeral"
    assert expected in json.dumps(post["blocks"], ensure_ascii=False)


async def test_unknown_team_lists_the_teams_the_caller_may_see(rig: SlackRig, fake_slack: FakeSlack) -> None:
    await rig.run_until(0)
    await rig.command("team Nope", SUPERVISOR_ID)
    text = json.dumps((await fake_slack.wait_for("webhook"))[0]["blocks"], ensure_ascii=False)
    assert "Teams you can see" in text and "/adherence team Team t1" in text


async def test_app_home_shows_open_incidents_and_teams(rig: SlackRig, fake_slack: FakeSlack) -> None:
    await rig.open_incident()
    response = await rig.event({"type": "app_home_opened", "user": SUPERVISOR_ID, "channel": "D0HOME001",
                                "tab": "home", "event_ts": "1700000000.1"})
    assert response.status == 200
    published = (await fake_slack.wait_for("views.publish"))[0].body
    assert published["user_id"] == SUPERVISOR_ID
    assert_valid_view(published["view"])
    text = json.dumps(published["view"], ensure_ascii=False)
    assert "Your open incidents* (1)" in text and "*Agent a0* (Team t1)" in text
    assert "/adherence team Team t1" in text


async def test_messages_tab_is_ignored(rig: SlackRig, fake_slack: FakeSlack) -> None:
    await rig.event({"type": "app_home_opened", "user": SUPERVISOR_ID, "channel": "D0HOME001",
                     "tab": "messages", "event_ts": "1700000000.1"})
    await rig.event({"type": "app_home_opened", "user": OPS_ID, "channel": "D0HOME002",
                     "tab": "home", "event_ts": "1700000000.2"})
    published = await fake_slack.wait_for("views.publish")
    assert [p.body["user_id"] for p in published] == [OPS_ID]


async def test_booking_commands_answer_politely_when_booking_is_not_wired(rig: SlackRig,
                                                                        fake_slack: FakeSlack) -> None:
    assert rig.deps.booking is None
    for command in ("/book-meeting", "/book-training"):
        response = await rig.command("", SUPERVISOR_ID, command=command, hook=command.strip("/"))
        assert response.status == 200
    posts = await fake_slack.wait_for("webhook", 2)
    assert [p["text"] for p in posts] == [BOOKING_UNAVAILABLE] * 2


async def test_signed_requests_only(rig: SlackRig) -> None:
    body = signed.command_body(signed.slash_command(command="/adherence", text="help", user_id=SUPERVISOR_ID,
                                                    response_url=rig.fake.response_url()))
    forged = await rig.dispatch(signed.bolt_request(body, secret="not-the-secret"))
    stale = await rig.dispatch(signed.bolt_request(body, timestamp=int(at(0).timestamp()) - 10_000_000))
    assert (forged.status, stale.status) == (401, 401)
    assert rig.fake.webhook_posts == []
