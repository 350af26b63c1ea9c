"""Where a booking request enters: a recurring request that spans more than one schedule period
becomes a template (re-run for each new period, with team-change notices); anything else is queued.

Slack and the terminal call this instead of the queue directly, so both get the same rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from services.booking.model import BookingRequest, WorkItem
from services.booking.recurring import RecurringTemplates
from services.booking.service import BookingService, WorkDone


class BookingIntake:
    def __init__(self, service: BookingService, templates: RecurringTemplates, *, period: timedelta,
                 ahead: timedelta = timedelta(days=7)) -> None:
        self.service, self.templates, self.period, self.ahead = service, templates, period, ahead

    async def submit(self, request: BookingRequest) -> bool:
        spans_periods = (request.date_to - request.date_from) >= self.period
        if request.recurrence is None or not spans_periods or request.template_id is not None:
            return await self.service.submit(request)
        await self.templates.add(request)
        queued = await self.templates.run_due(request.submitted_at, ahead=self.ahead)
        return bool(queued)

    async def run_templates(self, now: datetime) -> list[BookingRequest]:
        """Queue every template period that starts within the look-ahead (a daily job)."""
        return await self.templates.run_due(now, ahead=self.ahead)

    async def work_items(self) -> Sequence[WorkItem]:
        return await self.service.work_items()

    async def work_item(self, request_id: str) -> WorkItem | None:
        return await self.service.work_item(request_id)

    async def retry(self, request_id: str, *, relaxed: bool = False, by: str | None = None) -> WorkDone | None:
        return await self.service.retry(request_id, relaxed=relaxed, by=by)

    async def cancel(self, request_id: str, *, by: str | None = None) -> WorkDone | None:
        return await self.service.cancel(request_id, by=by)
