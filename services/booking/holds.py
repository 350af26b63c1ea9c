"""Tentative holds for meeting types with ``auto_schedule = false``: Book, Another time, Cancel, timeout.

The worker stores the plan and holds its slots (``BookingService._hold``); the search treats held
time as taken (:class:`HeldActivities`, :class:`HeldRooms` overlay the holds on what the bot wrote),
so a concurrent request cannot take it. Nothing is written back until Book. The first of Book /
Another time / Cancel / the timeout records its outcome (``HoldStore.claim``, SET NX) and acts; any
later click gets that outcome back. Book marks the ``confirmed`` step before the write-back, so a
crash half way is finished by the next click (the write-back steps are idempotent).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.booking.model import (
    Hold,
    HoldAction,
    HoldOutcome,
    Plan,
    Progress,
    Status,
)
from services.booking.ports import (
    ActivityWriter,
    HoldStore,
    OfflineActivity,
    RoomBooking,
    RoomCalendar,
    Span,
)
from services.booking.service import RESUME_AFTER, BookingService, attempt_of, base_id
from services.domain.states import ActivityCategory
from services.ports import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HoldDone:
    """The answer to a hold click: what happened, and whether this click did it."""

    outcome: HoldOutcome
    now: bool
    status: str | None = None  # the request's status after this click (booked, needs_review, ...)
    title: str = ""


class HoldDesk:
    def __init__(self, service: BookingService, holds: HoldStore, *, schedulers: frozenset[str] = frozenset()) -> None:
        self.service, self.holds, self.schedulers = service, holds, schedulers

    def may_act(self, hold_requester: str, user: str) -> bool:
        """The requester decides about their hold; a scheduler may too."""
        return user == hold_requester or user in self.schedulers

    async def hold(self, request_id: str) -> Hold | None:
        return await self.holds.get(request_id)

    async def book(self, request_id: str, *, by: str) -> HoldDone | None:
        hold = await self.holds.get(request_id)
        now = self.service.clock.now()
        if hold is None:
            return await self._already(request_id)
        if hold.expires_at <= now:
            await self._expire(hold)
            return await self._already(request_id)
        outcome = HoldOutcome(request_id=request_id, action=HoldAction.BOOKED, by=by, at=now)
        if not await self.holds.claim(outcome):
            return await self._already(request_id)
        status = await self._write_back(request_id)
        return HoldDone(outcome, now=True, status=status)

    async def another_time(self, request_id: str, *, by: str) -> HoldDone | None:
        """Let the held time go and search again without it (a new attempt ``<id>~<n>``)."""
        hold = await self.holds.get(request_id)
        request = await self.service.ledger.request(request_id)
        if hold is None or request is None:
            return await self._already(request_id)
        now = self.service.clock.now()
        again = request.model_copy(update={
            "id": f"{base_id(request_id)}~{attempt_of(request_id) + 1}", "submitted_at": now,
            "exclude": (*request.exclude, *((s.start, s.end) for s in hold.slots))})
        outcome = HoldOutcome(request_id=request_id, action=HoldAction.ANOTHER_TIME, by=by, at=now,
                              new_request_id=again.id, retry=again)
        if not await self.holds.claim(outcome):
            return await self._already(request_id)
        await self.holds.release(request_id)
        await self.service.ledger.set_status(request_id, Status.RELEASED)
        await self.service.submit(again)
        return HoldDone(outcome, now=True, status=Status.RELEASED)

    async def cancel(self, request_id: str, *, by: str) -> HoldDone | None:
        hold = await self.holds.get(request_id)
        if hold is None:
            return await self._already(request_id)
        outcome = HoldOutcome(request_id=request_id, action=HoldAction.CANCELLED, by=by,
                              at=self.service.clock.now())
        if not await self.holds.claim(outcome):
            return await self._already(request_id)
        await self.holds.release(request_id)
        await self.service.ledger.set_status(request_id, Status.CANCELLED)
        request = await self.service.ledger.request(request_id)
        if request is not None:
            await self.service.tell(request, Progress(request_id=request_id, status=Status.CANCELLED,
                                                      text=f"Cancelled: {request.title}. The held time is free again."))
        return HoldDone(outcome, now=True, status=Status.CANCELLED)

    async def expire_due(self) -> list[str]:
        """Release every hold whose time is up (a scheduler job); returns the request ids released."""
        released = []
        for hold in await self.holds.due(self.service.clock.now()):
            if await self._expire(hold):
                released.append(hold.request_id)
        return released

    async def _expire(self, hold: Hold) -> bool:
        outcome = HoldOutcome(request_id=hold.request_id, action=HoldAction.EXPIRED, at=hold.expires_at)
        if not await self.holds.claim(outcome):
            return False
        await self.holds.release(hold.request_id)
        await self.service.ledger.set_status(hold.request_id, Status.RELEASED)
        request = await self.service.ledger.request(hold.request_id)
        log.info("hold of %s expired at %s; released", hold.request_id, hold.expires_at)
        if request is not None:
            await self.service.tell(request, Progress(
                request_id=hold.request_id, status=Status.RELEASED,
                text=f"The time held for {request.title} was not booked in time and is free again. "
                     "Use /book-meeting to look again."))
        return True

    async def _write_back(self, request_id: str) -> str:
        ledger = self.service.ledger
        request, stored = await ledger.request(request_id), await ledger.plan(request_id)
        if request is None or stored is None:
            log.error("hold %s has no stored request or plan; nothing to book", request_id)
            return Status.NEEDS_REVIEW
        await ledger.mark_step(request_id, "confirmed")
        status = await self.service.write_back(request, Plan.model_validate_json(stored))
        await self.holds.release(request_id)  # the written activities and room now keep the time
        return status

    async def _already(self, request_id: str) -> HoldDone | None:
        outcome = await self.holds.outcome(request_id)
        if outcome is None:
            return None
        status = await self.service.ledger.status(request_id)
        request = await self.service.ledger.request(request_id)
        stale = self.service.clock.now() - outcome.at >= RESUME_AFTER
        if outcome.action is HoldAction.BOOKED and status == Status.HELD and stale:
            # The Book click was recorded but its write-back did not finish (a crash): finish it now.
            log.warning("Book of %s was cut short; finishing the write-back", request_id)
            status = await self._write_back(request_id)
        if outcome.retry is not None and await self.service.ledger.status(outcome.retry.id) is None:
            log.warning("another time for %s was never queued; queuing %s now", request_id, outcome.retry.id)
            await self.service.submit(outcome.retry)
        return HoldDone(outcome, now=False, status=status, title=request.title if request else "")


def _held_activities(holds: Sequence[Hold]) -> list[OfflineActivity]:
    return [OfflineActivity(key=f"hold:{h.request_id}:{s.occurrence}:{s.session}", mu_id=h.mu_id, name=h.title,
                            category=ActivityCategory.MEETING, code_id="", start=s.start, end=s.end,
                            attendees=s.attendees, facilitator=s.facilitator) for h in holds for s in h.slots]


class HeldActivities:
    """The activity log as the search reads it: what the bot wrote plus the time it holds."""

    def __init__(self, inner: ActivityWriter, holds: HoldStore, clock: Clock) -> None:
        self.inner, self.holds, self.clock = inner, holds, clock

    async def write_activity(self, activity: OfflineActivity) -> str:
        return await self.inner.write_activity(activity)

    async def cancel_activity(self, key: str) -> None:
        await self.inner.cancel_activity(key)

    async def activities(self, mu_id: str, start: datetime, end: datetime) -> Sequence[OfflineActivity]:
        held = [a for a in _held_activities(await self.holds.active(mu_id, self.clock.now()))
                if a.end > start and a.start < end]
        return [*await self.inner.activities(mu_id, start, end), *held]


class HeldRooms:
    """The room calendar as the search reads it: bookings plus rooms held tentatively."""

    def __init__(self, inner: RoomCalendar, holds: HoldStore, clock: Clock) -> None:
        self.inner, self.holds, self.clock = inner, holds, clock

    async def busy(self, room_ids: Sequence[str], start: datetime, end: datetime) -> Mapping[str, Sequence[Span]]:
        out = {room: list(spans) for room, spans in (await self.inner.busy(room_ids, start, end)).items()}
        wanted = set(room_ids)
        for hold in await self.holds.active(None, self.clock.now()):  # rooms are shared by every unit
            for slot in hold.slots:
                if slot.room_id in wanted and slot.end > start and slot.start < end:
                    out.setdefault(slot.room_id, []).append((slot.start, slot.end))
        return out

    async def book(self, booking: RoomBooking) -> str:
        return await self.inner.book(booking)

    async def cancel(self, key: str) -> None:
        await self.inner.cancel(key)
