"""Coaching from escalation: the 30-minute tier books its appointment at the least harmful time.

:class:`SearchingCoachingPort` wraps any :class:`~services.ports.CoachingPort`: it searches the
supervisor's and the agent's free time within ``within`` of the requested start (never earlier)
and passes the request on with the chosen start. If the search finds nothing, the original time
is kept and the reason is logged, so the tier still fires.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from services.booking.config import BookingConfig, parse_clock, parse_days
from services.booking.ports import BookingData
from services.booking.search import demand_note
from services.domain.slots import Outcome, SlotEngine, SlotRequest
from services.ports import CoachingPort, CoachingRequest

log = logging.getLogger(__name__)


async def find_coaching_slot(data: BookingData, config: BookingConfig, *, mu_id: str, agent_id: str,
                             supervisor_id: str | None, minutes: int, earliest: datetime,
                             within: timedelta) -> tuple[datetime | None, Outcome, str]:
    """The start with the lowest added understaffing where agent and supervisor are both free, and the
    demand it was judged on (the tier always books: without a forecast, on availability alone)."""
    start = earliest.replace(second=0, microsecond=0)
    start += timedelta(minutes=(-start.minute) % 15)
    end = start + within
    snapshot = await data.snapshot(mu_id, start, end)
    grid = snapshot.problem.grid
    meeting = config.types.get("one_to_one")
    minutes = -(-minutes // 15) * 15
    request = SlotRequest(
        id=f"coaching:{mu_id}:{agent_id}:{earliest.isoformat()}", kind="coaching", attendees=(agent_id,),
        duration_minutes=minutes, window_start=grid.first_day, window_end=grid.date_of(grid.days - 1),
        facilitator=supervisor_id if supervisor_id in snapshot.problem.facilitator_ids else None,
        earliest_minute=parse_clock(meeting.earliest) if meeting else 8 * 60,
        latest_minute=parse_clock(meeting.latest) if meeting else 17 * 60,
        weekdays=parse_days(meeting.days) if meeting else frozenset(range(5)),
        params=config.profile("one_to_one").params() if meeting else config.search["default"].params())
    outcome = SlotEngine(snapshot.problem).search(request)
    return (outcome.placements[0].start if outcome.placed else None), outcome, demand_note(snapshot)


class SearchingCoachingPort:
    def __init__(self, inner: CoachingPort, data: BookingData, config: BookingConfig) -> None:
        self.inner, self.data, self.config = inner, data, config

    async def create_coaching_appointment(self, request: CoachingRequest) -> str:
        try:
            start, outcome, note = await find_coaching_slot(
                self.data, self.config, mu_id=request.mu_id, agent_id=request.agent_id,
                supervisor_id=request.facilitator_id, minutes=request.length_minutes, earliest=request.start,
                within=self.config.coaching_within)
        except Exception:
            log.exception("coaching slot search failed for %s; keeping %s", request.agent_id, request.start)
            start, outcome, note = None, None, ""
        if start is None:
            if outcome is not None:
                log.warning("no coaching slot for %s within %s (%s: %s); keeping %s", request.agent_id,
                            self.config.coaching_within, outcome.reason, outcome.detail, request.start)
            return await self.inner.create_coaching_appointment(request)
        why = outcome.explanations[0].summary() if outcome is not None and outcome.explanations else ""
        why = f"{why}; {note}" if why and note else why
        extra = {**request.extra, "slot_search": why} if why else dict(request.extra)
        return await self.inner.create_coaching_appointment(replace(request, start=start, extra=extra))
