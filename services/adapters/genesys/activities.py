"""Booked offline activities into the Genesys schedule.

The reference's per-meeting write path (genesys-api §7.2): a coaching appointment with
``addToSchedule`` puts the activity on every attendee's WFM schedule (``externalActivityType:
"Coaching"``). Idempotent through :class:`GenesysCoaching` (the activity key is the appointment's
reference line, looked up before any create). A local activity log keeps what we wrote so the next
search sees it before WFM republishes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from services.adapters.genesys.coaching import GenesysCoaching
from services.booking.ports import ActivityWriter, ExternalIds, OfflineActivity
from services.ports import CoachingRequest

log = logging.getLogger(__name__)


class GenesysActivityWriter:
    def __init__(self, coaching: GenesysCoaching, local: ActivityWriter, ids: ExternalIds | None = None) -> None:
        self.coaching, self.local = coaching, local
        self._ids: dict[str, str] = {}
        self.ids = ids  # appointment ids kept in Redis: a cancel after a restart still deletes it

    async def write_activity(self, activity: OfflineActivity) -> str:
        people = activity.attendees or ((activity.facilitator,) if activity.facilitator else ())
        if not people:
            raise ValueError(f"activity {activity.key} has nobody to schedule")
        request = CoachingRequest(
            idempotency_key=activity.key, mu_id=activity.mu_id, agent_id=people[0], more_attendees=people[1:],
            facilitator_id=activity.facilitator, name=activity.name,
            description=f"{activity.category.value} booked by the adherence bot ({activity.key})",
            start=activity.start, length_minutes=int((activity.end - activity.start).total_seconds() // 60))
        appointment_id = await self.coaching.create_coaching_appointment(request)
        self._ids[activity.key] = appointment_id
        if self.ids:
            await self.ids.put(activity.key, appointment_id)
        await self.local.write_activity(activity)
        return appointment_id

    async def cancel_activity(self, key: str) -> None:
        appointment_id = self._ids.pop(key, None)
        stored = await self.ids.pop(key) if self.ids else None
        appointment_id = appointment_id or stored
        if appointment_id is None:
            log.warning("activity %s was not written by this process; cancel it in Genesys by hand", key)
        else:
            await self.coaching.delete(appointment_id)
        await self.local.cancel_activity(key)

    async def activities(self, mu_id: str, start: datetime, end: datetime) -> Sequence[OfflineActivity]:
        return await self.local.activities(mu_id, start, end)
