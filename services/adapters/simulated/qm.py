"""A simulated quality-management system: records coaching appointments, once per idempotency key.

It checks what Genesys would reject (unknown attendee, non-positive length, naive start) and, like
``POST /api/v2/coaching/appointments``, rounds the start down to the minute.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.ports import Clock, CoachingRequest

log = logging.getLogger(__name__)
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://sim.example.com/coaching")


@dataclass(frozen=True, slots=True)
class CoachingAppointment:
    """A recorded :class:`CoachingRequest`: the request itself plus what the QM system adds."""

    id: str
    request: CoachingRequest
    start: datetime  # the request's start rounded down to the minute, as Genesys does
    created_at: datetime
    status: str = "Scheduled"

    @property
    def agent_id(self) -> str:
        return self.request.agent_id

    @property
    def facilitator_id(self) -> str | None:
        return self.request.facilitator_id

    @property
    def name(self) -> str:
        return self.request.name

    @property
    def length_minutes(self) -> int:
        return self.request.length_minutes


class SimulatedQM:
    """Implements :class:`services.ports.CoachingPort` in memory."""

    def __init__(self, clock: Clock, is_agent: Callable[[str], bool] | None = None) -> None:
        self._clock = clock
        self._is_agent = is_agent
        self._by_key: dict[str, CoachingAppointment] = {}

    async def create_coaching_appointment(self, request: CoachingRequest) -> str:
        existing = self._by_key.get(request.idempotency_key)
        if existing is not None:
            return existing.id  # a retried delivery: same appointment, nothing new recorded
        if not request.idempotency_key:
            raise ValueError("coaching request needs an idempotency_key")
        if request.length_minutes <= 0:
            raise ValueError(f"coaching length must be at least 1 minute, got {request.length_minutes}")
        if request.start.tzinfo is None:
            raise ValueError("coaching start must be timezone-aware")
        if self._is_agent is not None and not self._is_agent(request.agent_id):
            raise ValueError(f"unknown attendee {request.agent_id!r}")
        appointment = CoachingAppointment(
            id=str(uuid.uuid5(_NAMESPACE, request.idempotency_key)),
            request=request,
            start=request.start.replace(second=0, microsecond=0),
            created_at=self._clock.now(),
        )
        self._by_key[request.idempotency_key] = appointment
        log.info("simulated QM: coaching %s for %s at %s", appointment.id, appointment.agent_id,
                 appointment.start.isoformat())
        return appointment.id

    @property
    def appointments(self) -> tuple[CoachingAppointment, ...]:
        """Every appointment recorded, oldest first."""
        return tuple(self._by_key.values())
