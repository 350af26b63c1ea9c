"""Write a placed booking back everywhere: WFM activity, room, email invites, attendance register.

Each step is recorded in the ledger when done, and every adapter is idempotent on its key, so a
worker that dies half way resumes where it stopped and never books anything twice.
"""

from __future__ import annotations

import logging
from datetime import datetime

from services.booking.config import BookingConfig
from services.booking.model import BookingRequest, Plan, Register
from services.booking.ports import (
    ActivityWriter,
    AttendanceRegisters,
    BookingLedger,
    Invite,
    InviteSender,
    OfflineActivity,
    RoomBooking,
    RoomCalendar,
)
from services.domain.model import Roster

log = logging.getLogger(__name__)


def slot_key(request_id: str, occurrence: int, session: int) -> str:
    return f"{request_id}:{occurrence}:{session}"


class WriteBack:
    def __init__(self, *, activities: ActivityWriter, rooms: RoomCalendar, invites: InviteSender,
                 registers: AttendanceRegisters, ledger: BookingLedger, config: BookingConfig,
                 organizer: tuple[str, str] = ("Booking bot", "bookings@example.com")) -> None:
        self.activities, self.rooms, self.invites = activities, rooms, invites
        self.registers, self.ledger, self.config, self.organizer = registers, ledger, config, organizer

    async def _once(self, request_id: str, step: str) -> bool:
        """True when ``step`` still has to run."""
        return not await self.ledger.step_done(request_id, step)

    async def apply(self, request: BookingRequest, plan: Plan, roster: Roster, now: datetime) -> None:
        meeting = self.config.meeting_type(request.type_id)
        names = {**{p.id: (p.name, p.email) for p in roster.people.values()},
                 **{a.id: (a.name, a.email) for a in roster.agents.values()}}
        for slot in plan.slots:
            key = slot_key(request.id, slot.occurrence, slot.session)
            if await self._once(request.id, f"wfm:{key}"):
                await self.activities.write_activity(OfflineActivity(
                    key=key, mu_id=request.mu_id, name=request.title, category=meeting.activity_category,
                    code_id=meeting.activity_code, start=slot.start, end=slot.end, attendees=slot.attendees,
                    facilitator=slot.facilitator))
                await self.ledger.mark_step(request.id, f"wfm:{key}")
            room_name = ""
            if slot.room_id:
                room = self.config.room_config(slot.room_id)
                room_name = room.name if room else slot.room_id
                if await self._once(request.id, f"room:{key}"):
                    await self.rooms.book(RoomBooking(key=key, room_id=slot.room_id, start=slot.start, end=slot.end,
                                                      subject=request.title, organizer=request.requester))
                    await self.ledger.mark_step(request.id, f"room:{key}")
            if await self._once(request.id, f"invite:{key}"):
                people = [*slot.attendees, *([slot.facilitator] if slot.facilitator else [])]
                invitees = tuple((names.get(p, (p, ""))[0], names.get(p, (p, ""))[1]) for p in people)
                await self.invites.send_invite(Invite(
                    uid=f"{key}@booking", subject=request.title,
                    description=f"{meeting.name} booked by the scheduling bot.",
                    start=slot.start, end=slot.end, location=room_name or "Online",
                    organizer=self.organizer, attendees=tuple(i for i in invitees if i[1]),
                    time_zone=roster.mu.time_zone))
                await self.ledger.mark_step(request.id, f"invite:{key}")
        if await self._once(request.id, "register"):
            attendees = tuple(dict.fromkeys(a for slot in plan.slots for a in slot.attendees))
            await self.registers.save(Register(
                request_id=request.id, title=request.title, type_name=meeting.name,
                facilitator=plan.slots[0].facilitator if plan.slots else None, sessions=plan.slots,
                attendees=tuple((a, names.get(a, (a, ""))[0]) for a in attendees), created_at=now))
            await self.ledger.mark_step(request.id, "register")
        log.info("booking %s written back (%d slots)", request.id, len(plan.slots))
