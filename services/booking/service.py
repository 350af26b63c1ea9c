"""The booking use cases: submit to the FCFS queue, process requests in order, the manual work queue.

Processing one request: status ``searching`` -> search -> (placed) store the plan -> write back ->
``booked``; (not placed) -> manual work queue with the reason -> ``needs_review``. The requester
hears about each step. A request already booked, cancelled or under review is never processed
again, and a plan stored before a crash is resumed, not searched again, so nothing is booked twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from services import telemetry
from services.booking.display import slots_text
from services.booking.model import (
    BookingRequest,
    Hold,
    Plan,
    Progress,
    Status,
    WorkAction,
    WorkItem,
    WorkOutcome,
)
from services.booking.ports import (
    AttendanceMarks,
    BookingData,
    BookingLedger,
    ChangeStore,
    HoldStore,
    ProgressNotifier,
    Queued,
    RequestQueue,
    RoomTaken,
    WorkQueue,
)
from services.booking.search import SlotSearch
from services.booking.writeback import WriteBack
from services.domain.slots import REASON_TEXT, Reason
from services.ports import Clock

log = logging.getLogger(__name__)
_ATTEMPT = re.compile(r"~(\d+)$")
#: A click recorded but not finished this long ago was cut short (a crash): the next click finishes it.
#: Younger, it is still running (a double click): the second click only says what the first did.
RESUME_AFTER = timedelta(minutes=1)


def attempt_of(request_id: str) -> int:
    match = _ATTEMPT.search(request_id)
    return int(match.group(1)) if match else 1


def base_id(request_id: str) -> str:
    """The request id without its attempt suffix (``r1~3`` -> ``r1``)."""
    return _ATTEMPT.sub("", request_id)


def describe_plan(plan: Plan, time_zone: str | None = None) -> str:
    """The plan's times in the unit's zone (named), with room names."""
    return slots_text(plan.slots, time_zone)


@dataclass(frozen=True, slots=True)
class WorkDone:
    """The answer to a work-queue click: what was done, and whether this click did it."""

    outcome: WorkOutcome
    now: bool  # False: it had already been done (a replay, a double click, a stale list)


class BookingService:
    def __init__(self, *, queue: RequestQueue, ledger: BookingLedger, work_queue: WorkQueue, search: SlotSearch,
                 writeback: WriteBack, notifier: ProgressNotifier, data: BookingData, clock: Clock,
                 holds: HoldStore | None = None, changes: ChangeStore | None = None,
                 attendance: AttendanceMarks | None = None) -> None:
        self.queue, self.ledger, self.work_queue = queue, ledger, work_queue
        self.search, self.writeback, self.notifier = search, writeback, notifier
        self.data, self.clock = data, clock
        self.holds, self.changes, self.attendance = holds, changes, attendance

    async def tell(self, request: BookingRequest, progress: Progress) -> None:
        """Tell the requester (for the hold and change use cases); a failure is logged, never raised."""
        await self._tell(request, progress)

    async def _tell(self, request: BookingRequest, progress: Progress) -> None:
        try:
            await self.notifier.notify(request, progress)
        except Exception:  # a lost notice must not lose the booking
            log.exception("could not notify %s about %s", request.requester, request.id)

    # ------------------------------------------------------------------ queue

    async def submit(self, request: BookingRequest) -> bool:
        """Queue ``request``; False (and nothing queued) if its id was seen before."""
        await self.ledger.save_request(request)
        if not await self.queue.submit(request):
            return False
        await self.ledger.set_status(request.id, Status.QUEUED)
        await self._tell(request, Progress(request_id=request.id, status=Status.QUEUED,
                                           text=f"Queued: {request.title}. I'll look for the best time now."))
        return True

    async def process_next(self, consumer: str, block_ms: int = 0, stop: asyncio.Event | None = None) -> bool:
        """Handle the oldest waiting request; False when the queue is empty (or ``stop`` was set while
        waiting for one)."""
        item = await self._take(consumer, block_ms, stop)
        if item is None:
            return False
        telemetry.booking_outcome((await self.handle(item.request)).value)
        await self.queue.done(item)
        return True

    async def run(self, consumer: str, stop: asyncio.Event, *, block_ms: int = 2000,
                  max_backoff_s: float = 60.0) -> None:
        """Process requests until ``stop`` is set; an outage is retried with growing pauses."""
        first_pause = min(1.0, max_backoff_s)
        backoff = first_pause
        while not stop.is_set():
            try:
                await self.process_next(consumer, block_ms, stop)
                backoff = first_pause
            except Exception:
                log.exception("booking worker %s failed; retrying in %.0fs", consumer, backoff)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=backoff)
                backoff = min(max_backoff_s, backoff * 2)

    async def _take(self, consumer: str, block_ms: int, stop: asyncio.Event | None) -> Queued | None:
        """The next request. A wait for one (up to ``block_ms``) ends when ``stop`` is set, so a shutdown
        does not sit out the block; a request already taken is handled (its entry stays pending until
        done either way, so nothing is lost)."""
        if stop is None:
            return await self.queue.take(consumer, block_ms)
        taking = asyncio.ensure_future(self.queue.take(consumer, block_ms))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({taking, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not taking.done():
            taking.cancel()
        try:
            return await taking
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # this worker itself is being cancelled, not just its wait
            return None

    # ------------------------------------------------------------------ one request

    async def handle(self, request: BookingRequest) -> Status:
        status = await self.ledger.status(request.id)
        if status in (Status.BOOKED, Status.CANCELLED, Status.NEEDS_REVIEW, Status.HELD, Status.RELEASED):
            log.info("booking %s already %s; not processed again", request.id, status)
            return Status(status)
        now = self.clock.now()
        stored = await self.ledger.plan(request.id)
        if stored is None:
            await self.ledger.set_status(request.id, Status.SEARCHING)
            await self._tell(request, Progress(request_id=request.id, status=Status.SEARCHING,
                                               text=f"Searching for the best time for {request.title}..."))
            found = await self.search.find(request, now)
            if not found.placed:
                reason = found.outcome.reason or Reason.NO_COMMON_TIME
                return await self._to_review(request, reason, found.outcome.detail)
            stored = await self.ledger.save_plan(request.id, found.plan(self.search.room_names).model_dump_json())
        plan = Plan.model_validate_json(stored)
        if self._needs_confirmation(request) and not await self.ledger.step_done(request.id, "confirmed"):
            return await self._hold(request, plan)
        return await self.write_back(request, plan)

    def _needs_confirmation(self, request: BookingRequest) -> bool:
        meeting = self.search.config.types.get(request.type_id)
        return self.holds is not None and meeting is not None and not meeting.auto_schedule

    async def _hold(self, request: BookingRequest, plan: Plan) -> Status:
        """Reserve the slot for the requester and ask them to Book it; nothing is written back yet."""
        assert self.holds is not None
        expires = self.clock.now() + self.search.config.hold_timeout
        hold = Hold(request_id=request.id, requester=request.requester, mu_id=request.mu_id, title=request.title,
                    slots=plan.slots, expires_at=expires)
        if not await self.holds.add(hold):
            log.info("hold of %s was already decided; not held again", request.id)
            return Status(await self.ledger.status(request.id) or Status.RELEASED)
        held = await self.holds.get(request.id) or hold  # a re-delivered request keeps its first hold
        await self.ledger.set_status(request.id, Status.HELD)
        tz = (await self.data.roster(request.mu_id)).mu.time_zone
        await self._tell(request, Progress(
            request_id=request.id, status=Status.HELD, slots=plan.slots, why=plan.why, hold_until=held.expires_at,
            time_zone=tz, text=f"Found a time for {request.title}: {describe_plan(plan, tz)}. "
                               "It is held for you; press Book to book it."))
        return Status.HELD

    async def write_back(self, request: BookingRequest, plan: Plan) -> Status:
        """Write ``plan`` everywhere (each step once), then tell the requester it is booked."""
        roster = await self.data.roster(request.mu_id)
        try:
            await self.writeback.apply(request, plan, roster, self.clock.now())
        except RoomTaken as taken:
            return await self._to_review(request, Reason.NO_ROOM_FREE, f"the room was taken meanwhile: {taken}")
        await self.ledger.set_status(request.id, Status.BOOKED)
        if self.changes is not None and plan.slots:
            await self.changes.add_booking(request.requester, request.id, min(s.start for s in plan.slots))
        if self.attendance is not None and plan.slots:
            await self.attendance.expect(request.id, max(s.end for s in plan.slots))
        tz = roster.mu.time_zone
        await self._tell(request, Progress(request_id=request.id, status=Status.BOOKED, time_zone=tz,
                                           text=f"Booked {request.title}: {describe_plan(plan, tz)}",
                                           slots=plan.slots, why=plan.why))
        return Status.BOOKED

    async def _to_review(self, request: BookingRequest, reason: Reason, detail: str) -> Status:
        await self.work_queue.add(WorkItem(request=request, reason=reason, detail=detail, added_at=self.clock.now(),
                                           attempts=attempt_of(request.id)))
        await self.ledger.set_status(request.id, Status.NEEDS_REVIEW)
        await self._tell(request, Progress(
            request_id=request.id, status=Status.NEEDS_REVIEW, reason=reason,
            text=f"Needs review: {request.title} could not be placed ({REASON_TEXT[reason]}: {detail}). "
                 "A scheduler will look at it."))
        return Status.NEEDS_REVIEW

    # ------------------------------------------------------------------ manual work queue

    async def work_items(self) -> Sequence[WorkItem]:
        return await self.work_queue.items()

    async def work_item(self, request_id: str) -> WorkItem | None:
        return await self.work_queue.get(request_id)

    async def retry(self, request_id: str, *, relaxed: bool = False, by: str | None = None) -> WorkDone | None:
        """Queue a work item again (a new attempt id), optionally without the service limits.

        Only the first click acts; a second one (replayed, double-clicked, from an old list) gets
        the recorded outcome back. None: the item is unknown (never queued, or long expired).
        """
        item = await self.work_queue.get(request_id)
        if item is None:
            return await self._already(request_id)
        base = base_id(request_id)
        again = item.request.model_copy(update={"id": f"{base}~{attempt_of(request_id) + 1}",
                                                "relaxed": relaxed or item.request.relaxed,
                                                "submitted_at": self.clock.now()})
        action = WorkAction.RETRIED_RELAXED if relaxed else WorkAction.RETRIED
        outcome = WorkOutcome(request_id=request_id, action=action, by=by, at=self.clock.now(),
                              new_request_id=again.id, retry=again)
        if await self.work_queue.resolve(request_id, outcome) is None:
            return await self._already(request_id)
        await self.ledger.set_status(request_id, "retried")
        await self.submit(again)
        return WorkDone(outcome, now=True)

    async def cancel(self, request_id: str, *, by: str | None = None) -> WorkDone | None:
        """Cancel a work item; a second click changes nothing and gets the recorded outcome."""
        outcome = WorkOutcome(request_id=request_id, action=WorkAction.CANCELLED, by=by, at=self.clock.now())
        item = await self.work_queue.resolve(request_id, outcome)
        if item is None:
            return await self._already(request_id)
        await self.ledger.set_status(request_id, Status.CANCELLED)
        await self._tell(item.request, Progress(request_id=request_id, status=Status.CANCELLED,
                                                text=f"Cancelled: {item.request.title}."))
        return WorkDone(outcome, now=True)

    async def _already(self, request_id: str) -> WorkDone | None:
        outcome = await self.work_queue.outcome(request_id)
        if outcome is None:  # handled before outcomes were recorded: the status still says what
            status = await self.ledger.status(request_id)
            if status == Status.CANCELLED:
                outcome = WorkOutcome(request_id=request_id, action=WorkAction.CANCELLED)
            elif status == "retried":
                outcome = WorkOutcome(request_id=request_id, action=WorkAction.RETRIED)
        if outcome is None:
            return None
        if outcome.retry is not None and await self.ledger.status(outcome.retry.id) is None:
            # The first click recorded the retry but stopped before queuing it (a crash): finish it.
            log.warning("retry of %s as %s was never queued; queuing it now", request_id, outcome.retry.id)
            await self.submit(outcome.retry)
        return WorkDone(outcome, now=False)
