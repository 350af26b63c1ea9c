"""Booking data from any WorkforceSource (the simulator by default): the slot search's input.

Agents' published activities become slot states; activities this bot already wrote (the activity
log) are overlaid as busy time, so the next search sees them before WFM republishes. The required
staff per interval comes from a :class:`~services.booking.demand.DemandSource`: the Genesys
short-term forecast when Genesys is connected, else a seeded call curve calibrated to the day's
schedule (the simulator). Facilitators (supervisors, ops managers, trainers) who have a published
WFM schedule (in the unit, or elsewhere through ``PersonSchedules``) are free only where it says
they work; the others work the configured hours. Either way, their own bookings and, when a
people calendar (Microsoft Graph) is wired, their mailbox's busy times are taken out. Rooms come
from the config with their bookings from the room calendar.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from services.booking.config import BookingConfig, parse_clock, parse_days
from services.booking.demand import DemandSource, SyntheticDemand
from services.booking.ports import (
    ActivityWriter,
    OfflineActivity,
    PersonCalendars,
    PersonSchedules,
    RoomCalendar,
    Snapshot,
    Span,
)
from services.domain.model import AgentSchedule, Roster
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
from services.domain.states import ActivityCategory
from services.ports import WorkforceSource

log = logging.getLogger(__name__)
GRID = timedelta(minutes=15)
#: Where a facilitator's published schedule leaves them free to run a meeting.
FACILITATOR_FREE = frozenset({ActivityCategory.ON_QUEUE_WORK, ActivityCategory.OFF_QUEUE_WORK})


class WorkforceBookingData:
    def __init__(self, source: WorkforceSource, config: BookingConfig, *, activities: ActivityWriter | None = None,
                 rooms: RoomCalendar | None = None, trainers: Mapping[str, str] | None = None, seed: int = 7,
                 demand: DemandSource | None = None, calendars: PersonCalendars | None = None,
                 people: PersonSchedules | None = None) -> None:
        self.source, self.config, self.activities, self.rooms = source, config, activities, rooms
        self.trainers = dict(trainers or {})
        self.seed = seed
        self.demand = demand or SyntheticDemand(slack=config.requirement_slack, seed=seed)
        self.calendars = calendars
        self.people = people

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
        published: list[AgentCalendar] = []
        for agent in roster.agents.values():
            schedule = schedules.get(agent.id)
            spans = [StateSpan(a.start, a.end, state_for_category(a.category, absorbable=absorbable))
                     for a in (schedule.activities if schedule else ())]
            published.append(AgentCalendar(agent.id, agent.team_id, spans))
        # The requirement follows the published schedule (our own bookings must not move it).
        demand = await self.demand.demand(mu_id, grid, published)
        with_ours: list[AgentCalendar] = []
        for calendar in published:
            busy = [StateSpan(a.start, a.end, SlotState.BUSY) for a in ours
                    if calendar.agent_id in a.attendees or calendar.agent_id == a.facilitator]
            with_ours.append(AgentCalendar(calendar.agent_id, calendar.team_id, [*calendar.spans, *busy],
                                           demand.weights_of(calendar.agent_id)))
        facilitators, names = await self._facilitators(roster, grid, ours, schedules)
        room_list = self.config.rooms()
        busy_rooms = await self.rooms.busy([r.id for r in room_list], start, end) if self.rooms and room_list else {}
        rooms = [RoomSpans(room, list(busy_rooms.get(room.id, ()))) for room in room_list]
        problem = build_problem(grid, demand.queues, demand.required, with_ours, facilitators, rooms)
        base = build_problem(grid, demand.queues, demand.required,
                             [AgentCalendar(c.agent_id, c.team_id, c.spans, demand.weights_of(c.agent_id))
                              for c in published], facilitators, rooms)
        return Snapshot(roster=roster, problem=problem, facilitators=names, demand=demand.provenance,
                        no_forecast=demand.missing, base=base)

    async def _facilitators(self, roster: Roster, grid: TimeGrid, ours: Sequence[OfflineActivity],
                            schedules: Mapping[str, AgentSchedule]) -> tuple[list[FacilitatorCalendar], dict[str, str]]:
        names: dict[str, str] = {}
        for team in roster.teams.values():
            for person in team.supervisor_ids:
                names[person] = roster.people[person].name if person in roster.people else person
        for person in roster.mu.ops_manager_ids:
            names[person] = roster.people[person].name if person in roster.people else person
        for person, name in self.trainers.items():
            names.setdefault(person, name)
        working = self._office_hours(grid)
        mailbox = await self._mailbox_busy(roster, sorted(names), grid)
        elsewhere = [p for p in sorted(names) if p not in schedules]
        if self.people is not None and elsewhere:
            schedules = {**schedules, **await self.people.person_schedules(roster.mu.id, elsewhere, grid.start,
                                                                             grid.end)}
        calendars = []
        for person in sorted(names):
            busy = [(a.start, a.end) for a in ours if person == a.facilitator or person in a.attendees]
            busy += mailbox.get(person, ())
            schedule = schedules.get(person)
            if schedule is not None and schedule.activities:
                # A WFM user: free only where the published schedule has them working.
                free = [(a.start, a.end) for a in schedule.activities if a.category in FACILITATOR_FREE]
                calendars.append(FacilitatorCalendar(person, free, busy))
            else:
                calendars.append(FacilitatorCalendar(person, working, busy))
        return calendars, names

    def _office_hours(self, grid: TimeGrid) -> list[Span]:
        hours = self.config.facilitator_hours
        first, last = parse_clock(hours.start), parse_clock(hours.end)
        days = parse_days(hours.days)
        working: list[Span] = []
        for day in range(grid.days):
            date = grid.date_of(day)
            if date.weekday() not in days:
                continue
            midnight = datetime.combine(date, datetime.min.time(), grid.zone)
            working.append((midnight + timedelta(minutes=first), midnight + timedelta(minutes=last)))
        return working

    async def _mailbox_busy(self, roster: Roster, people: Sequence[str],
                            grid: TimeGrid) -> Mapping[str, Sequence[Span]]:
        """Facilitators' busy times from their mailboxes (Graph ``getSchedule``), when a calendar is wired."""
        if self.calendars is None:
            return {}
        emails = {p: roster.people[p].email for p in people if p in roster.people and roster.people[p].email}
        for p in people:
            agent = roster.agents.get(p)
            if p not in emails and agent is not None and agent.email:
                emails[p] = agent.email
        if not emails:
            return {}
        return await self.calendars.busy_people(emails, grid.start, grid.end)
