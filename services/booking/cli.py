"""``python -m bot book ...``: book offline activities from the terminal (and the demo bookings).

The lead's CLI adds the sub-command with :func:`add_book_arguments` and calls :func:`run_book` with
the workforce source it built (the simulator or Genesys), the organisation config, a clock and a
Redis client (fakeredis when none is reachable). Requests go through the same FCFS queue, search
and write-back as ``/book-meeting``; progress is printed.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from services.adapters.booking.console import ConsoleNotifier
from services.adapters.booking.invites import ConsoleInviteSender
from services.adapters.booking.keys import BookingKeys
from services.adapters.booking.redis_queue import RedisBookingLedger, RedisRequestQueue
from services.adapters.booking.redis_stores import (
    RedisActivityLog,
    RedisRegisters,
    RedisRoomCalendar,
    RedisWorkQueue,
)
from services.adapters.booking.workforce import WorkforceBookingData
from services.booking.attendance import register_csv
from services.booking.config import BookingConfig, LocationConfig, RoomConfig
from services.booking.forms import FormValues, parse_form
from services.booking.model import BookingRequest
from services.booking.ports import ActivityWriter, InviteSender, ProgressNotifier, RoomCalendar
from services.booking.search import SlotSearch
from services.booking.service import BookingService
from services.booking.writeback import WriteBack
from services.config import OrgConfig
from services.domain.slots import REASON_TEXT
from services.ports import Clock, WorkforceSource

DEMO_LOCATION = LocationConfig(name="Demo office", rooms={
    "huddle": RoomConfig(name="Huddle room", capacity=4),
    "blue": RoomConfig(name="Blue room", capacity=8, equipment=["screen"]),
    "training": RoomConfig(name="Training room", capacity=16, equipment=["screen", "pcs"]),
})


def add_book_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--demo", action="store_true", help="book a few demo activities on the first unit")
    parser.add_argument("--unit", help="management unit id (default: the first one)")
    parser.add_argument("--type", dest="type_id", help="meeting type id from [booking.types]")
    parser.add_argument("--title", default="", help="title of the activity")
    parser.add_argument("--team", action="append", default=[], help="team id; repeat for more teams")
    parser.add_argument("--with", dest="people", action="append", default=[], help="agent id; repeat")
    parser.add_argument("--by", dest="facilitator", default="", help="facilitator person id")
    parser.add_argument("--location", default="", help="location id from [booking.locations]")
    parser.add_argument("--from", dest="date_from", default="", help="first day, YYYY-MM-DD (default: today)")
    parser.add_argument("--to", dest="date_to", default="", help="last day, YYYY-MM-DD (default: the first day)")
    parser.add_argument("--between", default="", help="times of day, e.g. 09:00-12:00")
    parser.add_argument("--duration", default="", help="e.g. 45m or 1h30m (default: the type's)")
    parser.add_argument("--repeat", default="none", choices=["none", "daily", "weekly", "monthly"])
    parser.add_argument("--every", default="1")
    parser.add_argument("--gap", default="0", help="minimum days between occurrences")
    parser.add_argument("--count", default="")
    parser.add_argument("--register", action="store_true", help="print the attendance registers as CSV")


@dataclass
class BookingStack:
    service: BookingService
    data: WorkforceBookingData
    registers: RedisRegisters
    config: BookingConfig


def build_stack(*, redis: Redis, source: WorkforceSource, org: OrgConfig, clock: Clock,
                notifier: ProgressNotifier, invites: InviteSender, prefix: str = "adh",
                config: BookingConfig | None = None, rooms: RoomCalendar | None = None,
                activities: ActivityWriter | None = None) -> BookingStack:
    """The booking use cases on Redis; rooms default to the built-in Redis calendar (pass a
    ``GraphRoomCalendar`` to use room mailboxes) and WFM write-back to the activity log."""
    booking = config or _booking_config(org)
    keys = BookingKeys(prefix)
    ledger = RedisBookingLedger(redis, keys)
    rooms = rooms or RedisRoomCalendar(redis, keys)
    activities = activities or RedisActivityLog(redis, keys)
    registers = RedisRegisters(redis, keys)
    trainers = {p: org.people[p].name for p in booking.trainers if p in org.people}
    data = WorkforceBookingData(source, booking, activities=activities, rooms=rooms, trainers=trainers)
    service = BookingService(
        queue=RedisRequestQueue(redis, keys), ledger=ledger, work_queue=RedisWorkQueue(redis, keys),
        search=SlotSearch(data, booking),
        writeback=WriteBack(activities=activities, rooms=rooms, invites=invites, registers=registers, ledger=ledger,
                            config=booking),
        notifier=notifier, data=data, clock=clock)
    return BookingStack(service, data, registers, booking)


def _booking_config(org: OrgConfig) -> BookingConfig:
    booking = getattr(org, "booking", None)
    return booking if isinstance(booking, BookingConfig) else BookingConfig()


def _with_demo_rooms(config: BookingConfig) -> BookingConfig:
    if config.locations:
        return config
    return config.model_copy(update={"locations": {"demo": DEMO_LOCATION}})


async def run_book(args: argparse.Namespace, *, source: WorkforceSource, org: OrgConfig, clock: Clock,
                   redis: Redis, out: TextIO | None = None, prefix: str = "adh") -> int:
    stream = out or sys.stdout
    config = _with_demo_rooms(_booking_config(org))
    stack = build_stack(redis=redis, source=source, org=org, clock=clock, prefix=prefix, config=config,
                        notifier=ConsoleNotifier(stream), invites=ConsoleInviteSender(stream))
    units = await source.management_units()
    if not units:
        stream.write("error: the workforce source has no management units\n")
        return 2
    mu_id = args.unit or units[0].id
    if mu_id not in {u.id for u in units}:
        stream.write(f"error: unknown unit {mu_id!r}; choose one of {', '.join(u.id for u in units)}\n")
        return 2
    now = clock.now()
    requests: list[BookingRequest] = []
    if args.demo:
        requests = await demo_requests(stack, mu_id, now)
    else:
        form = _form_from_args(args, now)
        request, errors = parse_form(form, config=config, request_id=f"cli-{uuid.uuid4().hex[:10]}",
                                     requester="cli", mu_id=mu_id, now=now)
        if request is None:
            for name, message in errors.items():
                stream.write(f"error: --{name.replace('_', '-')}: {message}\n")
            return 2
        requests = [request]
    for request in requests:
        await stack.service.submit(request)
    while await stack.service.process_next("cli"):
        pass
    items = await stack.service.work_items()
    if items:
        stream.write("\nManual work queue:\n")
        for item in items:
            stream.write(f"  {item.request.id}: {item.request.title} - {REASON_TEXT[item.reason]} ({item.detail})\n")
    if args.register:
        for request in requests:
            register = await stack.registers.get(request.id)
            if register is not None:
                stream.write(f"\nAttendance register {request.id}:\n{register_csv(register)}")
    return 0


def _form_from_args(args: argparse.Namespace, now: datetime) -> FormValues:
    earliest, _, latest = args.between.partition("-")
    day = now.date().isoformat()
    values = {"type": args.type_id or "", "title": args.title, "facilitator": args.facilitator,
              "location": args.location, "date_from": args.date_from or day,
              "date_to": args.date_to or args.date_from or day, "earliest": earliest, "latest": latest,
              "duration": args.duration, "repeat": args.repeat, "every": args.every, "min_gap": args.gap,
              "count": args.count}
    return FormValues(values=values, teams=list(args.team), people=list(args.people))


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
