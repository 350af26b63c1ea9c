"""Published schedules of facilitators who are WFM agents of another management unit of the business unit.

A supervisor, trainer or ops manager is often scheduled in WFM without being an agent of the unit
being booked. Whoever is an agent of any management unit of the same business unit is looked up
there (``GET .../managementunits/{mu}/users`` for the membership, cached for ``ttl``; then the
same ``agentschedules/search`` as for agents); anyone else has no published schedule and the
configured facilitator hours apply.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from services.adapters.genesys.client import GenesysClient
from services.adapters.genesys.errors import GenesysError
from services.adapters.genesys.parse import CodeInfo, build_schedule, read_agent_schedules
from services.adapters.genesys.schedules import ScheduleSearch
from services.adapters.genesys.structure import StructureReader, UnitInfo
from services.domain.model import AgentSchedule
from services.ports import Clock

log = logging.getLogger(__name__)


class GenesysPeopleSchedules:
    def __init__(self, client: GenesysClient, clock: Clock, *, structure: StructureReader | None = None,
                 search: ScheduleSearch | None = None, ttl: timedelta = timedelta(hours=1)) -> None:
        self.clock, self.ttl = clock, ttl
        self.structure = structure or StructureReader(client)
        self.search = search or ScheduleSearch(client)
        self._units: dict[str, UnitInfo] = {}
        self._members: dict[str, tuple[datetime, dict[str, str]]] = {}  # BU -> (when, person -> their MU)
        self._codes: dict[str, dict[str, CodeInfo]] = {}

    async def person_schedules(self, mu_id: str, person_ids: Sequence[str], start: datetime,
                               end: datetime) -> Mapping[str, AgentSchedule]:
        if not person_ids:
            return {}
        if mu_id not in self._units:
            self._units = {u.mu.id: u for u in await self.structure.units()}
        unit = self._units.get(mu_id)
        if unit is None:
            return {}
        home = await self._members_of(unit.bu_id)
        by_unit: dict[str, list[str]] = {}
        for person in person_ids:
            if person in home:
                by_unit.setdefault(home[person], []).append(person)
        if not by_unit:
            return {}
        if unit.bu_id not in self._codes:
            self._codes[unit.bu_id] = await self.structure.activity_codes(unit.bu_id)
        found = await asyncio.gather(*(self.search.search(mu, people, start, end) for mu, people in by_unit.items()),
                                     return_exceptions=True)
        items = []
        for (mu, people), result in zip(by_unit.items(), found, strict=True):
            if isinstance(result, GenesysError):
                log.warning("schedules of facilitator(s) %s in %s unavailable (%s); using facilitator hours",
                            people, mu, result)
            elif isinstance(result, BaseException):
                raise result
            else:
                items.extend(result)
        by_user, unknown = read_agent_schedules({"agentSchedules": items}, self._codes[unit.bu_id], unit.bu_time_zone)
        if unknown:
            log.info("facilitator schedules use activity code(s) %s not loaded; left out", sorted(unknown))
        return {person: build_schedule(person, activities) for person, activities in by_user.items() if activities}

    async def _members_of(self, bu_id: str) -> dict[str, str]:
        now = self.clock.now()
        cached = self._members.get(bu_id)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        units = [mu for mu, info in self._units.items() if info.bu_id == bu_id]
        members = await asyncio.gather(*(self.structure.member_ids(mu) for mu in units))
        home = {person: mu for mu, people in zip(units, members, strict=True) for person in people}
        self._members[bu_id] = (now, home)
        return home
