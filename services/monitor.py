"""The monitor use case: every tick, every management unit, every agent.

Per unit and tick: claim the tick (one replica wins), make sure the schedule cache is fresh, read
live states, evaluate and advance every agent (pure), and commit the result atomically. A state
change pushed by the source can also be evaluated on arrival (:meth:`Monitor.on_state_change`).

Between ticks, each commit keeps every evaluated agent's next due instant in the store's due-time
index (``services.domain.due.next_due``); :meth:`Monitor.run_due` evaluates the agents whose instant
came (claimed like a tick, ``due:<epoch ms>``), woken by ``services.due_waker``. After a commit that
produced events ``outbox_ready`` is set, so delivery need not wait for the tick either.

Beside it: ``monitor_cache`` (what is kept per unit between ticks), ``monitor_reads`` (schedules,
exceptions and the pure tick's inputs), ``monitor_bookkeeping`` (which agents to evaluate, what goes
into the commit), ``monitor_heartbeat`` (the replica's heartbeat).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from services import log_context, telemetry
from services.config import OrgConfig
from services.domain.escalation import AgentTrack, IncidentEvent
from services.domain.model import AgentState, Roster
from services.domain.shifts import shift_end
from services.domain.unit_tick import UnitOutcome, run_unit_tick
from services.monitor_bookkeeping import (
    accrual_changes,
    changed_agents,
    due_changes,
    elapsed,
    full_sweep_due,
    remember_commit,
    remember_evaluated,
    remember_inputs,
    status_changes,
    track_changes,
)
from services.monitor_cache import TickReport, UnitCache, UnitReport
from services.monitor_heartbeat import write_heartbeat
from services.monitor_reads import UnitReads
from services.ports import ChangeReporting, Clock, MonitorStore, NeutralWindows, WorkforceSource
from services.replicas import UnitOwnership
from services.routing import apply_org_routing

log = logging.getLogger(__name__)

__all__ = ["Monitor", "TickReport", "UnitCache", "UnitReport"]



class Monitor:
    def __init__(self, *, source: WorkforceSource, store: MonitorStore, config: OrgConfig, clock: Clock,
                 replica_id: str | None = None, ownership: UnitOwnership | None = None,
                 neutral: NeutralWindows | None = None) -> None:
        self.source, self.store, self.config, self.clock = source, store, config, clock
        self.reads = UnitReads(source, config, neutral)
        self.replica_id = replica_id or f"{socket.gethostname()}:{os.getpid()}"
        self.ownership = ownership  # None: a single replica, it tries every unit
        self.units: dict[str, UnitCache] = {}
        self._locks: dict[str, asyncio.Lock] = {}
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
            await write_heartbeat(self.store, self.replica_id, now, committed, self.tick_interval)
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

    async def _tick_unit(self, mu_id: str, now: datetime) -> UnitReport:
        cache = self.units[mu_id]
        tick_number = int(now.timestamp() // self.tick_interval.total_seconds())
        token = await self.store.claim_tick(mu_id, tick_number, self.tick_interval * 4)
        if token is None:
            cache.forget_written()  # another replica wrote the board; rewrite all when we get it back
            return UnitReport(mu_id, claimed=False)
        async with self._locks[mu_id]:
            refreshed = await self.reads.ensure_schedules(cache, now)
            # The source's changes first, then its states: a change arriving in between is in both.
            changed_ids = self._changed_ids(cache, mu_id)
            states = await self.source.live_states(mu_id)
            exceptions = await self.reads.exceptions(cache, now)
            full = full_sweep_due(cache, now, refreshed, self.config.monitor.full_sweep)
            # Re-read only when another writer (an acknowledgement, an excuse, a push, Redis emptied) moved
            # the tracks version on since our last commit; its changed tracks make their agents ones to
            # evaluate, so an excused agent's out seconds stop at once.
            known = cache.tracks_version if cache.tracks is not None else None
            version, loaded = await self.store.tracks_if_changed(mu_id, known)
            tracks: Mapping[str, AgentTrack] = loaded if loaded is not None else (cache.tracks or {})
            agents = None if full else changed_agents(cache, states, loaded, exceptions, now, changed_ids)
            inputs = self.reads.inputs(cache, states, tracks, exceptions, agents=agents)
            outcome = run_unit_tick(replace(inputs, grouped=loaded is None), now)
            remember_inputs(cache, states, tracks, exceptions, outcome, full=full, now=now)
            day = now.date()
            accrual = accrual_changes(cache, day)
            try:
                result = await self.store.commit(
                    mu_id, token=token, tick_number=tick_number,
                    changes=track_changes(outcome, tracks), events=outcome.events,
                    status=status_changes(cache, outcome), day=day,
                    accrual_seconds=elapsed(cache, now, self.tick_interval), accrual=accrual,
                    due=due_changes(cache, outcome.dues),
                )
            except Exception:
                cache.forget_written()  # unknown what was applied: send every flag, re-read everything
                raise
            remember_commit(cache, outcome, tracks, result.rejected)
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
            await self.reads.ensure_schedules(cache, now)
            exceptions = await self.reads.exceptions(cache, now)
            track = await self.store.load_track(mu_id, state.agent_id)
            tracks = {state.agent_id: track} if track else {}
            agent = cache.roster.agents[state.agent_id]
            inputs = self.reads.inputs(cache, {state.agent_id: state}, tracks, exceptions,
                                  agents={agent.id: agent}, storms=False)
            outcome = run_unit_tick(inputs, now)
            due = due_changes(cache, outcome.dues)
            if not outcome.changed and not outcome.events and not due:
                return []
            result = await self.store.commit(mu_id, changes=track_changes(outcome, tracks), events=outcome.events,
                                             status=status_changes(cache, outcome), day=now.date(), due=due)
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
            await self.reads.ensure_schedules(cache, now)
            # No read per event: the tracks and exceptions as last seen; the version check catches
            # another writer (a replica, a supervisor's click) and that agent is reloaded and retried.
            if cache.tracks is None:
                cache.tracks = dict(await self.store.load_tracks(mu_id))
            tracks = cache.tracks
            exceptions = (cache.seen_exceptions if cache.last_tick_at is not None
                          else await self.reads.exceptions(cache, now))
            agents = {a: cache.roster.agents[a] for a in pending if a in cache.roster.agents}
            outcome = run_unit_tick(self.reads.inputs(cache, pending, tracks, exceptions, agents=agents, storms=False),
                                    now)
            before = dict(tracks)
            result = await self.store.commit(
                mu_id, changes=track_changes(outcome, before), events=outcome.events,
                status=status_changes(cache, outcome), day=now.date(), due=due_changes(cache, outcome.dues))
            remember_commit(cache, outcome, before, result.rejected)
            cache.seen_states.update(pending)
            remember_evaluated(cache, outcome)
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
            await self.reads.ensure_schedules(cache, now)
            agents = {a: cache.roster.agents[a] for a in due if a in cache.roster.agents}
            gone: dict[str, datetime | None] = dict.fromkeys((a for a in due if a not in agents), None)
            states = await self.source.live_states(mu_id)
            exceptions = await self.reads.exceptions(cache, now)
            tracks = await self.store.load_tracks(mu_id)
            outcome = (run_unit_tick(self.reads.inputs(cache, states, tracks, exceptions, agents=agents), now) if agents
                       else UnitOutcome({}, {}, []))
            for agent_id in due:
                cache.written_due.pop(agent_id, None)  # the index holds a past instant: always rewritten
            result = await self.store.commit(
                mu_id, token=token, tick_number=instant_ms, claim_kind="due", changes=track_changes(outcome, tracks),
                events=outcome.events, status=status_changes(cache, outcome), day=now.date(),
                due={**gone, **due_changes(cache, outcome.dues)})
            remember_commit(cache, outcome, tracks, result.rejected)
            remember_evaluated(cache, outcome)
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

    def _changed_ids(self, cache: UnitCache, mu_id: str) -> Collection[str] | None:
        """The agents whose state the source says changed since the last tick (None: compare all)."""
        if not isinstance(self.source, ChangeReporting):
            return None
        cache.states_cursor, changed = self.source.changed_agents(mu_id, cache.states_cursor)
        return changed
