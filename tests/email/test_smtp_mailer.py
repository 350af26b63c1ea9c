"""SmtpMailer against a real SMTP server (aiosmtpd on 127.0.0.1), plain, STARTTLS and AUTH."""

from __future__ import annotations

import io
import ssl
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP
from pydantic import SecretStr

from services.adapters.email.mailer import ConsoleMailer, EmailDeliveryError, SmtpMailer, SmtpSettings
from services.domain.model import Person
from testing.tls import self_signed_certificate
from tests.email.smtp_server import Inbox, serve
from tests.slack.samples import every_state

LINK = "https://test.slack.com/archives/D1/p1700000000000001"


@pytest.fixture
async def plain_smtp() -> AsyncIterator[tuple[Inbox, int]]:
    inbox = Inbox()
    server, port = await serve(lambda: SMTP(inbox, hostname="mail.test"))
    yield inbox, port
    server.close()
    await server.wait_closed()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    made = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    if made is None:
        pytest.skip("openssl is needed to make a throw-away certificate")
    return made


@pytest.fixture
async def tls_smtp(certificate: tuple[Path, Path]) -> AsyncIterator[tuple[Inbox, int]]:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    inbox = Inbox()
    server, port = await serve(lambda: SMTP(inbox, hostname="mail.test", tls_context=context, require_starttls=True,
                                            authenticator=inbox.authenticate, auth_required=True,
                                            auth_require_tls=True))
    yield inbox, port
    server.close()
    await server.wait_closed()


def settings(port: int, **extra: Any) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, sender="adherence@example.com", starttls=False, timeout=5,
                        **extra)


def escalated_view() -> Any:
    return replace(every_state()["escalated"], card_link=LINK, agent_name="Alex <b>Agent</b>")


async def test_sends_plain_text_and_html_with_the_cards_facts_and_link(plain_smtp: tuple[Inbox, int]) -> None:
    inbox, port = plain_smtp
    await SmtpMailer(settings(port)).send_escalation_email(escalated_view())
    assert len(inbox.messages) == 1
    sender, recipients, message = inbox.messages[0]
    assert (sender, recipients) == ("adherence@example.com", ["olga@example.com"])
    assert message["Subject"] == "[Adherence] Alex <b>Agent</b> out of adherence for 7 min (Billing)"
    assert message["Message-ID"] == "<mu-1.a1.1779094800.escalation@example.com>"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    plain_text, html_text = text.get_content(), html.get_content()
    for fact in ("On-queue work", "Away · Off queue", "7 min", "Billing · North", "2 of 3", "Sam Supervisor",
                 "Negative"):
        assert fact in plain_text, fact
        assert fact in html_text, fact
    assert LINK in plain_text and f'href="{LINK}"' in html_text
    assert "Alex &lt;b&gt;Agent&lt;/b&gt;" in html_text and "<b>Agent</b>" not in html_text


async def test_every_ops_manager_once_and_no_email_means_a_permanent_failure(plain_smtp: tuple[Inbox, int]) -> None:
    inbox, port = plain_smtp
    mailer = SmtpMailer(settings(port))
    team = [Person("o1", "Olga", "olga@example.com"), Person("o2", "Omar", "omar@example.com"),
            Person("o3", "Olga again", "OLGA@example.com"), Person("o4", "No mail")]
    await mailer.send_escalation_email(replace(escalated_view(), ops_managers=team))
    assert inbox.messages[0][1] == ["olga@example.com", "omar@example.com"]
    with pytest.raises(EmailDeliveryError) as failure:
        await mailer.send_escalation_email(replace(escalated_view(), ops_managers=[Person("o4", "No mail")]))
    assert failure.value.retryable is False
    assert len(inbox.messages) == 1


async def test_starttls_and_auth(tls_smtp: tuple[Inbox, int], certificate: tuple[Path, Path]) -> None:
    inbox, port = tls_smtp
    secure = settings(port, username="bot", password=SecretStr("s3cret"), cert_bundle=str(certificate[0]))
    await SmtpMailer(replace(secure, starttls=True)).send_escalation_email(escalated_view())
    assert inbox.logins == ["bot"] and len(inbox.messages) == 1
    with pytest.raises(EmailDeliveryError) as failure:
        await SmtpMailer(replace(secure, starttls=True, password=SecretStr("wrong"))).send_escalation_email(
            escalated_view())
    assert failure.value.retryable is False
    assert "wrong" not in str(failure.value) and "s3cret" not in repr(secure)
    with pytest.raises(EmailDeliveryError):  # the server insists on STARTTLS before anything else
        await SmtpMailer(replace(secure, username=None, password=None)).send_escalation_email(escalated_view())
    assert len(inbox.messages) == 1


async def test_an_unreachable_server_is_a_retryable_failure() -> None:
    with pytest.raises(EmailDeliveryError) as failure:
        await SmtpMailer(settings(9)).send_escalation_email(escalated_view())
    assert failure.value.retryable is True


async def test_console_mailer_prints_the_email() -> None:
    out = io.StringIO()
    await ConsoleMailer(out).send_escalation_email(escalated_view())
    text = out.getvalue()
    assert "To: olga@example.com" in text and "Subject: [Adherence] Alex <b>Agent</b>" in text
    assert LINK in text and "Away · Off queue" in text


async def test_console_mailer_can_print_through_a_narrator() -> None:
    said: list[str] = []
    await ConsoleMailer(printer=said.append).send_escalation_email(escalated_view())
    assert len(said) == 1 and "To: olga@example.com" in said[0]
