"""SlackChat and SlackDirectory against the fake Slack Web API (real HTTP), including 429 and 5xx."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta

import pytest
from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient

from presentation.blocks.renderer import BlockKitRenderer
from services.adapters.slack.chat import SlackChat
from services.adapters.slack.client import RetryPolicy, make_web_client
from services.adapters.slack.console import ConsoleChat
from services.adapters.slack.directory import SlackDirectory
from services.adapters.slack.errors import ChatDeliveryError
from services.domain.escalation import EventKind, IncidentEvent, IncidentStatus, acknowledge, close
from services.domain.model import Person
from testing.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack.blockkit import assert_valid_blocks
from tests.slack.conftest import RecordingSleep
from tests.slack.samples import OPS, SUPERVISOR, T0, every_state, incident, storm, view, with_card

NOBODY = Person("ghost", "Gus Ghost", "ghost@example.com")


def chat(client: AsyncWebClient) -> SlackChat:
    return SlackChat(client, SlackDirectory(client), BlockKitRenderer())


async def test_card_goes_to_the_supervisors_dm_with_valid_blocks_and_a_permalink(
        fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    card_view = every_state()["card"]
    ref = await chat(slack_client).post_incident_card(card_view)
    assert [c.body["users"] for c in fake_slack.calls_to("conversations.open")] == ["U0SUP0001"]
    post = fake_slack.calls_to("chat.postMessage")[0]
    assert post.authorization == f"Bearer {BOT_TOKEN}"
    assert post.body["channel"] == ref.channel == "DU0SUP0001"
    assert_valid_blocks(post.body["blocks"])
    assert "Alex Agent" in post.body["text"]
    assert ref.permalink == f"https://test.slack.com/archives/{ref.channel}/p{ref.ts}"
    assert "<@" not in str(post.body["blocks"])  # a DM notifies by itself: no mention needed


async def test_several_supervisors_share_one_group_dm_and_the_channel_is_reused(
        fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    two = replace(every_state()["card"], supervisors=[SUPERVISOR, OPS])
    adapter = chat(slack_client)
    first = await adapter.post_incident_card(two)
    second = await adapter.post_incident_card(two)
    assert [c.body["users"] for c in fake_slack.calls_to("conversations.open")] == ["U0OPS0001,U0SUP0001"]
    assert first.channel == second.channel and first.ts != second.ts


async def test_without_a_reachable_supervisor_the_ops_manager_gets_it_and_without_anyone_it_fails(
        fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    adapter = chat(slack_client)
    ref = await adapter.post_incident_card(replace(every_state()["card"], supervisors=[NOBODY]))
    assert ref.channel == "DU0OPS0001"
    with pytest.raises(ChatDeliveryError) as failure:
        await adapter.post_incident_card(replace(every_state()["card"], supervisors=[NOBODY], ops_managers=[]))
    assert failure.value.retryable is False


async def test_updates_replace_the_card_in_place_and_write_history_to_its_thread(
        fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    adapter = chat(slack_client)
    carded = with_card(incident())
    ref = await adapter.post_incident_card(view(carded, T0 + timedelta(minutes=5)))
    acked, ack_event = acknowledge(carded, "Sam Supervisor", T0 + timedelta(minutes=6))
    await adapter.update_incident_card(ref, view(acked, T0 + timedelta(minutes=6)), ack_event)
    resolved, resolve_event = close(acked.model_copy(update={"back_in_since": T0 + timedelta(minutes=9)}),
                                    IncidentStatus.RESOLVED, T0 + timedelta(minutes=10))
    await adapter.update_incident_card(ref, view(resolved, T0 + timedelta(minutes=10)), resolve_event)

    card = fake_slack.card(ref.channel, ref.ts)
    assert card.edits == 2
    assert_valid_blocks(card.blocks)
    assert not [b for b in card.blocks if b["type"] == "actions"]  # resolved: buttons gone
    assert "Back in adherence" in card.text
    thread = fake_slack.thread(ref.channel, ref.ts)
    assert len(thread) == 2
    assert "Acknowledged by Sam Supervisor" in thread[0].text
    assert "Resolved: back in adherence after 9 min" in thread[1].text
    assert all("<@" not in m.text and not m.blocks for m in thread)  # nobody pinged on resolve
    assert len(fake_slack.messages[ref.channel]) == 3  # the card + two thread lines, never a second card


async def test_rate_limit_honours_retry_after_then_succeeds(
        fake_slack: FakeSlack, slack_client: AsyncWebClient, sleeps: RecordingSleep) -> None:
    fake_slack.fail("chat.postMessage", status=429, retry_after=7)
    ref = await chat(slack_client).post_incident_card(every_state()["card"])
    assert sleeps.waits == [7.0]
    assert len(fake_slack.calls_to("chat.postMessage")) == 2
    assert [m.ts for m in fake_slack.messages[ref.channel]] == [ref.ts]  # exactly one card


async def test_retry_after_is_capped(fake_slack: FakeSlack, sleeps: RecordingSleep) -> None:
    client = make_web_client(BOT_TOKEN, base_url=fake_slack.api_url, policy=RetryPolicy(max_retry_after=30),
                             sleep=sleeps)
    fake_slack.fail("chat.update", status=429, retry_after=3600)
    ref = await chat(client).post_incident_card(every_state()["card"])
    await chat(client).update_incident_card(ref, every_state()["acknowledged"],
                                            IncidentEvent(EventKind.ACKNOWLEDGED, every_state()["acknowledged"]
                                                          .incident, T0))
    assert sleeps.waits == [30.0]


async def test_server_errors_are_retried_with_backoff(
        fake_slack: FakeSlack, slack_client: AsyncWebClient, sleeps: RecordingSleep) -> None:
    fake_slack.fail("chat.postMessage", status=500, times=2)
    await chat(slack_client).post_incident_card(every_state()["card"])
    assert len(fake_slack.calls_to("chat.postMessage")) == 3
    assert len(sleeps.waits) == 2 and sleeps.waits[1] > sleeps.waits[0] * 1.0 - 1.0  # 0.5·2^n + jitter


async def test_persistent_failure_raises_so_the_outbox_retries_later(
        fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    fake_slack.fail("chat.postMessage", status=503, times=50)
    with pytest.raises(ChatDeliveryError) as failure:
        await chat(slack_client).post_incident_card(every_state()["card"])
    assert failure.value.retryable is True
    assert len(fake_slack.calls_to("chat.postMessage")) == 1 + RetryPolicy().server_error_retries
    assert fake_slack.messages == {}


async def test_slack_refusals_are_not_retried_and_marked_permanent(
        fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    fake_slack.fail("chat.postMessage", error="channel_not_found")
    with pytest.raises(ChatDeliveryError) as failure:
        await chat(slack_client).post_incident_card(every_state()["card"])
    assert (failure.value.retryable, failure.value.slack_error) == (False, "channel_not_found")
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


async def test_unreachable_slack_is_retried_then_reported(sleeps: RecordingSleep) -> None:
    client = make_web_client(BOT_TOKEN, base_url="http://127.0.0.1:9/api/", sleep=sleeps)
    directory = SlackDirectory(client, overrides={"sup": "U0SUP0001"})
    with pytest.raises(ChatDeliveryError):
        await SlackChat(client, directory, BlockKitRenderer()).post_incident_card(every_state()["card"])
    assert len(sleeps.waits) == RetryPolicy().connection_retries


async def test_a_failed_permalink_does_not_fail_the_post(
        fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    fake_slack.fail("chat.getPermalink", error="internal_error")
    ref = await chat(slack_client).post_incident_card(every_state()["card"])
    assert ref.permalink is None and ref.ts


async def test_storm_card_is_posted_once_and_updated_in_place(
        fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    adapter = chat(slack_client)
    ref = await adapter.post_storm_card(storm(5))
    await adapter.update_storm_card(ref, storm(5, closed_by_outage=True))
    card = fake_slack.card(ref.channel, ref.ts)
    assert_valid_blocks(card.blocks)
    assert card.edits == 1 and "Marked as outage" in card.text
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


async def test_directory_prefers_config_then_looks_up_by_email_and_caches(
        fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    directory = SlackDirectory(slack_client, overrides={"ops": "U0CONFIG1"})
    assert await directory.user_id_for(OPS) == "U0CONFIG1"
    assert await directory.user_id_for(SUPERVISOR) == "U0SUP0001"
    assert await directory.user_id_for(Person("x", "Sam again", " SAM@example.com ")) == "U0SUP0001"
    assert await directory.user_id_for(NOBODY) is None
    assert await directory.user_id_for(NOBODY) is None  # the miss is cached too
    assert await directory.user_id_for(Person("n", "No Email")) is None
    assert [c.body["email"] for c in fake_slack.calls_to("users.lookupByEmail")] == \
        ["sam@example.com", "ghost@example.com"]


async def test_directory_cache_expires(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    now = [0.0]
    directory = SlackDirectory(slack_client, ttl=timedelta(hours=1), monotonic=lambda: now[0])
    await directory.user_id_for(SUPERVISOR)
    now[0] += 3599
    await directory.user_id_for(SUPERVISOR)
    now[0] += 2
    await directory.user_id_for(SUPERVISOR)
    assert directory.lookups == 2


async def test_directory_shares_lookups_through_redis(fake_slack: FakeSlack, slack_client: AsyncWebClient,
                                                      redis_client: Redis, redis_prefix: str) -> None:
    first = SlackDirectory(slack_client, redis=redis_client, prefix=redis_prefix)
    second = SlackDirectory(slack_client, redis=redis_client, prefix=redis_prefix)
    assert await first.user_id_for(SUPERVISOR) == "U0SUP0001"
    assert await first.user_id_for(NOBODY) is None
    assert await second.user_id_for(SUPERVISOR) == "U0SUP0001"
    assert await second.user_id_for(NOBODY) is None
    assert (first.lookups, second.lookups) == (2, 0)
    assert 0 < await redis_client.ttl(f"{redis_prefix}:slack:user:sam@example.com") <= 24 * 3600


async def test_directory_reports_slack_failures_other_than_not_found(
        fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    fake_slack.fail("users.lookupByEmail", error="invalid_auth")
    with pytest.raises(ChatDeliveryError):
        await SlackDirectory(slack_client).user_id_for(SUPERVISOR)


async def test_console_chat_draws_the_same_card_readably() -> None:
    out = io.StringIO()
    console = ConsoleChat(BlockKitRenderer(), out, color=False, width=90)
    states = every_state()
    ref = await console.post_incident_card(states["card"])
    acked = states["acknowledged"]
    await console.update_incident_card(ref, acked, IncidentEvent(EventKind.ACKNOWLEDGED, acked.incident,
                                                                 T0 + timedelta(minutes=6), actor="Sam Supervisor"))
    text = out.getvalue()
    assert "card 1 posted" in text and "card 1 updated" in text
    assert "Out of adherence: Alex Agent" in text
    assert "[ Acknowledge ]  [ Approve exception ]  [ Escalate now ]" in text
    assert "Away · Off queue" in text and "09:00 UTC" in text
    assert "↳ thread of card 1: 09:06 UTC Acknowledged by Sam Supervisor" in text
    assert "<!date" not in text and "\x1b[" not in text
    assert max(len(line) for line in text.splitlines()) <= 90
    storm_ref = await console.post_storm_card(storm(3))
    assert storm_ref.ts == "2" and "[ Mark as outage ]" in out.getvalue()


async def test_console_chat_can_print_through_a_narrator() -> None:
    said: list[str] = []
    console = ConsoleChat(BlockKitRenderer(), printer=said.append, width=80)
    await console.post_incident_card(every_state()["card"])
    assert len(said) == 1 and "[ Acknowledge ]" in said[0] and "\x1b[" not in said[0]


async def test_a_team_channel_gets_the_card_and_mentions_the_supervisors_once(
        fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    base = every_state()["card"]
    in_channel = replace(base, team_channel="C0BILLING")
    adapter = chat(slack_client)
    ref = await adapter.post_incident_card(in_channel)
    assert ref.channel == "C0BILLING" and fake_slack.calls_to("conversations.open") == []
    assert "<@U0SUP0001>" in str(fake_slack.card(ref.channel, ref.ts).blocks)
    acked = every_state()["acknowledged"]
    await adapter.update_incident_card(ref, acked, IncidentEvent(EventKind.ACKNOWLEDGED, acked.incident, T0))
    assert "<@" not in str(fake_slack.card(ref.channel, ref.ts).blocks)  # updates never mention
