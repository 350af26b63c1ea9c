"""``python -m bot demo``: the real monitor loop on the simulated contact center, accelerated.

APScheduler drives the same tick and outbox jobs as the service, at ``tick / speed`` real seconds;
the simulator's clock runs ``speed`` times faster than real time. Ends by itself after ``hours``.
With ``stepped`` the loop moves a clock of its own on instead, tick by tick (``bot.demo_play``).
"""

from __future__ import annotations

import sys
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from redis.asyncio import Redis

from bot.booking_wiring import DEMO_LOCATION, BookingStack, demo_requests
from bot.container import (
    build_booking,
    build_chat,
    build_mailer,
    load_config,
    searching_coaching,
    simulated_day,
)
from bot.demo_play import DemoJobs, play_accelerated, play_stepped
from bot.demo_surplus import DemoSurplus
from bot.demo_tally import DeliveryTally
from bot.redis_conn import connect_redis
from bot.settings import Settings
from services.adapters.booking.console import ConsoleNotifier
from services.adapters.redis.store import RedisStore
from services.adapters.simulated import SimulatedContactCenter, day_start
from services.clock import AcceleratedClock, ManualClock
from services.config import OrgConfig, SimulatorConfig, TierConfig
from services.dispatch import OutboxDispatcher
from services.domain.escalation import EventKind, IncidentEvent, TierAction
from services.monitor import Monitor, TickReport
from services.ports import Clock, StatusBoard


@dataclass(frozen=True, slots=True)
class DemoOptions:
    speed: float = 300.0
    hours: float = 5.0
    units: int | None = None
    teams: int | None = None
    agents: int | None = None
    seed: int | None = None
    quiet: bool = False
    day: date | None = None
    bookings: bool = True
    stepped: bool = False  # simulated time advanced by the loop, tick by tick: no wall clock


class Narrator:
    """Prints what happens, stamped with simulated time, and counts each team's alerts (incidents that
    fired a tier); what was delivered for them (cards, emails, coaching) is the DeliveryTally's."""

    def __init__(self, clock: Clock, quiet: bool) -> None:
        self.clock, self.quiet = clock, quiet
        self.incidents: dict[str, set[str]] = defaultdict(set)  # team -> incidents that notified someone
        self.positive: Counter[str] = Counter()

    def say(self, text: str) -> None:
        if not self.quiet:
            print(f"{self.clock.now():%H:%M:%S}  {text}", flush=True)

    def record(self, report: TickReport, monitor: Monitor) -> None:
        for event in report.events:
            self._record(event, monitor)

    def _record(self, event: IncidentEvent, monitor: Monitor) -> None:
        incident = event.incident
        roster = monitor.roster(incident.mu_id)
        agent = roster.agents.get(incident.agent_id) if roster else None
        name = agent.name if agent else incident.agent_id
        if event.kind is EventKind.TIER_FIRED and event.tier is not None:
            self.incidents[incident.team_id].add(incident.id)
            self.say(f"tier {event.tier.index + 1} ({event.tier.action.value}) for {name}:"
                     f" out {incident.minutes_out(event.at):.0f} min")
        elif event.kind is EventKind.POSITIVE_DEVIATION:
            self.positive[incident.team_id] += 1
            start, _, end = event.note.partition("/")
            span = f"{datetime.fromisoformat(start):%H:%M}-{datetime.fromisoformat(end):%H:%M}" if end else ""
            self.say(f"recorded, not escalated: {name} stayed on queue against the schedule {span}")
        elif event.kind in (EventKind.RESOLVED, EventKind.EXCUSED) and incident.fired:
            self.say(f"{name}: {event.kind.value} after {incident.minutes_out(event.at):.0f} min")


