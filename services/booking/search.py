"""Find the time for a booking request: fetch the unit's data for the request's dates and search."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.booking.config import BookingConfig
from services.booking.model import BookedSlot, BookingRequest, Plan
from services.booking.ports import BookingData, Snapshot
from services.booking.translate import RequestError, to_slot_request
from services.domain.slots import Outcome, Reason, SlotEngine, SlotProblem, SlotRequest, SlotState

log = logging.getLogger(__name__)
GRID = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Found:
    request: BookingRequest
    outcome: Outcome
    snapshot: Snapshot | None
    slot_request: SlotRequest | None

    @property
    def placed(self) -> bool:
        return self.outcome.placed

    def plan(self, room_names: Mapping[str, str] | None = None) -> Plan:
        names = room_names or {}
        slots = tuple(BookedSlot.of(p, names.get(p.room_id or "")) for p in self.outcome.placements)
        source = demand_note(self.snapshot)
        why = tuple(f"{e.summary()}; {source}" if source else e.summary() for e in self.outcome.explanations)
        if self.request.target:
            why = tuple(f"{line}; {self.request.target}" for line in why)
        return Plan(request_id=self.request.id, slots=slots, why=why)


def demand_note(snapshot: Snapshot | None) -> str:
    """Names the data source every explanation rests on (and says when no forecast was used)."""
    if snapshot is None:
        return ""
    if snapshot.no_forecast:
        return f"demand: no forecast used ({snapshot.no_forecast}); placed on availability only"
    return f"demand: {snapshot.demand}"


def search_window(request: BookingRequest, now: datetime, tz: str, horizon: timedelta) -> tuple[datetime, datetime]:
    """From the first quarter hour after ``now`` (or the first day's midnight) to the end of the last day."""
    zone = ZoneInfo(tz)
    first = datetime.combine(request.date_from, time(0), zone)
    soon = now.astimezone(zone).replace(second=0, microsecond=0)
    soon += timedelta(minutes=(-soon.minute) % 15)
    if soon <= now:
        soon += GRID
    start = max(first, soon)
    end = min(datetime.combine(request.date_to + timedelta(days=1), time(0), zone), soon + horizon)
    return start, max(end, start + GRID)


def without_spans(problem: SlotProblem, people: Sequence[str],
                  spans: Sequence[tuple[datetime, datetime]]) -> SlotProblem:
    """``problem`` with ``people`` busy during ``spans``: a request excluding its old slot is never put back there."""
    if not spans:
        return problem
    states, fac_free = problem.states.copy(), problem.facilitator_free.copy()
    agents = [i for i, a in enumerate(problem.agent_ids) if a in set(people)]
    facs = [i for i, f in enumerate(problem.facilitator_ids) if f in set(people)]
    for start, end in spans:
        lo, hi = problem.grid.index_of(start), problem.grid.index_of(end, ceil=True)
        if hi <= lo:
            continue
        states[agents, lo:hi] = SlotState.BUSY
        fac_free[facs, lo:hi] = False
    return replace(problem, states=states, facilitator_free=fac_free)


class SlotSearch:
    def __init__(self, data: BookingData, config: BookingConfig) -> None:
        self.data, self.config = data, config

    @property
    def room_names(self) -> dict[str, str]:
        return {room.id: room.name for room in self.config.rooms()}

    async def find(self, request: BookingRequest, now: datetime) -> Found:
        roster = await self.data.roster(request.mu_id)
        try:
            slot_request = to_slot_request(request, roster, self.config)
        except RequestError as error:
            return Found(request, Outcome(request.id, reason=error.reason, detail=str(error)), None, None)
        except ValueError as error:  # e.g. an unknown meeting type in an old queued request
            outcome = Outcome(request.id, reason=Reason.INVALID_REQUEST, detail=str(error))
            return Found(request, outcome, None, None)
        start, end = search_window(request, now, roster.mu.time_zone, self.config.horizon)
        snapshot = await self.data.snapshot(request.mu_id, start, end)
        if snapshot.no_forecast and self.config.meeting_type(request.type_id).no_forecast == "review":
            log.info("booking %s: no forecast (%s); to review", request.id, snapshot.no_forecast)
            outcome = Outcome(request.id, reason=Reason.NO_FORECAST, detail=snapshot.no_forecast)
            return Found(request, outcome, snapshot, slot_request)
        names = {**{p.id: p.name for p in roster.people.values()}, **snapshot.facilitators,
                 **{a.id: a.name for a in roster.agents.values()}}
        people = [*slot_request.attendees, *([slot_request.facilitator] if slot_request.facilitator else [])]
        engine = SlotEngine(without_spans(snapshot.problem, people, request.exclude), names)
        outcome = engine.book(slot_request)
        if outcome.reason is Reason.IMPACT_ABOVE_LIMIT:  # judged on the demand: say which one
            outcome = replace(outcome, detail=f"{outcome.detail}; {demand_note(snapshot)}")
        log.info("booking %s: %s", request.id, "placed" if outcome.placed else f"not placed ({outcome.reason})")
        return Found(request, outcome, snapshot, slot_request)
