"""The monitor's bookkeeping between ticks (pure, on a ``UnitCache``): which agents a tick between full
sweeps evaluates, what it remembers of each evaluation and commit, and which status lines, due
instants, accrual flags and track changes go into the next commit (only what differs)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timedelta

from services.domain.escalation import AgentTrack
from services.domain.model import Agent, AgentState, ExceptionWindow
from services.domain.unit_tick import UnitOutcome, accrual_flags, status_line
from services.monitor_cache import UnitCache
from services.ports import TrackChange


def changed_agents(cache: UnitCache, states: Mapping[str, AgentState], loaded: Mapping[str, AgentTrack] | None,
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


def remember_inputs(cache: UnitCache, states: Mapping[str, AgentState], tracks: Mapping[str, AgentTrack],
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
        remember_evaluated(cache, outcome)
    cache.seen_exceptions = exceptions


def remember_evaluated(cache: UnitCache, outcome: UnitOutcome) -> None:
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


def accrual_changes(cache: UnitCache, day: date) -> dict[str, str]:
    """The agents whose accrual flags the tick commit sends: those that may have changed, or (a new
    day, a new owner, a failed commit) every agent's, so the store's open segments match again."""
    out, scheduled = cache.out_agents, cache.scheduled_agents
    agents: Collection[str] = cache.flag_dirty
    if cache.accrual_day != day:
        agents = {*cache.roster.agents, *out, *scheduled}
    cache.flag_dirty = set()
    return {a: accrual_flags(a in scheduled, a in out) for a in agents}


def remember_commit(cache: UnitCache, outcome: UnitOutcome, before: Mapping[str, AgentTrack],
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


def due_changes(cache: UnitCache, dues: Mapping[str, datetime | None]) -> dict[str, datetime | None]:
    """Only the due instants that differ from what this replica last wrote go into the commit."""
    written = cache.written_due
    changes: dict[str, datetime | None] = {}
    for agent_id, when in dues.items():
        if agent_id not in written or written[agent_id] != when:
            changes[agent_id] = written[agent_id] = when
            if when is not None and (cache.due_floor is None or when < cache.due_floor):
                cache.due_floor = when
    return changes


def track_changes(outcome: UnitOutcome, tracks: Mapping[str, AgentTrack]) -> list[TrackChange]:
    changes = []
    for agent_id, track in outcome.changed.items():
        before = tracks.get(agent_id)
        changes.append(TrackChange(agent_id, before.version if before else 0, track))
    return changes


def status_changes(cache: UnitCache, outcome: UnitOutcome) -> dict[str, str]:
    """Only the status lines that differ from what this replica last wrote go into the commit."""
    changes: dict[str, str] = {}
    written = cache.written_status
    for agent_id, evaluation in outcome.evaluations.items():
        line = status_line(evaluation)
        if written.get(agent_id) != line:
            changes[agent_id] = written[agent_id] = line
    return changes


def full_sweep_due(cache: UnitCache, now: datetime, refreshed: bool, every: timedelta) -> bool:
    """A tick compares every agent after a schedule refresh and every ``every`` (0: always)."""
    if refreshed or cache.last_full_at is None or every <= timedelta(0) or now - cache.last_full_at >= every:
        cache.last_full_at = now
        return True
    return False


def elapsed(cache: UnitCache, now: datetime, tick: timedelta) -> float:
    """The seconds a tick accrues: since the last tick, at most two ticks' worth (a gap is not guessed)."""
    interval = tick.total_seconds()
    if cache.last_tick_at is None:
        return interval
    return max(0.0, min((now - cache.last_tick_at).total_seconds(), 2 * interval))
