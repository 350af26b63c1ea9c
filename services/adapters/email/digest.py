"""The weekly digest by email (SMTP), or printed when no SMTP server is configured."""

from __future__ import annotations

import logging
import sys
from email.message import EmailMessage
from typing import TextIO

import aiosmtplib

from services.adapters.email.mailer import SmtpSettings
from services.digest import UnitDigest, render_text
from services.domain.model import Person
from services.ports import DeliveryError

log = logging.getLogger(__name__)


def digest_subject(digest: UnitDigest) -> str:
    return f"Weekly adherence digest: {digest.mu_name}, week to {digest.end:%Y-%m-%d}"


def digest_email(digest: UnitDigest, *, sender: str, recipient: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = digest_subject(digest)
    message["From"], message["To"] = sender, recipient
    message.set_content(render_text(digest) + "\n")
    body = render_text(digest).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    message.add_alternative(f"<html><body><pre style=\"font-family:monospace\">{body}</pre></body></html>",
                            subtype="html")
    return message


class SmtpDigestMailer:
    channel = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    async def send_digest(self, person: Person, digest: UnitDigest) -> None:
        if not person.email.strip():
            log.warning("weekly digest: %s has no email address in the configuration", person.id)
            return
        s = self.settings
        try:
            await aiosmtplib.send(
                digest_email(digest, sender=s.sender, recipient=person.email), hostname=s.host, port=s.port,
                start_tls=s.starttls, use_tls=s.use_tls, username=s.username,
                password=s.password.get_secret_value() if s.password else None, timeout=s.timeout,
                validate_certs=s.validate_certs, cert_bundle=s.cert_bundle)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise DeliveryError(f"could not send the weekly digest: {error}") from error


class ConsoleDigestMailer:
    channel = "email"

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    async def send_digest(self, person: Person, digest: UnitDigest) -> None:
        self.out.write(f"✉  To: {person.email or person.name}\n   Subject: {digest_subject(digest)}\n"
                       f"{render_text(digest)}\n")
        self.out.flush()
