"""Tier 3: a coaching appointment in Genesys (facilitator = supervisor, attendee = agent, on the schedule).

Idempotency. ``CreateCoachingAppointmentRequest`` has no external-id field, so the request's
``idempotency_key`` is written into the appointment's ``description`` as a reference line, and
before creating we look for it: first in a local record (same process), then in Genesys with
``GET /api/v2/coaching/appointments?userIds=<agent>&interval=..`` around the requested start. The
remote lookup is what makes a retry after a crash, a lost response or a timeout safe: the create
``POST`` is never blindly repeated; every retry looks first.
"""

from __future__ import annotations

import logging
from datetime import UTC, timedelta
from typing import Any

from services.adapters.genesys.backoff import Backoff, Sleep, real_sleep
from services.adapters.genesys.client import GenesysClient, as_object
from services.adapters.genesys.errors import GenesysMalformed, GenesysRateLimited, GenesysUnavailable
from services.adapters.genesys.parse import format_time
from services.adapters.retry import Again, with_retries
from services.ports import CoachingRequest

log = logging.getLogger(__name__)

APPOINTMENTS = "/api/v2/coaching/appointments"


def reference_line(idempotency_key: str) -> str:
    return f"[adherence-bot ref: {idempotency_key}]"


class GenesysCoaching:
    def __init__(self, client: GenesysClient, *, add_to_schedule: bool = True,
                 lookup_window: timedelta = timedelta(days=7), max_attempts: int = 4,
                 sleep: Sleep = real_sleep, backoff: Backoff | None = None) -> None:
        self.client = client
        self.add_to_schedule = add_to_schedule
        self.lookup_window = lookup_window
        self.max_attempts = max_attempts
        self._sleep = sleep
        self._backoff = backoff or Backoff(base=1.0, cap=30.0)
        self._created: dict[str, str] = {}

    async def create_coaching_appointment(self, request: CoachingRequest) -> str:
        key = request.idempotency_key
        if key in self._created:
            return self._created[key]
        appointment_id = await with_retries(lambda n: self._find_or_create(request, n), attempts=self.max_attempts,
                                            delay=self._backoff.delay, sleep=self._sleep)
        self._created[key] = appointment_id
        return appointment_id

    async def _find_or_create(self, request: CoachingRequest, attempt: int) -> str:
        """Look first (an earlier attempt may have created it), then create; a failed create is tried again."""
        key = request.idempotency_key
        existing = await self.find(request)
        if existing is not None:
            log.info("coaching appointment for %s already exists (%s); not creating another", key, existing)
            return existing
        try:
            body = as_object(await self.client.post(APPOINTMENTS, self._body(request)), APPOINTMENTS)
        except GenesysUnavailable as error:  # it may or may not have been created: look again first
            log.warning("creating coaching appointment %s failed (%s, attempt %d/%d); will look it up and retry",
                        key, error, attempt, self.max_attempts)
            raise Again(error) from error
        except GenesysRateLimited as error:
            raise Again(error, retry_after=error.retry_after) from error
        appointment_id = body.get("id")
        if not isinstance(appointment_id, str):
            raise GenesysMalformed(f"{APPOINTMENTS}: response has no id")
        log.info("created coaching appointment %s for agent %s (%s)", appointment_id, request.agent_id, key)
        return appointment_id

    def _body(self, request: CoachingRequest) -> dict[str, Any]:
        start = request.start.astimezone(UTC).replace(second=0, microsecond=0)  # Genesys rounds down anyway
        description = f"{request.description}\n\n{reference_line(request.idempotency_key)}".strip()
        body: dict[str, Any] = {
            "name": request.name,
            "description": description,
            "dateStart": format_time(start),
            "lengthInMinutes": request.length_minutes,
            "attendeeIds": list(dict.fromkeys((request.agent_id, *request.more_attendees))),
            "addToSchedule": self.add_to_schedule,
        }
        if request.facilitator_id:
            body["facilitatorId"] = request.facilitator_id
        return body

    async def delete(self, appointment_id: str) -> None:
        await self.client.delete(f"{APPOINTMENTS}/{appointment_id}")

    async def find(self, request: CoachingRequest) -> str | None:
        """The id of an appointment already made for this request, if Genesys has one."""
        marker = reference_line(request.idempotency_key)
        start = request.start.astimezone(UTC)
        interval = f"{format_time(start - self.lookup_window)}/{format_time(start + self.lookup_window)}"
        params = {"userIds": [request.agent_id], "interval": interval, "intervalCondition": "Overlaps",
                  "sortOrder": "Desc"}
        async for appointment in self.client.paged(APPOINTMENTS, params, page_size=100):
            if marker in str(appointment.get("description") or "") and isinstance(appointment.get("id"), str):
                return str(appointment["id"])
        return None
