"""Tier 1 in Microsoft Teams end to end: the monitor on the real Redis with a manual clock, the outbox
dispatcher with the Teams webhook adapter, and a local Workflows webhook over TLS that validates every
card against the Adaptive Card 1.5 schema. The webhook URL never reaches the logs."""

from __future__ import annotations

import io
import logging
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.logs import HANDLER_NAME, config_secret_values, configure_logging
from bot.settings import Settings
from services.adapters.teams.webhook import TeamsWebhookChat
from services.config import ConfigError, parse_org_config
from services.dispatch import OutboxDispatcher
from services.domain.states import Presence, RoutingStatus
from testing.tls import self_signed_certificate
from tests.monitor.test_monitor_on_redis import ON_QUEUE_DAY, Rig
from tests.store_backends import RedisBackend
from tests.teams.receiver import TeamsReceiver, card_errors


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    made = self_signed_certificate(tmp_path_factory.mktemp("teams-tls"))
    if made is None:
        pytest.skip("openssl is needed to make a throw-away certificate")
    return made


@pytest.fixture
async def receiver(certificate: tuple[Path, Path]) -> AsyncIterator[TeamsReceiver]:
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(str(certificate[0]), str(certificate[1]))
    started = await TeamsReceiver().start(server_side)
    yield started
    await started.stop()


@pytest.fixture
def bot_log() -> Iterator[io.StringIO]:
    """The bot's own log output (bot.logs, as `python -m bot` configures it), at DEBUG."""
    stream = io.StringIO()
    yield stream
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(handler)


def teams_rig(redis: Redis, prefix: str, receiver: TeamsReceiver, certificate: tuple[Path, Path]) -> Rig:
    config = parse_org_config({"management_units": {"mu-1": {"teams": {"t1": {"teams_webhook": receiver.url}}}}})
    rig = Rig(RedisBackend(redis, prefix), config=config)
    rig.source.add_agent("b0", ON_QUEUE_DAY, team_id="t2")  # a team without a webhook
    rig.source.set_state("b0", Presence.ON_QUEUE, RoutingStatus.IDLE, since=rig.clock.now())
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    rig.dispatcher = OutboxDispatcher(store=rig.backend.new_store(), chat=rig.recorder, email=rig.recorder,
                                      coaching=rig.recorder, rosters=rig.monitor.roster, clock=rig.clock,
                                      config=config, teams=TeamsWebhookChat(config.teams_webhooks(),
                                                                            ssl_context=trust))
    return rig


async def test_one_card_per_tier_1_and_one_message_per_update(redis_client: Redis, redis_prefix: str,
                                                              receiver: TeamsReceiver, certificate: tuple[Path, Path],
                                                              bot_log: io.StringIO,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    configure_logging("DEBUG", secrets=[receiver.url], stream=bot_log)
    caplog.set_level(logging.DEBUG)
    rig = teams_rig(redis_client, redis_prefix, receiver, certificate)
    await rig.run_until(1)
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE)  # 01:15
    rig.source.set_state("b0", Presence.AWAY, RoutingStatus.OFF_QUEUE)
    await rig.run_until(5)
    assert receiver.cards == []  # a blip under 5 minutes stays quiet in Teams too
    await rig.run_until(7)
    assert len(receiver.cards) == 1  # tier 1 of a0; b0's team has no webhook
    first = receiver.cards[0]
    assert first["body"][0]["text"] == "⚠️ Out of adherence: Agent a0"
    facts = {f["title"]: f["value"] for f in first["body"][1]["facts"]}
    assert facts["Agent"] == "Agent a0" and facts["Scheduled"] == "On-queue work"
    assert first["actions"] == [{"type": "Action.OpenUrl", "title": "Open in Slack",
                                 "url": "https://slack.example/1"}]  # the Slack card, where the buttons are
    await rig.run_until(17)  # the email tier at 16:15: an update, posted as a new message
    rig.source.set_state("a0", Presence.ON_QUEUE, RoutingStatus.IDLE)
    await rig.run_until(19)  # resolved a minute later
    assert [c["body"][0]["text"] for c in receiver.cards] == [
        "⚠️ Out of adherence: Agent a0", "Escalated: email to the ops manager: Agent a0 (Team t1)",
        "Resolved: back in adherence: Agent a0 (Team t1)"]
    assert receiver.rejected == []
    # A replayed drain posts nothing again (each step is marked delivered).
    await rig.dispatcher.drain(["mu-1"])
    assert len(receiver.cards) == 3
    assert "Teams card for" in bot_log.getvalue()
    assert receiver.url not in bot_log.getvalue() and receiver.query not in bot_log.getvalue()
    assert receiver.query not in caplog.text and receiver.path not in caplog.text


async def test_failures_are_retried_or_parked_and_never_show_the_url(redis_client: Redis, redis_prefix: str,
                                                                    receiver: TeamsReceiver,
                                                                    certificate: tuple[Path, Path],
                                                                    bot_log: io.StringIO,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    configure_logging("DEBUG", secrets=[receiver.url], stream=bot_log)
    caplog.set_level(logging.DEBUG)
    rig = teams_rig(redis_client, redis_prefix, receiver, certificate)
    await rig.run_until(1)
    rig.source.set_state("a0", Presence.AWAY, RoutingStatus.OFF_QUEUE)
    receiver.answer = 503
    await rig.run_until(7)
    assert receiver.cards == [] and rig.recorder.kinds() == ["post_card"]  # Slack went out; Teams retries
    receiver.answer = 202
    await rig.run_until(8)  # the backoff (5 s doubling) has passed: posted once
    assert len(receiver.cards) == 1
    logged = bot_log.getvalue() + caplog.text
    assert "Teams webhook of team t1 of mu-1 answered 503; retrying" in logged
    assert receiver.query not in logged and receiver.path not in logged


def test_the_card_builder_output_is_what_the_schema_accepts_and_a_broken_one_is_not() -> None:
    assert card_errors({"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                                                            "content": {"type": "AdaptiveCard", "version": "1.5",
                                                                        "body": [{"type": "TextBox"}]}}]})


@pytest.mark.parametrize("url", ["http://example.com/hook?sig=s3cret", "example.com/hook?sig=s3cret", "https://?sig=s3cret"])
def test_teams_webhook_must_be_https_and_the_error_does_not_repeat_it(url: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_org_config({"management_units": {"mu-1": {"teams": {"t1": {"teams_webhook": url}}}}})
    assert "teams_webhook must be an https:// URL" in str(error.value) and url not in str(error.value)


def test_configured_webhooks_are_redacted_from_every_log_line(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text('[management_units.mu-1.teams.t1]\nteams_webhook = "https://prod.example/wf?sig=abcdefgh123"\n')
    assert config_secret_values(Settings(bot_config=config)) == ["https://prod.example/wf?sig=abcdefgh123"]
