"""Plan several booking requests of a unit together with the batch planner (one snapshot, one plan).

Used where requests arrive together (the periods of recurring templates): searching them one by
one in arrival order lets an early, flexible request take the only time a later one could use;
planning them jointly places as many as possible first, then adds the least understaffing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from services.booking.config import BookingConfig
from services.booking.model import BookingRequest
from services.booking.ports import BookingData
from services.booking.search import Found, search_window
from services.booking.translate import RequestError, to_slot_request
from services.domain.slots import SlotEngine, SlotRequest
from services.domain.slots.batch import plan_batch

log = logging.getLogger(__name__)


class JointSearch:
    def __init__(self, data: BookingData, config: BookingConfig) -> None:
        self.data, self.config = data, config

    async def find_all(self, requests: Sequence[BookingRequest], now: datetime) -> dict[str, Found]:
        """The batch planner's answer for each request it could read (the others are left to the online search)."""
        by_unit: dict[str, list[BookingRequest]] = defaultdict(list)
        for request in requests:
            by_unit[request.mu_id].append(request)
        found: dict[str, Found] = {}
        for mu_id, group in by_unit.items():
            roster = await self.data.roster(mu_id)
            readable: list[tuple[BookingRequest, SlotRequest]] = []
            for request in group:
                try:
                    readable.append((request, to_slot_request(request, roster, self.config)))
                except (RequestError, ValueError) as error:  # the online search gives the reason later
                    log.info("joint plan skips %s: %s", request.id, error)
            if not readable:
                continue
            windows = [search_window(r, now, roster.mu.time_zone, self.config.horizon) for r, _ in readable]
            start, end = min(w[0] for w in windows), max(w[1] for w in windows)
            snapshot = await self.data.snapshot(mu_id, start, end)
            names = {**{p.id: p.name for p in roster.people.values()}, **snapshot.facilitators,
                     **{a.id: a.name for a in roster.agents.values()}}
            engine = SlotEngine(snapshot.problem, names)
            outcomes = plan_batch(engine, [s for _, s in readable])
            for (request, slot_request), outcome in zip(readable, outcomes, strict=True):
                found[request.id] = Found(request, outcome, snapshot, slot_request)
            log.info("joint plan for %s: %d of %d placed", mu_id, sum(o.placed for o in outcomes), len(outcomes))
        return found
