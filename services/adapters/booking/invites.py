"""Email invitations with an iCalendar (ICS) attachment: SMTP (aiosmtplib) or the console."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import TextIO

import aiosmtplib
from icalendar import Calendar, Event, vCalAddress, vText
from pydantic import SecretStr

from services.booking.ports import Invite

log = logging.getLogger(__name__)


def build_ics(invite: Invite, stamp: datetime) -> bytes:
    """A METHOD:REQUEST (or CANCEL) calendar with one event; the uid is stable and ``SEQUENCE`` grows with
    each change, so an update or a cancellation applies to the same calendar entry."""
    calendar = Calendar()
    calendar.add("prodid", "-//adherence-bot//booking//EN")
    calendar.add("version", "2.0")
    calendar.add("method", invite.method)
    event = Event()
    event.add("uid", invite.uid)
    event.add("sequence", invite.sequence)
    if invite.method == "CANCEL":
        event.add("status", "CANCELLED")
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", invite.start.astimezone(UTC))
    event.add("dtend", invite.end.astimezone(UTC))
    event.add("summary", invite.subject)
    event.add("description", invite.description)
    event["location"] = vText(invite.location)
    organizer = vCalAddress(f"mailto:{invite.organizer[1]}")
    organizer.params["cn"] = vText(invite.organizer[0])
    event["organizer"] = organizer
    for name, email in invite.attendees:
        attendee = vCalAddress(f"mailto:{email}")
        attendee.params["cn"] = vText(name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["rsvp"] = vText("TRUE")
        event.add("attendee", attendee, encode=False)
    calendar.add_component(event)
    return bytes(calendar.to_ical())


def invite_message(invite: Invite, stamp: datetime) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"Invitation: {invite.subject} ({invite.start:%a %d %b %H:%M})"
    message["From"] = f"{invite.organizer[0]} <{invite.organizer[1]}>"
    message["To"] = ", ".join(f"{name} <{email}>" for name, email in invite.attendees)
    message.set_content(f"{invite.description}\n\nWhen: {invite.start:%A %d %B %Y %H:%M} - {invite.end:%H:%M} "
                        f"({invite.start.tzname()})\nWhere: {invite.location}\n")
    message.add_attachment(build_ics(invite, stamp), maintype="text", subtype="calendar",
                           filename="invite.ics", params={"method": "REQUEST"})
    return message


class SmtpInviteSender:
    def __init__(self, *, host: str, port: int = 587, username: str | None = None,
                 password: SecretStr | None = None, start_tls: bool | None = None, use_tls: bool = False,
                 timeout: float = 30.0, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.host, self.port, self.username, self.password = host, port, username, password
        self.start_tls, self.use_tls, self.timeout, self.now = start_tls, use_tls, timeout, now

    async def send_invite(self, invite: Invite) -> None:
        if not invite.attendees:
            log.info("invite %s has nobody with an email address; not sent", invite.uid)
            return
        await aiosmtplib.send(
            invite_message(invite, self.now()), hostname=self.host, port=self.port, username=self.username,
            password=self.password.get_secret_value() if self.password else None, start_tls=self.start_tls,
            use_tls=self.use_tls, timeout=self.timeout)
        log.info("invite %s sent to %d people", invite.uid, len(invite.attendees))


class ConsoleInviteSender:
    """The embedded default: says who would be invited, sends nothing."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out

    async def send_invite(self, invite: Invite) -> None:
        stream = self.out or sys.stdout
        names = ", ".join(name for name, _ in invite.attendees) or "(no email addresses)"
        stream.write(f"[invite] {invite.subject} {invite.start:%a %d %b %H:%M}-{invite.end:%H:%M} "
                     f"at {invite.location}: {names}\n")
