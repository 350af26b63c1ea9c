"""The monitor use case: every tick, every management unit, every agent.

Per unit and tick: claim the tick (one replica wins), make sure the schedule cache is fresh, read
live states, evaluate and advance every agent (pure), and commit the result atomically. A state
change pushed by the source can also be evaluated on arrival (:meth:`Monitor.on_state_change`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from services import log_context, telemetry
from services.config import OrgConfig
from services.domain.escalation import AgentTrack, EscalationPolicy, IncidentEvent
from services.domain.model import Agent, AgentSchedule, AgentState, ExceptionWindow, Roster
from services.domain.neutral import exceptions_for
from services.domain.rules import RuleTable
from services.domain.unit_tick import UnitInputs, UnitOutcome, run_unit_tick, status_line
from services.ports import Clock, MonitorStore, NeutralWindows, TrackChange, WorkforceSource
from services.replicas import UnitOwnership
from services.routing import apply_org_routing

log = logging.getLogger(__name__)

SCHEDULE_LOOKBEHIND = timedelta(hours=12)
SCHEDULE_LOOKAHEAD = timedelta(hours=24)
SCHEDULE_RETRY = timedelta(minutes=1)  # after a failed refresh, keep the cached schedules this long
HEARTBEAT_TICKS = 20  # a replica's heartbeat outlives this many ticks (health tells "stale" from "gone")


@dataclass
class UnitCache:
    """What the monitor holds in memory per unit between ticks."""

    roster: Roster
    schedules: Mapping[str, AgentSchedule] = field(default_factory=dict)
    fetched_at: datetime | None = None
    covers_until: datetime | None = None
    invalidated: bool = True
    refresh_failed_at: datetime | None = None
    last_tick_at: datetime | None = None
    written_status: dict[str, str] = field(default_factory=dict)
    _sizes: tuple[Roster, dict[str, int]] | None = field(default=None, repr=False)

    def team_sizes(self) -> dict[str, int]:
        """Agents per team, counted again only when the roster is replaced (not on every tick)."""
        if self._sizes is None or self._sizes[0] is not self.roster:
            sizes: dict[str, int] = defaultdict(int)
            for agent in self.roster.agents.values():
                sizes[agent.team_id] += 1
            self._sizes = (self.roster, dict(sizes))
        return self._sizes[1]


@dataclass(frozen=True, slots=True)
class UnitReport:
    mu_id: str
    claimed: bool
    evaluated: int = 0
    events: tuple[IncidentEvent, ...] = ()
    fenced: bool = False
    rejected: int = 0
    unknown: int = 0
    schedule_refreshed: bool = False


@dataclass(frozen=True, slots=True)
class TickReport:
    at: datetime
    units: tuple[UnitReport, ...]

    @property
    def events(self) -> list[IncidentEvent]:
        return [event for unit in self.units for event in unit.events]


class Monitor:
    def __init__(self, *, source: WorkforceSource, store: MonitorStore, config: OrgConfig, clock: Clock,
                 replica_id: str | None = None, ownership: UnitOwnership | None = None,
                 neutral: NeutralWindows | None = None) -> None:
        self.source, self.store, self.config, self.clock = source, store, config, clock
        self.neutral = neutral  # neutral windows planned ahead count as exceptions of the agents they cover
        self.replica_id = replica_id or f"{socket.gethostname()}:{os.getpid()}"
        self.ownership = ownership  # None: a single replica, it tries every unit
        self.units: dict[str, UnitCache] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._rule_tables: dict[str, RuleTable] = {}
        self._policies: dict[str, EscalationPolicy] = {}
        self._started = False

    @property
    def tick_interval(self) -> timedelta:
        return self.config.monitor.tick

    async def start(self) -> None:
        """Discover every management unit and its roster; listen for schedule changes."""
        units = await self.source.management_units()
        rosters = [apply_org_routing(r, self.config)
                   for r in await asyncio.gather(*(self.source.roster(mu.id) for mu in units))]
        for roster in rosters:
            self.units[roster.mu.id] = UnitCache(roster=roster)
            self._locks[roster.mu.id] = asyncio.Lock()
        self.source.on_schedule_changed(self.invalidate_schedule)
        self._started = True
        log.info("monitoring %d management unit(s), %d agents", len(self.units),
                 sum(len(u.roster.agents) for u in self.units.values()))

    def invalidate_schedule(self, mu_id: str) -> None:
        """The source says the published schedule changed: refetch before the next evaluation."""
        cache = self.units.get(mu_id)
        if cache is not None:
            cache.invalidated = True
            log.info("schedule of %s changed; cache invalidated", mu_id, extra={"mu_id": mu_id})

    def roster(self, mu_id: str) -> Roster | None:
        cache = self.units.get(mu_id)
        return cache.roster if cache else None

    async def tick(self) -> TickReport:
        if not self._started:
            await self.start()
        now = self.clock.now()
        limit = asyncio.Semaphore(self.config.monitor.max_concurrent_units)

        async def bounded(mu_id: str) -> UnitReport:
            log_context.focus(mu_id=mu_id)  # gather runs this in its own task: the id stays with this unit
            async with limit, telemetry.unit_tick(mu_id):
                try:
                    return await self._tick_unit(mu_id, now)
                except Exception:
                    # One unit's outage (Genesys, Redis) must not stop the others; next tick retries.
                    log.exception("tick of %s failed; it will be retried next tick", mu_id)
                    return UnitReport(mu_id, claimed=False)

        reports = await asyncio.gather(*(bounded(mu_id) for mu_id in await self._my_units(now)))
        committed = [r.mu_id for r in reports if r.claimed and not r.fenced]
        if committed:
            await self._beat(now, committed)
        return TickReport(now, tuple(reports))

    def owned_units(self) -> list[str]:
        """The units this replica ticked last (every unit without replica sharing): drain these outboxes."""
        return self.ownership.mine(self.units) if self.ownership else list(self.units)

    async def _my_units(self, now: datetime) -> list[str]:
        if self.ownership is None:
            return list(self.units)
        mine = await self.ownership.refresh(self.units, now)
        for mu_id in set(self.units) - set(mine):
            self.units[mu_id].written_status.clear()  # another replica writes its board now
        return mine

    async def _beat(self, now: datetime, committed: Sequence[str]) -> None:
        """This replica's heartbeat, written only after a committed tick (what /health trusts)."""
        try:
            backlogs = [await self.store.outbox_backlog(mu_id, now) for mu_id in committed]
            oldest = min((now - age for _, age in backlogs if age is not None), default=None)
            beat = {
                "at": now.isoformat(), "units": list(committed),
                "outbox_backlog": sum(count for count, _ in backlogs),
                "oldest_undelivered_at": oldest.isoformat() if oldest else None,
                "oldest_undelivered_age_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
            }
            await self.store.write_heartbeat(self.replica_id, beat, self.tick_interval * HEARTBEAT_TICKS)
        except Exception:
            log.warning("could not write the heartbeat of replica %s", self.replica_id, exc_info=True)

    async def _tick_unit(self, mu_id: str, now: datetime) -> UnitReport:
        cache = self.units[mu_id]
        tick_number = int(now.timestamp() // self.tick_interval.total_seconds())
        token = await self.store.claim_tick(mu_id, tick_number, self.tick_interval * 4)
        if token is None:
            cache.written_status.clear()  # another replica wrote the board; rewrite all when we get it back
            return UnitReport(mu_id, claimed=False)
        async with self._locks[mu_id]:
            refreshed = await self._ensure_schedules(cache, now)
            states = await self.source.live_states(mu_id)
            exceptions = await self._exceptions(mu_id, now)
            tracks = await self.store.load_tracks(mu_id)
            outcome = run_unit_tick(self._inputs(cache, states, tracks, exceptions), now)
            elapsed = self._elapsed(cache, now)
            result = await self.store.commit(
                mu_id, token=token, tick_number=tick_number,
                changes=_changes(outcome, tracks), events=outcome.events,
                status=self._status_changes(cache, outcome),
                out_seconds=dict.fromkeys(outcome.out_agents(), elapsed), day=now.date(),
                scheduled_seconds=dict.fromkeys(outcome.scheduled_agents(), elapsed),
            )
        if result.fenced:
            log.warning("tick %s of %s lost its claim before committing; discarded", tick_number, mu_id)
            cache.written_status.clear()
            return UnitReport(mu_id, claimed=True, fenced=True, schedule_refreshed=refreshed)
        if result.rejected:
            log.info("%d agent(s) of %s changed concurrently; re-evaluated next tick", len(result.rejected), mu_id)
            for agent in result.rejected:
                cache.written_status.pop(agent, None)
        cache.last_tick_at = now
        events = tuple(e for e in outcome.events if e.incident.agent_id not in result.rejected)
        unknown = sum(1 for e in outcome.evaluations.values() if e.status.value == "UNKNOWN")
        telemetry.unit_evaluated(mu_id, len(outcome.evaluations), events)
        return UnitReport(mu_id, claimed=True, evaluated=len(outcome.evaluations), events=events,
                          rejected=len(result.rejected), unknown=unknown, schedule_refreshed=refreshed)

    async def on_state_change(self, mu_id: str, state: AgentState) -> list[IncidentEvent]:
        """Evaluate one agent as soon as its state changes (push sources), between ticks."""
        cache = self.units.get(mu_id)
        if cache is None or state.agent_id not in cache.roster.agents or mu_id not in self.owned_units():
            return []
        now = self.clock.now()
        async with self._locks[mu_id]:
            await self._ensure_schedules(cache, now)
            exceptions = await self._exceptions(mu_id, now)
            track = await self.store.load_track(mu_id, state.agent_id)
            tracks = {state.agent_id: track} if track else {}
            agent = cache.roster.agents[state.agent_id]
            inputs = self._inputs(cache, {state.agent_id: state}, tracks, exceptions,
                                  agents={agent.id: agent}, storms=False)
            outcome = run_unit_tick(inputs, now)
            if not outcome.changed and not outcome.events:
                return []
            result = await self.store.commit(mu_id, changes=_changes(outcome, tracks), events=outcome.events,
                                             status=self._status_changes(cache, outcome), day=now.date())
        telemetry.tiers_fired(mu_id, [] if result.rejected else outcome.events)
        return [] if result.rejected else outcome.events

    # ---- helpers ---------------------------------------------------------------------------------
    def _inputs(self, cache: UnitCache, states: Mapping[str, AgentState], tracks: Mapping[str, AgentTrack],
                exceptions: Mapping[str, Sequence[ExceptionWindow]], *, agents: Mapping[str, Agent] | None = None,
                storms: bool = True) -> UnitInputs:
        mu_id = cache.roster.mu.id
        return UnitInputs(
            mu_id=mu_id,
            agents=agents or cache.roster.agents,
            schedules=cache.schedules,
            states=states,
            tracks=tracks,
            rules=self._rules(mu_id),
            policy=self._policy(mu_id),
            stale_after=self.config.monitor.stale_after,
            exceptions=exceptions,
            storm=self.config.storm.to_policy() if storms else None,
            team_sizes=cache.team_sizes(),
        )

    def _policy(self, mu_id: str) -> EscalationPolicy:
        """The unit's policy, built once (the config does not change while running)."""
        if mu_id not in self._policies:
            self._policies[mu_id] = self.config.policy_for(mu_id)
        return self._policies[mu_id]

    def _rules(self, mu_id: str) -> RuleTable:
        if mu_id not in self._rule_tables:
            self._rule_tables[mu_id] = self.config.rules_for(mu_id)
        return self._rule_tables[mu_id]

    async def _ensure_schedules(self, cache: UnitCache, now: datetime) -> bool:
        refresh_every = self.config.monitor.schedule_refresh
        due = (
            cache.invalidated
            or cache.fetched_at is None
            or now - cache.fetched_at >= refresh_every
            or (cache.covers_until is not None and now >= cache.covers_until - timedelta(hours=1))
        )
        usable = cache.fetched_at is not None and cache.covers_until is not None and now < cache.covers_until
        if not due or (usable and cache.refresh_failed_at is not None
                       and now - cache.refresh_failed_at < SCHEDULE_RETRY):
            return False
        mu_id = cache.roster.mu.id
        cache.invalidated = False  # cleared first: a change signalled during the fetch invalidates again
        try:
            roster = apply_org_routing(await self.source.roster(mu_id), self.config)
            schedules = await self.source.schedules(mu_id, now - SCHEDULE_LOOKBEHIND, now + SCHEDULE_LOOKAHEAD)
        except Exception as error:
            cache.invalidated = True
            if not usable:
                raise
            # A WFM outage must not stop the unit's ticks: the cached schedules still cover now.
            cache.refresh_failed_at = now
            log.warning("refreshing the schedules of %s failed (%s); using the cached ones, retrying in %s",
                        mu_id, error, SCHEDULE_RETRY)
            return False
        cache.roster, cache.schedules, cache.refresh_failed_at = roster, schedules, None
        cache.fetched_at, cache.covers_until = now, now + SCHEDULE_LOOKAHEAD
        log.debug("schedules of %s refreshed (%d agents)", mu_id, len(cache.schedules))
        return True

    async def _exceptions(self, mu_id: str, now: datetime) -> dict[str, list[ExceptionWindow]]:
        lookback = self.config.monitor.exception_lookback
        windows = await self.source.approved_exceptions(mu_id, now - lookback, now)
        grouped: dict[str, list[ExceptionWindow]] = defaultdict(list)
        for window in windows:
            # The seed's rule: an exception approved within the last `lookback` still suppresses now.
            grouped[window.agent_id].append(replace(window, end=window.end + lookback))
        if self.neutral is not None:
            planned = exceptions_for(await self.neutral.neutral_windows(mu_id), self.units[mu_id].roster.agents, now)
            for agent_id, windows in planned.items():
                grouped[agent_id].extend(windows)
        return grouped

    def _elapsed(self, cache: UnitCache, now: datetime) -> float:
        interval = self.tick_interval.total_seconds()
        if cache.last_tick_at is None:
            return interval
        return max(0.0, min((now - cache.last_tick_at).total_seconds(), 2 * interval))

    def _status_changes(self, cache: UnitCache, outcome: UnitOutcome) -> dict[str, str]:
        changes: dict[str, str] = {}
        written = cache.written_status
        for agent_id, evaluation in outcome.evaluations.items():
            line = status_line(evaluation)
            if written.get(agent_id) != line:
                changes[agent_id] = written[agent_id] = line
        return changes


def _changes(outcome: UnitOutcome, tracks: Mapping[str, AgentTrack]) -> list[TrackChange]:
    changes = []
    for agent_id, track in outcome.changed.items():
        before = tracks.get(agent_id)
        changes.append(TrackChange(agent_id, before.version if before else 0, track))
    return changes
