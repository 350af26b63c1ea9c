"""``python -m bot book``: book offline activities from the terminal through the same FCFS queue,
slot search and write-back as ``/book-meeting`` (wired by ``bot/booking_wiring.py``); progress is printed."""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import UTC, datetime
from typing import TextIO

from redis.asyncio import Redis

from bot.booking_wiring import BookingStack, booking_config, build_stack, demo_requests, with_demo_rooms
from bot.container import build_source, load_config, simulated_day
from bot.redis_conn import connect_redis
from bot.settings import Settings
from services.adapters.booking.console import ConsoleNotifier
from services.adapters.booking.invites import ConsoleInviteSender
from services.adapters.booking.redis_changes import RedisAttendance
from services.adapters.redis_keys import BookingKeys
from services.adapters.simulated import day_start
from services.booking.attendance import register_csv
from services.booking.config import BookingConfig
from services.booking.forms import FormValues, parse_form
from services.booking.model import BookingRequest
from services.clock import ManualClock, SystemClock
from services.config import OrgConfig
from services.domain.slots import REASON_TEXT
from services.ports import Clock, WorkforceSource


async def run_book_command(settings: Settings, args: argparse.Namespace) -> int:
    config = load_config(settings)
    # --demo books into its own throwaway keys, so it may run without Redis; real bookings may not.
    redis, where = await connect_redis(settings.redis_url, allow_fallback=bool(args.demo),
                                      cluster=settings.redis_cluster)
    clock: Clock
    if settings.has_genesys:
        clock = SystemClock()
    else:
        # The simulator plays one day: book as of the start of that day, so the day is still ahead.
        clock = ManualClock(day_start(config.simulator, simulated_day(datetime.now(UTC).date())))
    source = await build_source(settings, config, clock)
    prefix = settings.redis_prefix
    print(f"State: {where}; WFM: {source.description}; now {clock.now():%Y-%m-%d %H:%M} UTC")
    try:
        if source.genesys is not None:
            await source.genesys.start()
        return await run_book(args, source=source.workforce, org=config, clock=clock, redis=redis, prefix=prefix)
    finally:
        await source.stop()
        await redis.aclose()


#: Form field -> the flag that sets it, so a value error names a flag that exists.
FLAGS = {"type": "--type", "title": "--title", "teams": "--team", "people": "--with", "facilitator": "--by",
         "location": "--location", "date_from": "--from", "date_to": "--to", "earliest": "--between",
         "latest": "--between", "duration": "--duration", "repeat": "--repeat", "every": "--every",
         "min_gap": "--gap", "count": "--count", "until": "--to"}


async def remove_demo(redis: Redis, prefix: str) -> int:
    """Delete every key the demo wrote (its own prefix: activities, rooms, registers, queue entries)."""
    removed = 0
    async for key in redis.scan_iter(match=f"{prefix}:*", count=500):
        removed += int(await redis.delete(key))
    return removed


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


async def run_book(args: argparse.Namespace, *, source: WorkforceSource, org: OrgConfig, clock: Clock,
                   redis: Redis, out: TextIO | None = None, prefix: str = "adh") -> int:
    stream = out or sys.stdout
    if args.demo:
        # A demo books into keys of its own (removed when it ends), never into the bot's.
        prefix = f"{prefix}-bookdemo-{uuid.uuid4().hex[:6]}"
        try:
            return await _run_book(args, source=source, org=org, clock=clock, redis=redis, stream=stream,
                                   prefix=prefix)
        finally:
            removed = await remove_demo(redis, prefix)
            stream.write(f"\nDemo over: removed what it wrote ({removed} keys under {prefix}).\n")
    return await _run_book(args, source=source, org=org, clock=clock, redis=redis, stream=stream, prefix=prefix)


async def _run_book(args: argparse.Namespace, *, source: WorkforceSource, org: OrgConfig, clock: Clock,
                    redis: Redis, stream: TextIO, prefix: str) -> int:
    config = with_demo_rooms(booking_config(org))
    stack = build_stack(redis=redis, source=source, org=org, clock=clock, prefix=prefix, config=config,
                        notifier=ConsoleNotifier(stream), invites=ConsoleInviteSender(stream))
    mu_id = await _unit_of(args, source, stream)
    if mu_id is None:
        return 2
    requests = await _requests_of(args, stack, config, mu_id, clock.now(), stream)
    if requests is None:
        return 2
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
        await _write_registers(stack, requests, RedisAttendance(redis, BookingKeys(prefix)), stream)
    return 0


async def _unit_of(args: argparse.Namespace, source: WorkforceSource, stream: TextIO) -> str | None:
    """``--unit`` (default: the first unit), or None once the error is written."""
    units = await source.management_units()
    if not units:
        stream.write("error: the workforce source has no management units\n")
        return None
    mu_id: str = args.unit or units[0].id
    if mu_id not in {u.id for u in units}:
        stream.write(f"error: unknown unit {mu_id!r}; choose one of {', '.join(u.id for u in units)}\n")
        return None
    return mu_id


async def _requests_of(args: argparse.Namespace, stack: BookingStack, config: BookingConfig, mu_id: str,
                       now: datetime, stream: TextIO) -> list[BookingRequest] | None:
    """The demo's requests, or the one the flags describe; None once the flags' errors are written."""
    if args.demo:
        return await demo_requests(stack, mu_id, now)
    form = _form_from_args(args, now)
    roster = await stack.data.roster(mu_id)
    request, errors = parse_form(form, config=config, request_id=f"cli-{uuid.uuid4().hex[:10]}",
                                 requester="cli", mu_id=mu_id, now=now,
                                 known_teams={t.id: t.name for t in roster.teams.values()},
                                 known_people={a.id: a.name for a in roster.agents.values()},
                                 unit_name=roster.mu.name)
    if request is None:
        for name, message in errors.items():
            stream.write(f"error: {FLAGS.get(name, '--' + name.replace('_', '-'))}: {message}\n")
        return None
    return [request]


async def _write_registers(stack: BookingStack, requests: list[BookingRequest], attendance: RedisAttendance,
                           stream: TextIO) -> None:
    for request in requests:
        register = await stack.registers.get(request.id)
        if register is not None:
            marks = await attendance.marks(request.id)
            stream.write(f"\nAttendance register {request.id}:\n{register_csv(register, marks)}")


def _form_from_args(args: argparse.Namespace, now: datetime) -> FormValues:
    earliest, _, latest = args.between.partition("-")
    day = now.date().isoformat()
    values = {"type": args.type_id or "", "title": args.title, "facilitator": args.facilitator,
              "location": args.location, "date_from": args.date_from or day,
              "date_to": args.date_to or args.date_from or day, "earliest": earliest, "latest": latest,
              "duration": args.duration, "repeat": args.repeat, "every": args.every, "min_gap": args.gap,
              "count": args.count}
    return FormValues(values=values, teams=list(args.team), people=list(args.people))