def with_agent_nudge(config: OrgConfig) -> OrgConfig:
    """The demo shows the agent-first tier (a DM 2 minutes in) unless the config already places one."""
    tiers = [t for unit in config.management_units.values() for t in unit.tiers or []] + config.tiers
    if any(t.action is TierAction.AGENT_NUDGE for t in tiers) or config.tiers[0].after <= timedelta(minutes=2):
        return config
    nudge = TierConfig(after=timedelta(minutes=2), action=TierAction.AGENT_NUDGE)
    return config.model_copy(update={"tiers": [nudge, *config.tiers]})


def demo_config(config: OrgConfig) -> OrgConfig:
    """The simulator plays one day: book the coaching tier's appointment the same day (30 min on, through
    the slot search) rather than tomorrow, which the simulator has no schedule for; and show the agent nudge."""
    config = config.model_copy(update={"coaching": config.coaching.model_copy(
        update={"lead_time": min(config.coaching.lead_time, timedelta(minutes=30))})})
    return with_agent_nudge(config)


def _simulator_config(config: OrgConfig, options: DemoOptions) -> SimulatorConfig:
    overrides = {"management_units": options.units, "teams_per_unit": options.teams,
                 "agents_per_team": options.agents, "seed": options.seed}
    return config.simulator.model_copy(update={k: v for k, v in overrides.items() if v is not None})


async def run_demo(settings: Settings, options: DemoOptions) -> int:
    config = demo_config(load_config(settings))
    sim_config = _simulator_config(config, options)
    # a demo may run without Redis
    redis, where = await connect_redis(settings.redis_url, allow_fallback=True, cluster=settings.redis_cluster)
    day = options.day or simulated_day(datetime.now().date())
    start = day_start(sim_config, day)
    clock = ManualClock(start) if options.stepped else AcceleratedClock(start, options.speed)
    sim = SimulatedContactCenter.build(sim_config, clock, day)
    store = RedisStore(redis, prefix=f"{settings.redis_prefix}-demo-{uuid.uuid4().hex[:6]}")
    monitor = Monitor(source=sim, store=store, config=config, clock=clock, replica_id="demo")
    narrator = Narrator(clock, options.quiet)
    chat = build_chat(settings, config, redis, narrator.say)
    mailer, mail_where = build_mailer(settings, narrator.say)
    booking_config = config.booking if config.booking.locations else config.booking.model_copy(
        update={"locations": {"demo": DEMO_LOCATION}})
    bookings, _rooms = build_booking(settings, config, redis, sim, clock, booking=booking_config,
                                     notifier=ConsoleNotifier(sys.stdout, verbose=not options.quiet),
                                     out=None if options.quiet else sys.stdout)
    tally = DeliveryTally(monitor.roster)
    surplus = DemoSurplus.build(settings, config, redis, sim, clock, bookings, start, narrator.say, store.prefix)
    dispatcher = OutboxDispatcher(store=store, chat=tally.chat(chat.chat), email=tally.email(mailer),
                                  coaching=tally.coaching_port(searching_coaching(sim, bookings)),
                                  rosters=monitor.roster, clock=clock, config=config, consumer="demo")
    await monitor.start()
    end = start + timedelta(hours=options.hours)
    print(f"State: {where}; chat: {chat.description}; email: {mail_where}")
    _print_intro(monitor, sim, sim_config.seed, config, options, start, end)
    if options.bookings:
        await _book_examples(bookings, next(iter(monitor.units)), clock, options.quiet)
    if not options.quiet:
        print("Scripted situations:")
        for scenario in sim.scenarios:
            print(f"  {scenario.start:%H:%M}  {scenario.description}")
        print()
    jobs = DemoJobs(monitor, dispatcher, surplus, narrator.record)
    if isinstance(clock, ManualClock):
        await play_stepped(jobs, clock, end, config.monitor.tick)
    else:
        await play_accelerated(jobs, clock, end, config.monitor.tick / options.speed)
    print_summary(await summary_rows(monitor, store, narrator, tally, clock.now()), clock.now())
    print(surplus.summary_line(clock.now()))
    _print_coaching(sim)
    await _forget(redis, store.prefix)
    await redis.aclose()
    return 0


