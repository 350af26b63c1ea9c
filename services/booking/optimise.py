"""Optimise upcoming: re-plan the not-yet-started bookings of a unit's next days jointly.

A scheduler asks for a proposal (``/book-meeting optimise [days]``): every booking of the unit
that starts after now and ends inside the window is freed from the snapshot and re-placed by the
batch planner's improvement phases (:func:`services.domain.slots.replan.replan`), which keep
every booking placed and only ever lower the added understaffing. The proposal lists the moves
and the gain in agent-hours; nothing changes until a scheduler applies it. A proposal without a
positive gain has no moves. Applying moves the WFM activity and the room booking of each moved
slot, sends its people an updated invite (same UID, higher SEQUENCE) and updates the attendance
register (its sessions and revision, as Reschedule does); each step is recorded in the ledger,
so a second click or a retry after a crash does nothing twice. A proposal older than ``ttl`` is
refused: the schedules it was computed on may have changed.

A move is a new revision of the booking in the same numbering as Cancel and Reschedule
(:mod:`services.booking.changes`, one counter in the :class:`ChangeStore`): revision ``n + 1``
keeps its plan in the ledger under ``<id>#r<n+1>`` and its WFM activities and room bookings
under keys of that id, and its invites carry ``SEQUENCE n + 1``. So an optimised booking that is
later rescheduled or cancelled sends a higher SEQUENCE again, and the change finds what to undo.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from services.booking.changes import revision_id
from services.booking.config import BookingConfig
from services.booking.model import BookedSlot, BookingRequest, Plan, Status
from services.booking.ports import (
    ActivityWriter,
    AttendanceMarks,
    AttendanceRegisters,
    BookingData,
    BookingLedger,
    ChangeStore,
    Invite,
    InviteSender,
    OfflineActivity,
    RoomBooking,
    RoomCalendar,
    RoomTaken,
)
from services.booking.search import GRID
from services.booking.translate import RequestError, to_slot_request
from services.booking.writeback import slot_key
from services.domain.slots.replan import HeldSlot, replan
from services.ports import Clock

log = logging.getLogger(__name__)
_INTERVALS_PER_HOUR = 4  # the slot grid is 15 minutes: agent-intervals / 4 = agent-hours
_EPS = 1e-6


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Move(_Frozen):
    request_id: str
    title: str
    occurrence: int
    session: int
    old: BookedSlot
    new: BookedSlot


class Revised(_Frozen):
    """A moved booking's new plan and its revision (the invites' SEQUENCE)."""

    request_id: str
    revision: int
    plan: Plan


class Proposal(_Frozen):
    id: str
    mu_id: str
    by: str
    created_at: datetime
    start: datetime
    end: datetime
    bookings: int  # how many bookings were re-planned
    before_hours: float  # understaffing the bookings add where they are, agent-hours
    after_hours: float
    moves: tuple[Move, ...] = ()
    revised: tuple[Revised, ...] = ()
    kept: tuple[str, ...] = ()  # request ids left where they are (split into sessions, or no longer fit there)

    @property
    def gain_hours(self) -> float:
        return round(self.before_hours - self.after_hours, 2)


class Decision(_Frozen):
    proposal_id: str
    action: str  # "applied" | "discarded" | "expired"
    by: str
    at: datetime
    moved: tuple[str, ...] = ()  # request ids moved
    failed: tuple[str, ...] = ()  # request ids left where they were (their new room was taken meanwhile)


class NotAllowed(Exception):
    """Only schedulers may optimise."""


class OptimiseStore(Protocol):
    async def save(self, proposal: Proposal) -> None: ...

    async def get(self, proposal_id: str) -> Proposal | None: ...

    async def claim(self, decision: Decision) -> bool:
        """Record the decision unless one exists (first click wins); True if this one won."""
        ...

    async def decision(self, proposal_id: str) -> Decision | None: ...

    async def revision(self, request_id: str) -> tuple[int, Plan] | None:
        """The booking's plan as last moved, with its revision (None: never moved, the ledger's plan holds)."""
        ...

    async def revise(self, revised: Revised) -> None: ...


@dataclass(frozen=True, slots=True)
class _Held:
    request: BookingRequest
    plan: Plan
    revision: int


class OptimiseUpcoming:
    def __init__(self, *, data: BookingData, config: BookingConfig, ledger: BookingLedger,
                 activities: ActivityWriter, rooms: RoomCalendar, invites: InviteSender, store: OptimiseStore,
                 changes: ChangeStore, registers: AttendanceRegisters, schedulers: Collection[str], clock: Clock,
                 attendance: AttendanceMarks | None = None, ttl: timedelta = timedelta(minutes=30),
                 organizer: tuple[str, str] = ("Booking bot", "bookings@example.com")) -> None:
        """``registers``/``attendance``: a move updates the register's sessions and when the facilitator
        is asked for attendance, as Reschedule does."""
        self.data, self.config, self.ledger, self.changes = data, config, ledger, changes
        self.activities, self.rooms, self.invites, self.store = activities, rooms, invites, store
        self.registers, self.attendance = registers, attendance
        self.schedulers, self.clock, self.ttl, self.organizer = frozenset(schedulers), clock, ttl, organizer

    def _check(self, by: str) -> None:
        if by not in self.schedulers:
            raise NotAllowed("only schedulers may optimise upcoming bookings"
                             + ("" if self.schedulers else " (none are configured under [booking] schedulers)"))

    # ------------------------------------------------------------------ proposing

    async def propose(self, mu_id: str, days: int, by: str) -> Proposal:
        self._check(by)
        if not 1 <= days <= 28:
            raise ValueError("optimise looks 1 to 28 days ahead")
        now = self.clock.now()
        start = now.replace(second=0, microsecond=0) + timedelta(minutes=-now.minute % 15)
        if start <= now:
            start += GRID
        end = start + timedelta(days=days)
        roster = await self.data.roster(mu_id)
        held = await self._upcoming(mu_id, start, end)
        snapshot = await self.data.snapshot(mu_id, start, end)
        grid = snapshot.problem.grid
        slot_requests, by_id = [], {h.request.id: h for h in held}
        unreadable: list[str] = []
        for h in held:
            try:
                slot_request = to_slot_request(h.request, roster, self.config)
            except (RequestError, ValueError) as error:  # e.g. the team changed: leave it where it is
                log.info("optimise leaves %s where it is: %s", h.request.id, error)
                unreadable.append(h.request.id)
                continue
            slots = [HeldSlot(s.occurrence, grid.index_of(s.start), grid.index_of(s.end, ceil=True), s.attendees,
                              s.facilitator, s.room_id) for s in h.plan.slots]
            slot_requests.append((slot_request, slots))
        result = replan(snapshot.problem, slot_requests, base=snapshot.base)
        gain = result.before - result.after
        moves: list[Move] = []
        revised: list[Revised] = []
        if gain > _EPS:
            for request_id, outcome in sorted(result.outcomes.items()):
                h = by_id[request_id]
                old = {(s.occurrence, s.session): s for s in h.plan.slots}
                new_slots = tuple(BookedSlot.of(p) for p in outcome.placements)
                changed = [s for s in new_slots if _moved(old[(s.occurrence, s.session)], s)]
                if not changed:
                    continue
                moves.extend(Move(request_id=request_id, title=h.request.title, occurrence=s.occurrence,
                                  session=s.session, old=old[(s.occurrence, s.session)], new=s) for s in changed)
                why = tuple(f"moved by Optimise upcoming ({by}) for less understaffing" for _ in new_slots)
                revised.append(Revised(request_id=request_id, revision=h.revision + 1,
                                       plan=Plan(request_id=request_id, slots=new_slots, why=why)))
        proposal = Proposal(id=f"opt-{mu_id}-{int(now.timestamp())}-{by}", mu_id=mu_id, by=by, created_at=now,
                            start=start, end=end, bookings=len(held),
                            before_hours=round(result.before / _INTERVALS_PER_HOUR, 2),
                            after_hours=round((result.after if moves else result.before) / _INTERVALS_PER_HOUR, 2),
                            moves=tuple(moves), revised=tuple(revised), kept=(*unreadable, *result.fixed))
        await self.store.save(proposal)
        log.info("optimise %s: %d bookings (%d kept where they are), %d moves, gain %.2f agent-hours", mu_id,
                 len(held), len(proposal.kept), len(moves), proposal.gain_hours)
        return proposal

    async def _upcoming(self, mu_id: str, start: datetime, end: datetime) -> list[_Held]:
        """Booked requests of the unit whose every slot lies in ``[start, end)`` (read from our activity log),
        each at its current revision (shared with Cancel and Reschedule)."""
        owners = (a.key.rsplit(":", 2)[0] for a in await self.activities.activities(mu_id, start, end))
        ids = dict.fromkeys(owner.split("#r", 1)[0] for owner in owners)  # "<id>#r<n>": revision n of <id>
        out = []
        for request_id in ids:
            if await self.ledger.status(request_id) != Status.BOOKED:
                continue
            request = await self.ledger.request(request_id)
            revision = await self.changes.revision(request_id)
            stored = await self.ledger.plan(revision_id(request_id, revision))
            if request is None or stored is None:
                continue
            plan = Plan.model_validate_json(stored)
            if plan.slots and all(s.start >= start and s.end <= end for s in plan.slots):
                out.append(_Held(request, plan, revision))
        return out

    # ------------------------------------------------------------------ deciding

    async def discard(self, proposal_id: str, by: str) -> Decision | None:
        self._check(by)
        decision = Decision(proposal_id=proposal_id, action="discarded", by=by, at=self.clock.now())
        if await self.store.get(proposal_id) is None:
            return None
        return decision if await self.store.claim(decision) else await self.store.decision(proposal_id)

    async def apply(self, proposal_id: str, by: str) -> Decision | None:
        """Move every booking of the proposal; None if it is unknown. A second click gets the first's decision."""
        self._check(by)
        proposal = await self.store.get(proposal_id)
        if proposal is None:
            return None
        now = self.clock.now()
        if now - proposal.created_at > self.ttl:
            expired = Decision(proposal_id=proposal_id, action="expired", by=by, at=now)
            return expired if await self.store.claim(expired) else await self.store.decision(proposal_id)
        roster = await self.data.roster(proposal.mu_id)
        names = {**{p.id: (p.name, p.email) for p in roster.people.values()},
                 **{a.id: (a.name, a.email) for a in roster.agents.values()}}
        decision = Decision(proposal_id=proposal_id, action="applied", by=by, at=now,
                            moved=tuple(r.request_id for r in proposal.revised))
        if not await self.store.claim(decision):
            return await self.store.decision(proposal_id)
        moved, failed = await self._rooms(proposal)
        for revised in proposal.revised:
            if revised.request_id in moved:
                await self._move(proposal, revised, names)
        return decision.model_copy(update={"moved": tuple(moved), "failed": tuple(failed)})

    async def _rooms(self, proposal: Proposal) -> tuple[list[str], list[str]]:
        """Free the old revision's rooms of every moved booking first (moves may swap rooms), then book the
        new revision's (every slot: the new revision owns them all)."""
        old_plans = {r.request_id: await self._old_plan(r) for r in proposal.revised}
        for revised in proposal.revised:
            for slot in old_plans[revised.request_id]:
                if slot.room_id:
                    await self.rooms.cancel(_key(revised.request_id, revised.revision - 1, slot))
        moved, failed = [], []
        for revised in proposal.revised:
            title = next(m.title for m in proposal.moves if m.request_id == revised.request_id)
            try:
                for slot in revised.plan.slots:
                    await self._book_room(proposal, title, _key(revised.request_id, revised.revision, slot), slot)
                moved.append(revised.request_id)
            except RoomTaken as taken:  # keep this booking where it was
                log.warning("optimise %s: %s stays where it was: %s", proposal.id, revised.request_id, taken)
                for slot in revised.plan.slots:
                    await self.rooms.cancel(_key(revised.request_id, revised.revision, slot))
                for slot in old_plans[revised.request_id]:
                    await self._book_room(proposal, title, _key(revised.request_id, revised.revision - 1, slot), slot)
                failed.append(revised.request_id)
        return moved, failed

    async def _old_plan(self, revised: Revised) -> tuple[BookedSlot, ...]:
        stored = await self.ledger.plan(revision_id(revised.request_id, revised.revision - 1))
        return Plan.model_validate_json(stored).slots if stored else ()

    async def _book_room(self, proposal: Proposal, title: str, key: str, slot: BookedSlot) -> None:
        if slot.room_id:
            await self.rooms.book(RoomBooking(key=key, room_id=slot.room_id, start=slot.start, end=slot.end,
                                              subject=title, organizer=proposal.by))

    async def _move(self, proposal: Proposal, revised: Revised, names: dict[str, tuple[str, str]]) -> None:
        request = await self.ledger.request(revised.request_id)
        if request is None:
            return
        meeting = self.config.meeting_type(request.type_id)
        moves = {(m.occurrence, m.session): m for m in proposal.moves if m.request_id == revised.request_id}
        # The new revision's plan where Cancel and Reschedule read it (first writer wins: a retry keeps it).
        await self.ledger.save_plan(revision_id(request.id, revised.revision), revised.plan.model_dump_json())
        for slot in revised.plan.slots:
            key = _key(request.id, revised.revision, slot)
            step = f"optimise:{revised.revision}:{key}"
            if not await self.ledger.step_done(request.id, f"{step}:wfm"):
                await self.activities.write_activity(OfflineActivity(
                    key=key, mu_id=request.mu_id, name=request.title, category=meeting.activity_category,
                    code_id=meeting.activity_code, start=slot.start, end=slot.end, attendees=slot.attendees,
                    facilitator=slot.facilitator))
                await self.activities.cancel_activity(_key(request.id, revised.revision - 1, slot))
                await self.ledger.mark_step(request.id, f"{step}:wfm")
            if (slot.occurrence, slot.session) not in moves:
                continue  # not moved: same time, no new invite
            if not await self.ledger.step_done(request.id, f"{step}:invite"):
                room = self.config.room_config(slot.room_id) if slot.room_id else None
                people = [*slot.attendees, *([slot.facilitator] if slot.facilitator else [])]
                invitees = tuple(names.get(p, (p, "")) for p in people)
                await self.invites.send_invite(Invite(
                    uid=f"{slot_key(request.id, slot.occurrence, slot.session)}@booking", subject=request.title,
                    description=f"{meeting.name} moved to a time that keeps the queues better staffed.",
                    start=slot.start, end=slot.end, location=(room.name if room else slot.room_id) or "Online",
                    organizer=self.organizer, attendees=tuple(i for i in invitees if i[1]),
                    sequence=revised.revision))
                await self.ledger.mark_step(request.id, f"{step}:invite")
        await self._register(request.id, revised)
        await self.store.revise(revised)
        await self.changes.set_revision(request.id, revised.revision)

    async def _register(self, request_id: str, revised: Revised) -> None:
        """The register lists the moved sessions (once per revision); the attendance prompt waits for the new end."""
        step = f"optimise:{revised.revision}:register"
        if not await self.ledger.step_done(request_id, step):
            register = await self.registers.get(request_id)
            if register is not None:
                await self.registers.save(register.model_copy(update={"sessions": revised.plan.slots,
                                                                      "revision": revised.revision}))
            await self.ledger.mark_step(request_id, step)
        if self.attendance is not None and revised.plan.slots:
            await self.attendance.expect(request_id, max(s.end for s in revised.plan.slots))


def _key(request_id: str, revision: int, slot: BookedSlot) -> str:
    """What revision ``revision`` of a booking wrote for ``slot`` (the activity and room booking key)."""
    return slot_key(revision_id(request_id, revision), slot.occurrence, slot.session)


def _moved(old: BookedSlot, new: BookedSlot) -> bool:
    return (old.start, old.end, old.room_id) != (new.start, new.end, new.room_id)


def describe(moves: Sequence[Move]) -> list[str]:
    """One line per move, for Slack and the terminal."""
    return [f"{m.title}: {m.old.start:%a %d %b %H:%M} -> {m.new.start:%a %d %b %H:%M}"
            + (f" ({m.new.room_id})" if m.new.room_id and m.new.room_id != m.old.room_id else "") for m in moves]
