"""``EmailPort`` implementations: SMTP (aiosmtplib) in production, the console in the demo."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TextIO

import aiosmtplib
from pydantic import SecretStr

from presentation.email import (
    escalation_email,
    plain_body,
    storm_email,
    storm_plain_body,
    storm_recipients,
    storm_subject,
    subject,
)
from services.ports import DeliveryError, IncidentView, StormView

log = logging.getLogger(__name__)


class EmailDeliveryError(DeliveryError):
    """The escalation email was not sent; ``retryable`` is False when retrying cannot help."""


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int = 587
    sender: str = "adherence-bot@localhost"
    starttls: bool | None = None  # None: use STARTTLS when the server offers it; True: require it
    use_tls: bool = False  # implicit TLS (port 465)
    username: str | None = None
    password: SecretStr | None = None
    timeout: float = 30.0
    validate_certs: bool = True
    cert_bundle: str | None = None  # CA file for a private relay


def recipients_of(view: IncidentView) -> list[str]:
    seen: list[str] = []
    for person in view.ops_managers:
        email = person.email.strip()
        if email and email.lower() not in (s.lower() for s in seen):
            seen.append(email)
    return seen


class SmtpMailer:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    async def send_escalation_email(self, view: IncidentView) -> None:
        recipients = recipients_of(view)
        if not recipients:
            raise EmailDeliveryError(f"no ops manager of {view.mu_name} has an email address", retryable=False)
        message = escalation_email(view, sender=self.settings.sender, recipients=recipients)
        await self._send(message, len(recipients))
        log.info("escalation email for %s sent to %d recipient(s)", view.incident.id, len(recipients))

    async def send_storm_email(self, view: StormView) -> None:
        """One email for a storm's tier, the agents in a table."""
        recipients = storm_recipients(view)
        if not recipients:
            raise EmailDeliveryError(f"no ops manager of {view.mu_name} has an email address", retryable=False)
        tier = min((len(v.incident.fired) for v in view.incidents), default=0)
        message = storm_email(view, sender=self.settings.sender, recipients=recipients, tier=tier)
        await self._send(message, len(recipients))
        log.info("grouped email for storm %s (%d agents) sent to %d recipient(s)", view.storm_id,
                 len(view.incidents), len(recipients))

    async def _send(self, message: EmailMessage, count: int) -> None:
        s = self.settings
        try:
            await aiosmtplib.send(
                message, hostname=s.host, port=s.port, start_tls=s.starttls, use_tls=s.use_tls,
                username=s.username, password=s.password.get_secret_value() if s.password else None,
                timeout=s.timeout, validate_certs=s.validate_certs, cert_bundle=s.cert_bundle,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            raise EmailDeliveryError(f"the mail server refused every recipient: {error}", retryable=False) from error
        except aiosmtplib.SMTPAuthenticationError as error:
            raise EmailDeliveryError(f"SMTP authentication failed ({error.code})", retryable=False) from error
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise EmailDeliveryError(f"could not send the escalation email: {error}") from error


class ConsoleMailer:
    """Prints the email instead of sending it (the demo, or no SMTP configured)."""

    def __init__(self, out: TextIO | None = None, *, printer: Callable[[str], None] | None = None) -> None:
        self.out = out or sys.stdout
        self.printer = printer  # e.g. the demo's narrator

    async def send_escalation_email(self, view: IncidentView) -> None:
        recipients = recipients_of(view) or ["(no ops manager email configured)"]
        rule = "─" * 72
        text = (f"{rule}\n✉  To: {', '.join(recipients)}\n   Subject: {subject(view)}\n{rule}\n"
                f"{plain_body(view)}{rule}")
        if self.printer is not None:
            self.printer(text)
            return
        self.out.write(text + "\n")
        self.out.flush()

    async def send_storm_email(self, view: StormView) -> None:
        recipients = storm_recipients(view) or ["(no ops manager email configured)"]
        rule = "─" * 72
        text = (f"{rule}\n✉  To: {', '.join(recipients)}\n   Subject: {storm_subject(view)}\n{rule}\n"
                f"{storm_plain_body(view)}{rule}")
        if self.printer is not None:
            self.printer(text)
            return
        self.out.write(text + "\n")
        self.out.flush()
