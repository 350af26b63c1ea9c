"""What the monitor reads for a unit's evaluation: its schedules (refreshed when due, kept through a
WFM outage while they still cover now), its approved exceptions and neutral windows, and the pure
tick's inputs with the unit's rules and policy (built once)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from services.config import OrgConfig
from services.domain.escalation import AgentTrack, EscalationPolicy
from services.domain.model import Agent, AgentState, ExceptionWindow
from services.domain.neutral import exceptions_for
from services.domain.rules import RuleTable
from services.domain.unit_tick import UnitInputs
from services.monitor_cache import UnitCache
from services.ports import NeutralWindows, WorkforceSource
from services.routing import apply_org_routing

log = logging.getLogger(__name__)

SCHEDULE_LOOKBEHIND = timedelta(hours=12)
SCHEDULE_LOOKAHEAD = timedelta(hours=24)
SCHEDULE_RETRY = timedelta(minutes=1)  # after a failed refresh, keep the cached schedules this long


class UnitReads:
    def __init__(self, source: WorkforceSource, config: OrgConfig, neutral: NeutralWindows | None) -> None:
        self.source, self.config = source, config
        self.neutral = neutral  # neutral windows planned ahead count as exceptions of the agents they cover
        self._rule_tables: dict[str, RuleTable] = {}
        self._policies: dict[str, EscalationPolicy] = {}

    def inputs(self, cache: UnitCache, states: Mapping[str, AgentState], tracks: Mapping[str, AgentTrack],
                exceptions: Mapping[str, Sequence[ExceptionWindow]], *, agents: Mapping[str, Agent] | None = None,
                storms: bool = True) -> UnitInputs:
        mu_id = cache.roster.mu.id
        return UnitInputs(
            mu_id=mu_id,
            agents=cache.roster.agents if agents is None else agents,
            schedules=cache.schedules,
            states=states,
            tracks=tracks,
            rules=self.rules(mu_id),
            policy=self.policy(mu_id),
            stale_after=self.config.monitor.stale_after,
            exceptions=exceptions,
            storm=self.config.storm.to_policy() if storms else None,
            team_sizes=cache.team_sizes(),
        )

    def policy(self, mu_id: str) -> EscalationPolicy:
        """The unit's policy, built once (the config does not change while running)."""
        if mu_id not in self._policies:
            self._policies[mu_id] = self.config.policy_for(mu_id)
        return self._policies[mu_id]

    def rules(self, mu_id: str) -> RuleTable:
        if mu_id not in self._rule_tables:
            self._rule_tables[mu_id] = self.config.rules_for(mu_id)
        return self._rule_tables[mu_id]

    async def ensure_schedules(self, cache: UnitCache, now: datetime) -> bool:
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

    async def exceptions(self, cache: UnitCache, now: datetime) -> dict[str, list[ExceptionWindow]]:
        mu_id, lookback = cache.roster.mu.id, self.config.monitor.exception_lookback
        windows = await self.source.approved_exceptions(mu_id, now - lookback, now)
        grouped: dict[str, list[ExceptionWindow]] = defaultdict(list)
        for window in windows:
            # The seed's rule: an exception approved within the last `lookback` still suppresses now.
            grouped[window.agent_id].append(replace(window, end=window.end + lookback))
        if self.neutral is not None:
            planned = exceptions_for(await self.neutral.neutral_windows(mu_id), cache.roster.agents, now)
            for agent_id, windows in planned.items():
                grouped[agent_id].extend(windows)
        return grouped
