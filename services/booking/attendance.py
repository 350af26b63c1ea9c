"""Attendance registers: one per booked request, marked from Slack by the facilitator, exportable as CSV.

After a session ends its facilitator (or a scheduler) marks each attendee Attended or No-show. Each
mark is one atomic write that keeps who marked it and when; the same mark again changes nothing and
says so, a different one corrects it (and says what it was).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.booking.model import AttendanceMark, Register
from services.booking.ports import AttendanceMarks, AttendanceRegisters, BookingData, BookingLedger
from services.ports import ChatDirectory, Clock

log = logging.getLogger(__name__)


def register_csv(register: Register, marks: Mapping[str, AttendanceMark] | None = None) -> str:
    """The register as CSV: one row per attendee and session, with who marked attendance and when."""
    marks = marks or {}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["request", "title", "type", "session", "start", "end", "room", "facilitator", "agent_id",
                     "agent_name", "attended", "marked_by", "marked_at"])
    for slot in register.sessions:
        for agent_id, name in register.attendees:
            if agent_id not in slot.attendees:
                continue
            mark = marks.get(agent_id)
            attended = ("yes" if mark.attended else "no-show") if mark else (
                "yes" if agent_id in register.attended else "no")
            writer.writerow([register.request_id, register.title, register.type_name,
                             f"{slot.occurrence + 1}.{slot.session + 1}", slot.start.isoformat(), slot.end.isoformat(),
                             slot.room_name or slot.room_id or "", register.facilitator or "", agent_id, name,
                             attended, mark.by if mark else "", mark.at.isoformat() if mark else ""])
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class RegisterView:
    register: Register
    marks: Mapping[str, AttendanceMark]
    time_zone: str | None
    now: datetime


@dataclass(frozen=True, slots=True)
class Marked:
    """The answer to an Attended / No-show click."""

    register: Register | None
    mark: AttendanceMark | None = None
    previous: AttendanceMark | None = None  # what it replaced; equal value: nothing changed
    refused: str = ""

    @property
    def changed(self) -> bool:
        return self.mark is not None and (self.previous is None or self.previous.attended != self.mark.attended)


class AttendancePrompt(Protocol):
    """Asks one facilitator (a Slack user id) to mark the attendance of a register."""

    async def ask(self, user_id: str, view: RegisterView) -> None: ...


class AttendanceDesk:
    def __init__(self, registers: AttendanceRegisters, marks: AttendanceMarks, ledger: BookingLedger,
                 data: BookingData, directory: ChatDirectory, clock: Clock, *,
                 schedulers: frozenset[str] = frozenset()) -> None:
        self.registers, self.marks, self.ledger, self.data = registers, marks, ledger, data
        self.directory, self.clock, self.schedulers = directory, clock, schedulers

    async def view(self, request_id: str) -> RegisterView | None:
        """The register with its marks, in the unit's time zone, as of now."""
        register = await self.registers.get(request_id)
        if register is None:
            return None
        request = await self.ledger.request(request_id)
        tz = (await self.data.roster(request.mu_id)).mu.time_zone if request else None
        return RegisterView(register, await self.marks.marks(request_id), tz, self.clock.now())

    async def prompt_due(self, prompt: AttendancePrompt) -> list[str]:
        """After the last session of a booking, ask its facilitator to mark attendance (once)."""
        asked = []
        for request_id in await self.marks.take_due(self.clock.now()):
            view = await self.view(request_id)
            if view is None or view.register.cancelled_at is not None:
                continue
            people = {s.facilitator for s in view.register.sessions if s.facilitator}
            users = [u for u in [await self._slack_id(p, request_id) for p in sorted(people)] if u]
            if not users:
                log.info("attendance of %s: no facilitator in Slack to ask", request_id)
            for user in users:
                await prompt.ask(user, view)
                asked.append(request_id)
        return asked

    async def _slack_id(self, person_id: str, request_id: str) -> str | None:
        request = await self.ledger.request(request_id)
        if request is None:
            return None
        person = (await self.data.roster(request.mu_id)).people.get(person_id)
        return await self.directory.user_id_for(person) if person else None

    async def mark(self, request_id: str, agent_id: str, *, attended: bool, by: str) -> Marked:
        register = await self.registers.get(request_id)
        if register is None:
            return Marked(None, refused=f"No attendance register for {request_id}.")
        sessions = [s for s in register.sessions if agent_id in s.attendees]
        if not sessions:
            return Marked(register, refused=f"{agent_id} is not on the register of {register.title}.")
        if register.cancelled_at is not None:
            return Marked(register, refused=f"{register.title} was cancelled; there is no attendance to mark.")
        now = self.clock.now()
        if min(s.end for s in sessions) > now:
            return Marked(register, refused="Attendance can be marked once the session has ended.")
        facilitators = {s.facilitator for s in sessions if s.facilitator} | (
            {register.facilitator} if register.facilitator else set())
        if by not in self.schedulers and not await self._is_one_of(by, facilitators, register):
            return Marked(register, refused="Only the facilitator (or a scheduler) marks attendance.")
        mark = AttendanceMark(agent_id=agent_id, attended=attended, by=by, at=now)
        previous = await self.marks.mark(request_id, mark)
        if previous is not None and previous.attended == attended:  # a repeat: the first mark stays
            return Marked(register, mark=previous, previous=previous)
        return Marked(register, mark=mark, previous=previous)

    async def _is_one_of(self, slack_user: str, people: set[str], register: Register) -> bool:
        request = await self.ledger.request(register.request_id)
        if request is None or not people:
            return False
        roster = await self.data.roster(request.mu_id)
        for person_id in sorted(people):
            person = roster.people.get(person_id)
            if person is not None and await self.directory.user_id_for(person) == slack_user:
                return True
        return False
