"""Cancel and reschedule booked activities (``/book-meeting list``).

A booking has a revision: 0 as booked, +1 per reschedule. Revision ``n`` keeps its plan in the
ledger under ``<id>#r<n>`` and writes its WFM activities and room bookings under keys of that id,
while every invite keeps the first uid (``<id>:<occurrence>:<session>@booking``) with
``SEQUENCE n``, so calendars move the same entry; a cancellation is ``METHOD:CANCEL`` with a
higher ``SEQUENCE``.

Each button carries the revision it was drawn for. The first click on a revision records its
outcome (``ChangeStore.claim``, SET NX); a replayed, double or stale click gets that outcome
instead of acting. Every step is recorded in the ledger when done and the adapters are idempotent
on their keys, so a change cut short by a crash is finished by the next click on it. A reschedule
books the new time before it lets the old one go (the old slot stays busy while searching, and is
excluded explicitly as well).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from services.booking.model import (
    Booked,
    BookedSlot,
    BookingRequest,
    ChangeAction,
    ChangeOutcome,
    Plan,
    Progress,
    Status,
)
from services.booking.ports import (
    ActivityWriter,
    AttendanceRegisters,
    ChangeStore,
    Invite,
    InviteSender,
    OfflineActivity,
    RoomBooking,
    RoomCalendar,
    RoomTaken,
)
from services.booking.service import RESUME_AFTER, BookingService, describe_plan
from services.domain.model import Roster
from services.domain.slots import REASON_TEXT

log = logging.getLogger(__name__)


def revision_id(request_id: str, revision: int) -> str:
    """Where revision ``n`` keeps its plan and the keys of what it wrote."""
    return request_id if revision == 0 else f"{request_id}#r{revision}"


def slot_key(owner: str, slot: BookedSlot) -> str:
    return f"{owner}:{slot.occurrence}:{slot.session}"


def invite_uid(request_id: str, slot: BookedSlot) -> str:
    return f"{slot_key(request_id, slot)}@booking"


@dataclass(frozen=True, slots=True)
class ChangeDone:
    """The answer to a Cancel / Reschedule click."""

    outcome: ChangeOutcome | None
    now: bool  # False: it had already been done (replay, double click, stale list)
    slots: tuple[BookedSlot, ...] = ()  # the booking's times after this click
    refused: str = ""  # why nothing was done (not allowed, no other time, not booked)


class BookingChanges:
    def __init__(self, service: BookingService, store: ChangeStore, *, activities: ActivityWriter,
                 rooms: RoomCalendar, invites: InviteSender, registers: AttendanceRegisters,
                 schedulers: frozenset[str] = frozenset(),
                 organizer: tuple[str, str] = ("Booking bot", "bookings@example.com")) -> None:
        self.service, self.store = service, store
        self.activities, self.rooms, self.invites, self.registers = activities, rooms, invites, registers
        self.schedulers, self.organizer = schedulers, organizer

    # ------------------------------------------------------------------ reading

    async def upcoming(self, requester: str) -> list[Booked]:
        """The requester's bookings that have not ended yet, soonest first."""
        now = self.service.clock.now()
        out = []
        zones: dict[str, str] = {}
        for request_id in await self.store.bookings_of(requester):
            if await self.service.ledger.status(request_id) != Status.BOOKED:
                continue
            request = await self.service.ledger.request(request_id)
            revision = await self.store.revision(request_id)
            plan = await self._plan(request_id, revision)
            if request is None or plan is None or not any(s.end > now for s in plan.slots):
                continue
            if request.mu_id not in zones:
                zones[request.mu_id] = (await self.service.data.roster(request.mu_id)).mu.time_zone
            out.append(Booked(request=request, revision=revision, slots=plan.slots, time_zone=zones[request.mu_id]))
        return sorted(out, key=lambda b: min(s.start for s in b.slots))

    async def _plan(self, request_id: str, revision: int) -> Plan | None:
        stored = await self.service.ledger.plan(revision_id(request_id, revision))
        return None if stored is None else Plan.model_validate_json(stored)

    def may_change(self, request: BookingRequest, user: str) -> bool:
        return user == request.requester or user in self.schedulers

    # ------------------------------------------------------------------ cancel

    async def _claim(self, request_id: str, revision: int, action: ChangeAction,
                     by: str) -> tuple[BookingRequest, ChangeOutcome] | ChangeDone:
        """The checks every change makes before acting: the booking exists, ``by`` may change it, the click
        is on the current revision of a booked request, and it is the first click on that revision.
        A :class:`ChangeDone` is the answer instead (refused, or what already happened)."""
        request = await self.service.ledger.request(request_id)
        if request is None:
            return ChangeDone(None, now=False, refused=f"I know no booking {request_id}.")
        if not self.may_change(request, by):
            return ChangeDone(None, now=False, refused="Only the requester or a scheduler can change this booking.")
        current = await self.store.revision(request_id)
        if revision != current or await self.service.ledger.status(request_id) != Status.BOOKED:
            return await self._already(request, revision)
        outcome = ChangeOutcome(request_id=request_id, revision=revision, action=action, by=by,
                                at=self.service.clock.now())
        if not await self.store.claim(outcome):
            return await self._already(request, revision)
        return request, outcome

    async def cancel(self, request_id: str, revision: int, *, by: str) -> ChangeDone:
        claimed = await self._claim(request_id, revision, ChangeAction.CANCELLED, by)
        if isinstance(claimed, ChangeDone):
            return claimed
        request, outcome = claimed
        await self._apply_cancel(request, outcome)
        return ChangeDone(outcome, now=True)

    async def _apply_cancel(self, request: BookingRequest, outcome: ChangeOutcome) -> None:
        ledger, rid, rev = self.service.ledger, request.id, outcome.revision
        plan = await self._plan(rid, rev)
        roster = await self.service.data.roster(request.mu_id)
        for slot in plan.slots if plan else ():
            key = slot_key(revision_id(rid, rev), slot)
            if await self._todo(rid, f"cancel{rev}:wfm:{key}"):
                await self.activities.cancel_activity(key)
                await ledger.mark_step(rid, f"cancel{rev}:wfm:{key}")
            if slot.room_id and await self._todo(rid, f"cancel{rev}:room:{key}"):
                await self.rooms.cancel(key)
                await ledger.mark_step(rid, f"cancel{rev}:room:{key}")
            if await self._todo(rid, f"cancel{rev}:invite:{key}"):
                await self.invites.send_invite(self._invite(request, slot, roster, method="CANCEL", sequence=rev + 1))
                await ledger.mark_step(rid, f"cancel{rev}:invite:{key}")
        if await self._todo(rid, f"cancel{rev}:register"):
            register = await self.registers.get(rid)
            if register is not None:
                await self.registers.save(register.model_copy(update={"cancelled_at": outcome.at,
                                                                      "cancelled_by": outcome.by}))
            await ledger.mark_step(rid, f"cancel{rev}:register")
        await ledger.set_status(rid, Status.CANCELLED)
        await self.store.remove_booking(request.requester, rid)
        log.info("booking %s cancelled by %s", rid, outcome.by)
        tz = roster.mu.time_zone
        await self.service.tell(request, Progress(request_id=rid, status=Status.CANCELLED, time_zone=tz,
                                                  text=f"Cancelled: {request.title}"
                                                       + (f" ({describe_plan(plan, tz)})" if plan else "") + "."))

    # ------------------------------------------------------------------ reschedule

    async def reschedule(self, request_id: str, revision: int, *, by: str) -> ChangeDone:
        claimed = await self._claim(request_id, revision, ChangeAction.RESCHEDULED, by)
        if isinstance(claimed, ChangeDone):
            return claimed
        request, outcome = claimed
        return await self._apply_move(request, outcome, fresh=True)

    async def _apply_move(self, request: BookingRequest, outcome: ChangeOutcome, *, fresh: bool) -> ChangeDone:
        rid, rev = request.id, outcome.revision
        new = rev + 1
        old_plan = await self._plan(rid, rev)
        old_slots = old_plan.slots if old_plan else ()
        saved = await self._plan(rid, new)
        plan = saved if saved is not None else await self._search_again(request, outcome, old_slots, fresh=fresh)
        if isinstance(plan, ChangeDone):
            return plan
        roster = await self.service.data.roster(request.mu_id)
        try:
            await self._book_moved(request, plan, new)
        except RoomTaken as taken:
            log.warning("reschedule of %s: %s; try again", rid, taken)
            await self.store.forget(rid, rev)
            return ChangeDone(None, now=fresh, slots=old_slots,
                              refused=f"The room was taken meanwhile ({taken}). It stays as booked; try again.")
        for slot in plan.slots:
            if await self._todo(rid, f"move{new}:invite:{slot_key(rid, slot)}"):
                await self.invites.send_invite(self._invite(request, slot, roster, method="REQUEST", sequence=new))
                await self.service.ledger.mark_step(rid, f"move{new}:invite:{slot_key(rid, slot)}")
        await self._drop_old(request, plan, old_slots, roster, rev)
        if await self._todo(rid, f"move{new}:register"):
            register = await self.registers.get(rid)
            if register is not None:
                await self.registers.save(register.model_copy(update={"sessions": plan.slots, "revision": new}))
            await self.service.ledger.mark_step(rid, f"move{new}:register")
        await self.store.set_revision(rid, new)
        done = outcome.model_copy(update={"new_revision": new})
        await self.store.update(done)
        await self.store.add_booking(request.requester, rid, min(s.start for s in plan.slots))
        if self.service.attendance is not None:
            await self.service.attendance.expect(rid, max(s.end for s in plan.slots))
        log.info("booking %s rescheduled by %s to revision %d", rid, outcome.by, new)
        tz = roster.mu.time_zone
        await self.service.tell(request, Progress(request_id=rid, status=Status.BOOKED, slots=plan.slots,
                                                  why=plan.why, time_zone=tz,
                                                  text=f"Moved {request.title}: {describe_plan(plan, tz)}"))
        return ChangeDone(done, now=fresh, slots=plan.slots)

    async def _search_again(self, request: BookingRequest, outcome: ChangeOutcome, old_slots: tuple[BookedSlot, ...],
                            *, fresh: bool) -> Plan | ChangeDone:
        """The next revision's plan, searched away from the booked times and saved (once per revision);
        a refusal when no other time fits (the claim is forgotten, so a later click may try again)."""
        rid, rev = request.id, outcome.revision
        again = request.model_copy(update={
            "id": revision_id(rid, rev + 1), "exclude": (*request.exclude, *((s.start, s.end) for s in old_slots))})
        found = await self.service.search.find(again, self.service.clock.now())
        if not found.placed:
            await self.store.forget(rid, rev)  # nothing changed: a later click may try again
            reason = found.outcome.reason
            why = f"{REASON_TEXT[reason]}: {found.outcome.detail}" if reason else found.outcome.detail
            return ChangeDone(None, now=fresh, slots=old_slots,
                              refused=f"No other time found for {request.title} ({why}). It stays as booked.")
        found_plan = found.plan(self.service.search.room_names)
        return Plan.model_validate_json(await self.service.ledger.save_plan(again.id, found_plan.model_dump_json()))

    async def _book_moved(self, request: BookingRequest, plan: Plan, new: int) -> None:
        """The new revision's activities and rooms, each step once (raises RoomTaken)."""
        rid, ledger = request.id, self.service.ledger
        meeting = self.service.search.config.meeting_type(request.type_id)
        owner = revision_id(rid, new)
        for slot in plan.slots:
            key = slot_key(owner, slot)
            if await self._todo(rid, f"move{new}:wfm:{key}"):
                await self.activities.write_activity(OfflineActivity(
                    key=key, mu_id=request.mu_id, name=request.title, category=meeting.activity_category,
                    code_id=meeting.activity_code, start=slot.start, end=slot.end, attendees=slot.attendees,
                    facilitator=slot.facilitator))
                await ledger.mark_step(rid, f"move{new}:wfm:{key}")
            if slot.room_id and await self._todo(rid, f"move{new}:room:{key}"):
                await self.rooms.book(RoomBooking(key=key, room_id=slot.room_id, start=slot.start, end=slot.end,
                                                  subject=request.title, organizer=request.requester))
                await ledger.mark_step(rid, f"move{new}:room:{key}")

    async def _drop_old(self, request: BookingRequest, plan: Plan, old_slots: tuple[BookedSlot, ...],
                        roster: Roster, rev: int) -> None:
        """The new time is booked: let the old one go (activity, room, and the invite of a session gone)."""
        rid, ledger, new = request.id, self.service.ledger, rev + 1
        kept = {(s.occurrence, s.session) for s in plan.slots}
        for slot in old_slots:
            key = slot_key(revision_id(rid, rev), slot)
            if await self._todo(rid, f"move{new}:drop-wfm:{key}"):
                await self.activities.cancel_activity(key)
                await ledger.mark_step(rid, f"move{new}:drop-wfm:{key}")
            if slot.room_id and await self._todo(rid, f"move{new}:drop-room:{key}"):
                await self.rooms.cancel(key)
                await ledger.mark_step(rid, f"move{new}:drop-room:{key}")
            gone = (slot.occurrence, slot.session) not in kept
            if gone and await self._todo(rid, f"move{new}:drop-invite:{key}"):
                await self.invites.send_invite(self._invite(request, slot, roster, method="CANCEL", sequence=new))
                await ledger.mark_step(rid, f"move{new}:drop-invite:{key}")

    # ------------------------------------------------------------------ helpers

    async def _already(self, request: BookingRequest, revision: int) -> ChangeDone:
        outcome = await self.store.outcome(request.id, revision)
        plan = await self._plan(request.id, await self.store.revision(request.id))
        slots = plan.slots if plan else ()
        if outcome is None:
            status = await self.service.ledger.status(request.id)
            return ChangeDone(None, now=False, slots=slots, refused=f"{request.title} is {status or 'not booked'}; "
                                                                    "nothing changed.")
        status = await self.service.ledger.status(request.id)
        stale = self.service.clock.now() - outcome.at >= RESUME_AFTER  # else the first click is still at it
        if outcome.action is ChangeAction.CANCELLED and status == Status.BOOKED and stale:
            log.warning("cancel of %s was cut short; finishing it", request.id)
            await self._apply_cancel(request, outcome)
        elif outcome.action is ChangeAction.RESCHEDULED and outcome.new_revision is None and stale:
            log.warning("reschedule of %s was cut short; finishing it", request.id)
            return await self._apply_move(request, outcome, fresh=False)
        return ChangeDone(outcome, now=False, slots=slots)

    async def _todo(self, request_id: str, step: str) -> bool:
        return not await self.service.ledger.step_done(request_id, step)

    def _invite(self, request: BookingRequest, slot: BookedSlot, roster: Roster, *, method: str,
                sequence: int) -> Invite:
        names = {**{p.id: (p.name, p.email) for p in roster.people.values()},
                 **{a.id: (a.name, a.email) for a in roster.agents.values()}}
        people = [*slot.attendees, *([slot.facilitator] if slot.facilitator else [])]
        invitees = tuple(names.get(p, (p, "")) for p in people)
        room = self.service.search.config.room_config(slot.room_id) if slot.room_id else None
        meeting = self.service.search.config.meeting_type(request.type_id)
        what = "cancelled" if method == "CANCEL" else "booked by the scheduling bot"
        return Invite(uid=invite_uid(request.id, slot), subject=request.title,
                      description=f"{meeting.name} {what}.", start=slot.start, end=slot.end,
                      location=room.name if room else (slot.room_id or "Online"), organizer=self.organizer,
                      attendees=tuple(i for i in invitees if i[1]), method=method, sequence=sequence,
                      time_zone=roster.mu.time_zone)

