"""The booking use cases wired on Redis (the composition root's part for booking): the FCFS queue,
ledger, work queue, registers, the built-in room calendar and WFM activity log, plus the demo requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from services.adapters.booking.redis_changes import RedisAttendance, RedisChanges, RedisHolds
from services.adapters.booking.redis_queue import RedisBookingLedger, RedisRequestQueue
from services.adapters.booking.redis_stores import (
    RedisActivityLog,
    RedisRegisters,
    RedisRoomCalendar,
    RedisWorkQueue,
)
from services.adapters.booking.workforce import WorkforceBookingData
from services.adapters.redis_keys import BookingKeys
from services.booking.changes import BookingChanges
from services.booking.config import BookingConfig, LocationConfig, RoomConfig
from services.booking.demand import DemandSource
from services.booking.holds import HeldActivities, HeldRooms, HoldDesk
from services.booking.model import BookingRequest
from services.booking.ports import (
    ActivityWriter,
    InviteSender,
    PersonCalendars,
    PersonSchedules,
    ProgressNotifier,
    RoomCalendar,
)
from services.booking.search import SlotSearch
from services.booking.service import BookingService
from services.booking.writeback import WriteBack
from services.config import OrgConfig
from services.ports import Clock, WorkforceSource

DEMO_LOCATION = LocationConfig(name="Demo office", rooms={
    "huddle": RoomConfig(name="Huddle room", capacity=4),
    "blue": RoomConfig(name="Blue room", capacity=8, equipment=["screen"]),
    "training": RoomConfig(name="Training room", capacity=16, equipment=["screen", "pcs"]),
})


@dataclass
class BookingStack:
    service: BookingService
    data: WorkforceBookingData
    registers: RedisRegisters
    config: BookingConfig
    holds: HoldDesk
    changes: BookingChanges
    attendance: RedisAttendance


def build_stack(*, redis: Redis, source: WorkforceSource, org: OrgConfig, clock: Clock,
                notifier: ProgressNotifier, invites: InviteSender, prefix: str = "adh",
                config: BookingConfig | None = None, rooms: RoomCalendar | None = None,
                activities: ActivityWriter | None = None, demand: DemandSource | None = None,
                calendars: PersonCalendars | None = None, people: PersonSchedules | None = None) -> BookingStack:
    """The booking use cases on Redis; rooms default to the built-in Redis calendar (pass a
    ``GraphRoomCalendar`` to use room mailboxes) and WFM write-back to the activity log."""
    booking = config or booking_config(org)
    keys = BookingKeys(prefix)
    ledger = RedisBookingLedger(redis, keys)
    rooms = rooms or RedisRoomCalendar(redis, keys)
    activities = activities or RedisActivityLog(redis, keys)
    registers = RedisRegisters(redis, keys)
    holds, changes, attendance = RedisHolds(redis, keys), RedisChanges(redis, keys), RedisAttendance(redis, keys)
    trainers = {p: org.people[p].name for p in booking.trainers if p in org.people}
    # The search sees the time held for requests waiting for Book as taken (writes go to the real ones).
    data = WorkforceBookingData(source, booking, activities=HeldActivities(activities, holds, clock),
                                rooms=HeldRooms(rooms, holds, clock), trainers=trainers,
                                demand=demand, calendars=calendars, people=people)
    writeback = WriteBack(activities=activities, rooms=rooms, invites=invites, registers=registers, ledger=ledger,
                          config=booking)
    service = BookingService(
        queue=RedisRequestQueue(redis, keys), ledger=ledger, work_queue=RedisWorkQueue(redis, keys),
        search=SlotSearch(data, booking), writeback=writeback, notifier=notifier, data=data, clock=clock,
        holds=holds, changes=changes, attendance=attendance)
    schedulers = scheduler_ids(org, booking)
    return BookingStack(service, data, registers, booking,
                        HoldDesk(service, holds, schedulers=schedulers),
                        BookingChanges(service, changes, activities=activities, rooms=rooms, invites=invites,
                                       registers=registers, schedulers=schedulers, organizer=writeback.organizer),
                        attendance)


def scheduler_ids(org: OrgConfig, booking: BookingConfig) -> frozenset[str]:
    """Slack user ids of ``[booking] schedulers`` that name theirs in [people] (others: looked up at start)."""
    return frozenset(uid for p in booking.schedulers if p in org.people
                     for uid in [org.people[p].slack_user_id] if uid)


def booking_config(org: OrgConfig) -> BookingConfig:
    booking = getattr(org, "booking", None)
    return booking if isinstance(booking, BookingConfig) else BookingConfig()


def with_demo_rooms(config: BookingConfig) -> BookingConfig:
    if config.locations:
        return config
    return config.model_copy(update={"locations": {"demo": DEMO_LOCATION}})


async def demo_requests(stack: BookingStack, mu_id: str, now: datetime) -> list[BookingRequest]:
    """A team meeting per team, a 1:1, a cross-team training, and one that cannot fit (to show review)."""
    roster = await stack.data.roster(mu_id)
    day = now.astimezone(ZoneInfo(roster.mu.time_zone)).date()
    teams = list(roster.teams.values())
    agents = list(roster.agents.values())
    base = {"requester": "demo", "mu_id": mu_id, "date_from": day, "date_to": day, "submitted_at": now}
    out = []
    for i, team in enumerate(teams):
        out.append(BookingRequest(id=f"demo-{mu_id}-team-{i + 1}", type_id="team_meeting",
                                  title=f"{team.name} team meeting", teams=(team.id,), **base))
    if agents:
        out.append(BookingRequest(id=f"demo-{mu_id}-1to1", type_id="one_to_one",
                                  title=f"Coaching with {agents[0].name}", people=(agents[0].id,), **base))
    supervisor = next((t.supervisor_ids[0] for t in teams if t.supervisor_ids), None)
    if len(agents) >= 4 and "training" in stack.config.types:
        trainees = tuple(a.id for a in agents[::2][:6])
        out.append(BookingRequest(id=f"demo-{mu_id}-training", type_id="training", title="Product training",
                                  people=trainees, facilitator=stack.config.trainers[0] if stack.config.trainers
                                  else supervisor, duration_minutes=120, **base))
    if teams:
        out.append(BookingRequest(id=f"demo-{mu_id}-impossible", type_id="team_meeting",
                                  title="All-hands before opening", teams=tuple(t.id for t in teams),
                                  earliest_minute=6 * 60, latest_minute=7 * 60, **base))
    return out
