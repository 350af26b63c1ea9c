"""The monitor use case: every tick, every management unit, every agent.

Per unit and tick: claim the tick (one replica wins), make sure the schedule cache is fresh, read
live states, evaluate and advance every agent (pure), and commit the result atomically. A state
change pushed by the source can also be evaluated on arrival (:meth:`Monitor.on_state_change`).

Between ticks, each commit keeps every evaluated agent's next due instant in the store's due-time
index (``services.domain.due.next_due``); :meth:`Monitor.run_due` evaluates the agents whose instant
came (claimed like a tick, ``due:<epoch ms>``), woken by ``services.due_waker``. After a commit that
produced events ``outbox_ready`` is set, so delivery need not wait for the tick either.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from services import log_context, telemetry
from services.config import OrgConfig
from services.domain.escalation import AgentTrack, EscalationPolicy, IncidentEvent
from services.domain.model import Agent, AgentSchedule, AgentState, ExceptionWindow, Roster
from services.domain.neutral import exceptions_for
from services.domain.rules import RuleTable
from services.domain.shifts import shift_end
from services.domain.unit_tick import UnitInputs, UnitOutcome, accrual_flags, run_unit_tick, status_line
from services.ports import ChangeReporting, Clock, MonitorStore, NeutralWindows, TrackChange, WorkforceSource
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
    written_due: dict[str, datetime | None] = field(default_factory=dict)  # as last committed to the index
    # For ticks that evaluate only what changed, and pushes that read nothing per event:
    last_full_at: datetime | None = None
    seen_states: dict[str, AgentState] = field(default_factory=dict)  # as last evaluated
    seen_exceptions: Mapping[str, Sequence[ExceptionWindow]] = field(default_factory=dict)
    out_agents: set[str] = field(default_factory=set)  # out of adherence at their last evaluation
    scheduled_agents: set[str] = field(default_factory=set)  # scheduled for work at their last evaluation
    due_floor: datetime | None = None  # no instant in written_due is earlier (None: unknown, scan)
    tracks: dict[str, AgentTrack] | None = None  # the tracks as this replica last read or wrote them
    pending: dict[str, AgentState] = field(default_factory=dict)  # pushed, not yet committed
    # Accrual by segments and reads by version (so an unchanged agent costs nothing per tick):
    tracks_version: int | None = None  # the store's tracks version that ``tracks`` is (None: re-read)
    accrual_day: date | None = None  # the day every agent's flags were last sent (None: send them all)
    flag_dirty: set[str] = field(default_factory=set)  # flags may have changed since the last accrual
    states_cursor: int | None = None  # the source's change cursor (``ChangeReporting``)
    _sizes: tuple[Roster, dict[str, int]] | None = field(default=None, repr=False)
    _positions: tuple[Roster, dict[str, int]] | None = field(default=None, repr=False)

    def forget_written(self) -> None:
        """Another replica may have written the board and the due index: rewrite all next time."""
        self.written_status.clear()
        self.written_due.clear()
        self.last_full_at, self.tracks, self.due_floor = None, None, None
        self.tracks_version, self.accrual_day, self.states_cursor = None, None, None

    def positions(self) -> dict[str, int]:
        """Each agent's place in the roster, computed again only when the roster is replaced."""
        if self._positions is None or self._positions[0] is not self.roster:
            self._positions = (self.roster, {a: i for i, a in enumerate(self.roster.agents)})
        return self._positions[1]

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
        #: Set after a commit that produced events: the delivery loop drains the outbox at once.
        self.outbox_ready = asyncio.Event()
        #: Set after a commit that moved a due instant: the waker recomputes the earliest one.
        self.due_changed = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None

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

    def shift_end(self, mu_id: str, agent_id: str, now: datetime) -> datetime | None:
        """When the agent's current shift ends, from the cached schedule ("snooze until shift end")."""
        cache = self.units.get(mu_id)
        schedule = cache.schedules.get(agent_id) if cache else None
        return shift_end(schedule, now) if schedule is not None else None

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
                    self.units[mu_id].states_cursor = None  # the changes taken are not evaluated: compare all
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
            self.units[mu_id].forget_written()  # another replica writes its board (and due index) now
        return mine

    async def _beat(self, now: datetime, committed: Sequence[str]) -> None:
        """This replica's heartbeat, written only after a committed tick (what /health trusts)."""
        try:
            # One round trip per unit, side by side: the heartbeat follows every tick, it must not add up.
            backlogs = await asyncio.gather(*(self.store.outbox_backlog(mu_id, now) for mu_id in committed))
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
            cache.forget_written()  # another replica wrote the board; rewrite all when we get it back
            return UnitReport(mu_id, claimed=False)
        async with self._locks[mu_id]:
            refreshed = await self._ensure_schedules(cache, now)
            # The source's changes first, then its states: a change arriving in between is in both.
            changed_ids = self._changed_ids(cache, mu_id)
            states = await self.source.live_states(mu_id)
            exceptions = await self._exceptions(mu_id, now)
            full = self._full_sweep_due(cache, now, refreshed)
            # Re-read only when another writer (an acknowledgement, an excuse, a push, Redis emptied) moved
            # the tracks version on since our last commit; its changed tracks make their agents ones to
            # evaluate, so an excused agent's out seconds stop at once.
            known = cache.tracks_version if cache.tracks is not None else None
            version, loaded = await self.store.tracks_if_changed(mu_id, known)
            tracks: Mapping[str, AgentTrack] = loaded if loaded is not None else (cache.tracks or {})
            agents = None if full else _changed_agents(cache, states, loaded, exceptions, now, changed_ids)
            inputs = self._inputs(cache, states, tracks, exceptions, agents=agents)
            outcome = run_unit_tick(replace(inputs, grouped=loaded is None), now)
            _remember_inputs(cache, states, tracks, exceptions, outcome, full=full, now=now)
            day = now.date()
            accrual = _accrual(cache, day)
            try:
                result = await self.store.commit(
                    mu_id, token=token, tick_number=tick_number,
                    changes=_changes(outcome, tracks), events=outcome.events,
                    status=self._status_changes(cache, outcome), day=day,
                    accrual_seconds=self._elapsed(cache, now), accrual=accrual,
                    due=_due_changes(cache, outcome.dues),
                )
            except Exception:
                cache.forget_written()  # unknown what was applied: send every flag, re-read everything
                raise
            _remember_commit(cache, outcome, tracks, result.rejected)
            cache.accrual_day = day
            cache.tracks_version = (result.tracks_version[1] if result.tracks_version is not None
                                    and result.tracks_version[0] == version and not result.rejected else None)
        if result.fenced:
            log.warning("tick %s of %s lost its claim before committing; discarded", tick_number, mu_id)
            cache.forget_written()
            return UnitReport(mu_id, claimed=True, fenced=True)
        if result.rejected:
            log.info("%d agent(s) of %s changed concurrently; re-evaluated next tick", len(result.rejected), mu_id)
            for agent in result.rejected:
                cache.written_status.pop(agent, None)
                cache.written_due.pop(agent, None)
                cache.seen_states.pop(agent, None)
            cache.states_cursor = None  # compare every state next tick: the rejected ones are unseen
        cache.last_tick_at = now
        events = tuple(e for e in outcome.events if e.incident.agent_id not in result.rejected)
        self._committed(events)
        unknown = sum(1 for e in outcome.evaluations.values() if e.status.value == "UNKNOWN")
        telemetry.unit_evaluated(mu_id, len(outcome.evaluations), events)
        return UnitReport(mu_id, claimed=True, evaluated=len(outcome.evaluations), events=events,
                          rejected=len(result.rejected), unknown=unknown)

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
            due = _due_changes(cache, outcome.dues)
            if not outcome.changed and not outcome.events and not due:
                return []
            result = await self.store.commit(mu_id, changes=_changes(outcome, tracks), events=outcome.events,
                                             status=self._status_changes(cache, outcome), day=now.date(), due=due)
            if result.rejected:
                cache.written_due.pop(state.agent_id, None)
        events = [] if result.rejected else outcome.events
        telemetry.tiers_fired(mu_id, events)
        self._committed(events)
        return events

    # ---- pushed live states, in micro-batches --------------------------------------------------
    def push(self, mu_id: str, state: AgentState) -> None:
        """A live state pushed by the source: coalesced per agent (the last state wins) and committed
        with the others of its unit within ``monitor.push_batch``, one Lua commit per batch."""
        cache = self.units.get(mu_id)
        if cache is None or state.agent_id not in cache.roster.agents:
            return
        cache.pending[state.agent_id] = state
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self.config.monitor.push_batch.total_seconds())
        self._flusher = None  # a push during the flush schedules the next batch
        try:
            await self.flush_pushed()
        except Exception:
            log.exception("committing pushed live states failed; the next tick evaluates them")

    async def flush_pushed(self) -> list[IncidentEvent]:
        """Commit every pending pushed state now (a batch per unit; the service calls it on stop)."""
        if self._flusher is not None and asyncio.current_task() is not self._flusher:
            self._flusher.cancel()
            self._flusher = None
        owned = set(self.owned_units())
        events: list[IncidentEvent] = []
        for mu_id, cache in self.units.items():
            if not cache.pending:
                continue
            if mu_id not in owned:
                cache.pending.clear()  # its owner evaluates it (from its own feed or its tick)
                continue
            events += await self._flush_unit(mu_id, cache)
        return events

    async def _flush_unit(self, mu_id: str, cache: UnitCache) -> list[IncidentEvent]:
        now = self.clock.now()
        async with self._locks[mu_id]:
            pending, cache.pending = cache.pending, {}
            await self._ensure_schedules(cache, now)
            # No read per event: the tracks and exceptions as last seen; the version check catches
            # another writer (a replica, a supervisor's click) and that agent is reloaded and retried.
            if cache.tracks is None:
                cache.tracks = dict(await self.store.load_tracks(mu_id))
            tracks = cache.tracks
            exceptions = (cache.seen_exceptions if cache.last_tick_at is not None
                          else await self._exceptions(mu_id, now))
            agents = {a: cache.roster.agents[a] for a in pending if a in cache.roster.agents}
            outcome = run_unit_tick(self._inputs(cache, pending, tracks, exceptions, agents=agents, storms=False),
                                    now)
            before = dict(tracks)
            result = await self.store.commit(
                mu_id, changes=_changes(outcome, before), events=outcome.events,
                status=self._status_changes(cache, outcome), day=now.date(), due=_due_changes(cache, outcome.dues))
            _remember_commit(cache, outcome, before, result.rejected)
            cache.seen_states.update(pending)
            _remember_evaluated(cache, outcome)
            for agent in result.rejected:
                cache.written_status.pop(agent, None)
                cache.written_due.pop(agent, None)
                cache.seen_states.pop(agent, None)
                fresh = await self.store.load_track(mu_id, agent)
                if fresh is None:
                    cache.tracks.pop(agent, None)
                else:
                    cache.tracks[agent] = fresh
                cache.pending.setdefault(agent, pending[agent])  # evaluated again on its fresh track
        if cache.pending and (self._flusher is None or self._flusher.done()):
            self._flusher = asyncio.create_task(self._flush_later())
        events = [e for e in outcome.events if e.incident.agent_id not in result.rejected]
        telemetry.tiers_fired(mu_id, events)
        self._committed(events)
        return events

    async def close(self) -> None:
        """Commit what was pushed and not yet committed (on shutdown)."""
        await self.flush_pushed()

    # ---- due instants between ticks ----------------------------------------------------------
    async def next_due_at(self) -> datetime | None:
        """The earliest due instant over the units this replica owns (None: nothing is indexed)."""
        if not self._started:
            await self.start()
        return await self.store.earliest_due(self.owned_units())

    async def run_due(self) -> list[IncidentEvent]:
        """Evaluate, in each owned unit, the agents whose due instant has come (tier, hold end,
        ``clear_after``, exception end, schedule boundary), at once and not at the next tick.

        Claimed like a tick (``due:<epoch ms of the earliest instant>``), so of two replicas that wake
        for the same instant one evaluates it; the commit is fenced by that claim and compare-and-set
        per agent, and moves each evaluated agent's instant on in the index."""
        if not self._started:
            await self.start()
        now = self.clock.now()
        fired: list[IncidentEvent] = []
        for mu_id in self.owned_units():
            log_context.focus(mu_id=mu_id)
            try:
                fired += await self._run_due_unit(mu_id, now)
            except Exception:
                log.exception("due evaluation of %s failed; the next tick re-evaluates every agent", mu_id)
        return fired

    async def _run_due_unit(self, mu_id: str, now: datetime) -> list[IncidentEvent]:
        due = await self.store.due_agents(mu_id, now)
        if not due:
            return []
        cache = self.units[mu_id]
        instant_ms = int(min(due.values()).timestamp() * 1000)
        token = await self.store.claim_tick(mu_id, instant_ms, self.tick_interval * 4, kind="due")
        if token is None:
            return []  # another replica evaluates this instant
        async with self._locks[mu_id]:
            await self._ensure_schedules(cache, now)
            agents = {a: cache.roster.agents[a] for a in due if a in cache.roster.agents}
            gone: dict[str, datetime | None] = dict.fromkeys((a for a in due if a not in agents), None)
            states = await self.source.live_states(mu_id)
            exceptions = await self._exceptions(mu_id, now)
            tracks = await self.store.load_tracks(mu_id)
            outcome = (run_unit_tick(self._inputs(cache, states, tracks, exceptions, agents=agents), now) if agents
                       else UnitOutcome({}, {}, []))
            for agent_id in due:
                cache.written_due.pop(agent_id, None)  # the index holds a past instant: always rewritten
            result = await self.store.commit(
                mu_id, token=token, tick_number=instant_ms, claim_kind="due", changes=_changes(outcome, tracks),
                events=outcome.events, status=self._status_changes(cache, outcome), day=now.date(),
                due={**gone, **_due_changes(cache, outcome.dues)})
            _remember_commit(cache, outcome, tracks, result.rejected)
            _remember_evaluated(cache, outcome)
        if result.fenced:
            cache.forget_written()
            return []
        for agent in result.rejected:
            cache.written_status.pop(agent, None)
            cache.written_due.pop(agent, None)
        events = [e for e in outcome.events if e.incident.agent_id not in result.rejected]
        telemetry.tiers_fired(mu_id, events)
        self._committed(events)
        if events:
            log.info("%d event(s) of %s at their due instant (%d agent(s) due)", len(events), mu_id, len(due))
        return events

    def _committed(self, events: Sequence[IncidentEvent]) -> None:
        self.due_changed.set()  # cheap: the waker rereads the earliest instant (one round trip)
        if events:
            self.outbox_ready.set()

    # ---- helpers ---------------------------------------------------------------------------------
    def _inputs(self, cache: UnitCache, states: Mapping[str, AgentState], tracks: Mapping[str, AgentTrack],
                exceptions: Mapping[str, Sequence[ExceptionWindow]], *, agents: Mapping[str, Agent] | None = None,
                storms: bool = True) -> UnitInputs:
        mu_id = cache.roster.mu.id
        return UnitInputs(
            mu_id=mu_id,
            agents=cache.roster.agents if agents is None else agents,
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

    def _full_sweep_due(self, cache: UnitCache, now: datetime, refreshed: bool) -> bool:
        every = self.config.monitor.full_sweep
        if refreshed or cache.last_full_at is None or every <= timedelta(0) or now - cache.last_full_at >= every:
            cache.last_full_at = now
            return True
        return False

    def _changed_ids(self, cache: UnitCache, mu_id: str) -> Collection[str] | None:
        """The agents whose state the source says changed since the last tick (None: compare all)."""
        if not isinstance(self.source, ChangeReporting):
            return None
        cache.states_cursor, changed = self.source.changed_agents(mu_id, cache.states_cursor)
        return changed

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


def _changed_agents(cache: UnitCache, states: Mapping[str, AgentState], loaded: Mapping[str, AgentTrack] | None,
                    exceptions: Mapping[str, Sequence[ExceptionWindow]], now: datetime,
                    reported: Collection[str] | None = None) -> dict[str, Agent]:
    """The agents a tick between full sweeps evaluates: a new live state (not just observed again; a
    state the source vouches for again after a feed outage is new), a track another writer changed
    (``loaded``: the tracks re-read because their version moved on), other approved exceptions, or a
    due instant that came. ``reported``: the source's own change set (no state compared)."""
    roster, seen = cache.roster.agents, cache.seen_states
    changed: set[str] = set()
    if reported is not None:
        changed.update(reported)
    else:
        for agent_id, state in states.items():
            before = seen.get(agent_id)
            if before is state:
                continue
            if (before is None or before.since != state.since or before.presence is not state.presence
                    or before.routing is not state.routing or before.confirmed is not state.confirmed):
                changed.add(agent_id)
    if loaded is not None:
        kept = cache.tracks or {}
        changed.update(a for a, t in loaded.items() if kept.get(a) != t)
        changed.update(a for a in kept if a not in loaded)
    if exceptions != cache.seen_exceptions:
        previous = cache.seen_exceptions
        changed.update(a for a in {*exceptions, *previous} if exceptions.get(a) != previous.get(a))
    if cache.due_floor is None or cache.due_floor <= now:  # scan the instants only when one may have come
        floor: datetime | None = None
        for agent_id, when in cache.written_due.items():
            if when is None:
                continue
            if when <= now:
                changed.add(agent_id)
            elif floor is None or when < floor:
                floor = when
        cache.due_floor = floor
    position = cache.positions()
    # In roster order, as a full sweep evaluates them: events (and so deliveries) keep the same order.
    return {a: roster[a] for a in sorted((a for a in changed if a in roster), key=position.__getitem__)}


def _remember_inputs(cache: UnitCache, states: Mapping[str, AgentState], tracks: Mapping[str, AgentTrack],
                     exceptions: Mapping[str, Sequence[ExceptionWindow]], outcome: UnitOutcome, *, full: bool,
                     now: datetime) -> None:
    if full:
        cache.seen_states = {a: s for a, s in states.items() if a in outcome.evaluations}
        out, scheduled = set(outcome.out_agents()), set(outcome.scheduled_agents())
        cache.flag_dirty |= (out ^ cache.out_agents) | (scheduled ^ cache.scheduled_agents)
        cache.out_agents, cache.scheduled_agents = out, scheduled
    else:
        for agent_id in outcome.evaluations:
            state = states.get(agent_id)
            if state is not None:
                cache.seen_states[agent_id] = state
        _remember_evaluated(cache, outcome)
    cache.seen_exceptions = exceptions


def _remember_evaluated(cache: UnitCache, outcome: UnitOutcome) -> None:
    """Out of adherence / scheduled as last evaluated: the seconds a tick adds count every such agent."""
    for kept, now_in in ((cache.out_agents, set(outcome.out_agents())),
                         (cache.scheduled_agents, set(outcome.scheduled_agents()))):
        for agent_id in outcome.evaluations:
            if (agent_id in now_in) is not (agent_id in kept):
                cache.flag_dirty.add(agent_id)  # its accrual segment closes at the next tick
                if agent_id in now_in:
                    kept.add(agent_id)
                else:
                    kept.discard(agent_id)


def _accrual(cache: UnitCache, day: date) -> dict[str, str]:
    """The agents whose accrual flags the tick commit sends: those that may have changed, or (a new
    day, a new owner, a failed commit) every agent's, so the store's open segments match again."""
    out, scheduled = cache.out_agents, cache.scheduled_agents
    agents: Collection[str] = cache.flag_dirty
    if cache.accrual_day != day:
        agents = {*cache.roster.agents, *out, *scheduled}
    cache.flag_dirty = set()
    return {a: accrual_flags(a in scheduled, a in out) for a in agents}


def _remember_commit(cache: UnitCache, outcome: UnitOutcome, before: Mapping[str, AgentTrack],
                     rejected: frozenset[str]) -> None:
    """Keep the tracks as committed (version moved on), so a pushed batch reads nothing first."""
    tracks = cache.tracks = dict(before)
    for agent_id, track in outcome.changed.items():
        if agent_id in rejected:
            tracks.pop(agent_id, None)  # someone else wrote it: reloaded before it is used again
        elif track is None:
            tracks.pop(agent_id, None)
        else:
            old = before.get(agent_id)
            tracks[agent_id] = track.model_copy(update={"version": (old.version if old else 0) + 1})


def _due_changes(cache: UnitCache, dues: Mapping[str, datetime | None]) -> dict[str, datetime | None]:
    """Only the due instants that differ from what this replica last wrote go into the commit."""
    written = cache.written_due
    changes: dict[str, datetime | None] = {}
    for agent_id, when in dues.items():
        if agent_id not in written or written[agent_id] != when:
            changes[agent_id] = written[agent_id] = when
            if when is not None and (cache.due_floor is None or when < cache.due_floor):
                cache.due_floor = when
    return changes


def _changes(outcome: UnitOutcome, tracks: Mapping[str, AgentTrack]) -> list[TrackChange]:
    changes = []
    for agent_id, track in outcome.changed.items():
        before = tracks.get(agent_id)
        changes.append(TrackChange(agent_id, before.version if before else 0, track))
    return changes