def _print_intro(monitor: Monitor, sim: SimulatedContactCenter, seed: int, config: OrgConfig, options: DemoOptions,
                 start: datetime, end: datetime) -> None:
    print(f"Simulated contact center: {len(monitor.units)} management unit(s),"
          f" {sum(len(u.roster.teams) for u in monitor.units.values())} teams, {sim.agent_count} agents"
          f" (seed {seed})")
    pace = ("stepped, tick by tick, as fast as the machine allows" if options.stepped else
            f"at {options.speed:g}x (about {options.hours * 3600 / options.speed:.0f} s)")
    print(f"Simulated {start:%Y-%m-%d %H:%M} to {end:%H:%M} UTC {pace}; tiers:"
          f" {', '.join(f'{t.after} {t.action.value}' for t in config.policy_for(None).tiers)}")


async def _book_examples(stack: BookingStack, mu_id: str, clock: Clock, quiet: bool) -> None:
    """A few bookings through the real queue, search and write-back, before the day starts."""
    requests = await demo_requests(stack, mu_id, clock.now())
    print(f"Booking {len(requests)} offline activities for {mu_id} (slot search over the simulated schedules):")
    for request in requests:
        await stack.service.submit(request)
    while await stack.service.process_next("demo"):
        pass
    waiting = await stack.service.work_items()
    if waiting:
        print(f"  manual work queue: {', '.join(f'{i.request.title} ({i.reason.value})' for i in waiting)}")
    print()


@dataclass(frozen=True, slots=True)
class SummaryRow:
    team: str
    agents: int
    alerts: int  # incidents that fired at least one tier
    cards: int  # Slack cards posted: one per incident, or one grouped card for a team outage
    emails: int
    coaching: int
    adherence: str


async def summary_rows(monitor: Monitor, store: StatusBoard, narrator: Narrator, tally: DeliveryTally,
                       now: datetime) -> list[SummaryRow]:
    rows = []
    day_begin = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for mu_id, cache in monitor.units.items():
        out = await store.out_seconds(mu_id, now.date())
        for team in sorted(cache.roster.teams.values(), key=lambda t: t.name):
            agents = [a for a in cache.roster.agents.values() if a.team_id == team.id]
            scheduled = sum(cache.schedules[a.id].scheduled_seconds_between(day_begin, now)
                            for a in agents if a.id in cache.schedules)
            out_s = sum(out.get(a.id, 0.0) for a in agents)
            rows.append(SummaryRow(
                team=f"{team.name} ({cache.roster.mu.name})", agents=len(agents),
                alerts=len(narrator.incidents[team.id]), cards=tally.cards[team.id], emails=tally.emails[team.id],
                coaching=tally.coaching[team.id],
                adherence=f"{100 * (1 - out_s / scheduled):.1f}%" if scheduled else "n/a"))
    return rows


def print_summary(rows: list[SummaryRow], now: datetime) -> None:
    print()
    print(f"Summary at {now:%H:%M} (simulated)")
    print(f"  {'team':<28} {'agents':>6} {'alerts':>6} {'cards':>5} {'emails':>6} {'coaching':>8} {'adherence':>9}")
    for row in rows:
        print(f"  {row.team:<28} {row.agents:>6} {row.alerts:>6} {row.cards:>5} {row.emails:>6}"
              f" {row.coaching:>8} {row.adherence:>9}")
    print("  alerts: incidents that escalated; cards: Slack cards posted (a team outage gets one grouped card)")


def _print_coaching(sim: SimulatedContactCenter) -> None:
    booked = sim.coaching_appointments
    print(f"Coaching appointments booked in the simulated QM system: {len(booked)}")
    for appointment in booked:
        print(f"  {appointment.start:%a %d %b %H:%M} {appointment.name}")


async def _forget(redis: Redis, prefix: str) -> None:
    """The demo's keys are its own: remove them (they would expire anyway)."""
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=1000)]
    if keys:
        await redis.delete(*keys)
