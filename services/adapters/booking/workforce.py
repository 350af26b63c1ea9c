"""Booking data from any WorkforceSource (the simulator by default): the slot search's input.

Agents' published activities become slot states; activities this bot already wrote (the activity
log) are overlaid as busy time, so the next search sees them before WFM republishes. When the
source has no staffing forecast (the simulator), each day's requirement is generated from a
seeded call curve calibrated to that day's schedule. Facilitators (supervisors, ops managers,
trainers) work the configured hours minus what they were booked for; rooms come from the config
with their bookings from the room calendar.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np

from services.booking.config import BookingConfig, parse_clock, parse_days
from services.booking.ports import ActivityWriter, OfflineActivity, RoomCalendar, Snapshot
from services.domain.model import Roster
from services.domain.slots import (
    AgentCalendar,
    FacilitatorCalendar,
    SlotState,
    StateSpan,
    TimeGrid,
    build_problem,
    state_for_category,
)
from services.domain.slots import (
    RoomCalendar as RoomSpans,
)
from services.domain.slots.problem import scheduled_from_states
from services.domain.slots.staffing import daily_requirement
from services.ports import WorkforceSource

GRID = timedelta(minutes=15)


class WorkforceBookingData:
    def __init__(self, source: WorkforceSource, config: BookingConfig, *, activities: ActivityWriter | None = None,
                 rooms: RoomCalendar | None = None, trainers: Mapping[str, str] | None = None, seed: int = 7) -> None:
        self.source, self.config, self.activities, self.rooms = source, config, activities, rooms
        self.trainers = dict(trainers or {})
        self.seed = seed

    async def roster(self, mu_id: str) -> Roster:
        return await self.source.roster(mu_id)

    async def snapshot(self, mu_id: str, start: datetime, end: datetime) -> Snapshot:
        roster = await self.source.roster(mu_id)
        intervals = max(1, -(-int((end - start).total_seconds()) // int(GRID.total_seconds())))
        grid = TimeGrid(start, intervals, roster.mu.time_zone)
        end = grid.end
        schedules = await self.source.schedules(mu_id, start, end)
        ours = list(await self.activities.activities(mu_id, start, end)) if self.activities else []
        absorbable = self.config.absorbable_categories
        queue = f"q:{mu_id}"
        published: list[AgentCalendar] = []
        with_ours: list[AgentCalendar] = []
        for agent in roster.agents.values():
            schedule = schedules.get(agent.id)
            spans = [StateSpan(a.start, a.end, state_for_category(a.category, absorbable=absorbable))
                     for a in (schedule.activities if schedule else ())]
            busy = [StateSpan(a.start, a.end, SlotState.BUSY) for a in ours
                    if agent.id in a.attendees or agent.id == a.facilitator]
            published.append(AgentCalendar(agent.id, agent.team_id, spans, {queue: 1.0}))
            with_ours.append(AgentCalendar(agent.id, agent.team_id, spans + busy, {queue: 1.0}))
        # The requirement follows the published schedule (our own bookings must not move it).
        base = build_problem(grid, (queue,), np.zeros((1, grid.intervals)), published)
        required = daily_requirement(grid, scheduled_from_states(base.states, base.weights),
                                     zlib.crc32(f"{self.seed}:{mu_id}".encode()), slack=self.config.requirement_slack)
        facilitators, names = self._facilitators(roster, grid, ours)
        room_list = self.config.rooms()
        busy_rooms = await self.rooms.busy([r.id for r in room_list], start, end) if self.rooms and room_list else {}
        rooms = [RoomSpans(room, list(busy_rooms.get(room.id, ()))) for room in room_list]
        problem = build_problem(grid, (queue,), required, with_ours, facilitators, rooms)
        return Snapshot(roster=roster, problem=problem, facilitators=names)

    def _facilitators(self, roster: Roster, grid: TimeGrid,
                      ours: Sequence[OfflineActivity]) -> tuple[list[FacilitatorCalendar], dict[str, str]]:
        names: dict[str, str] = {}
        for team in roster.teams.values():
            for person in team.supervisor_ids:
                names[person] = roster.people[person].name if person in roster.people else person
        for person in roster.mu.ops_manager_ids:
            names[person] = roster.people[person].name if person in roster.people else person
        for person, name in self.trainers.items():
            names.setdefault(person, name)
        hours = self.config.facilitator_hours
        first, last = parse_clock(hours.start), parse_clock(hours.end)
        days = parse_days(hours.days)
        working: list[tuple[datetime, datetime]] = []
        for day in range(grid.days):
            date = grid.date_of(day)
            if date.weekday() not in days:
                continue
            midnight = datetime.combine(date, datetime.min.time(), grid.zone)
            working.append((midnight + timedelta(minutes=first), midnight + timedelta(minutes=last)))
        calendars = []
        for person in sorted(names):
            busy = [(a.start, a.end) for a in ours if person == a.facilitator or person in a.attendees]
            calendars.append(FacilitatorCalendar(person, working, busy))
        return calendars, names
