"""The simulated contact center: the default WFM + presence source, and a simulated QM system.

It implements :class:`services.ports.WorkforceSource` and :class:`services.ports.CoachingPort`. Time
comes only from the injected clock; what it reports at time ``t`` depends only on (seed, config, t),
plus the mid-day republish callbacks already fired.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

from services.adapters.simulated.catalog import ACTIVITY_CODES, ActivityCode
from services.adapters.simulated.live import LiveStates, state_of
from services.adapters.simulated.overlay import Overlay, overlay_schedule, overlay_timeline
from services.adapters.simulated.qm import CoachingAppointment, SimulatedQM
from services.adapters.simulated.scenarios import Scenario, ScenarioKind
from services.adapters.simulated.world import Unit, World, build_world
from services.config import SimulatorConfig
from services.domain.model import (
    Agent,
    AgentSchedule,
    AgentState,
    ExceptionWindow,
    ManagementUnit,
    Person,
    Roster,
)
from services.ports import Clock, CoachingRequest, ScheduleChanged

log = logging.getLogger(__name__)

DEFAULT_REPORT_INTERVAL = timedelta(minutes=2)
"""How often an unchanged state is re-confirmed (``observed_at``); longer than any on-queue flap."""


class UnknownManagementUnit(LookupError):
    """A management-unit id the simulator did not generate; the message lists the ones it did."""


class SimulatedContactCenter:
    """Build one with :meth:`build`; everything it reports is derived from the seed and the clock."""

    def __init__(self, world: World, clock: Clock,
                 report_interval: timedelta = DEFAULT_REPORT_INTERVAL) -> None:
        every = report_interval.total_seconds()
        if every < 1 or every != int(every):
            raise ValueError(f"report_interval must be a whole number of seconds, got {report_interval}")
        self._world, self._clock = world, clock
        self._every = int(every)
        self._live: dict[str, LiveStates] = {}
        self._callbacks: list[ScheduleChanged] = []
        self._republished: set[str] = set()
        self._where = {agent_id: (unit, i)
                       for unit in world.units.values() for i, agent_id in enumerate(unit.agent_ids)}
        self.qm = SimulatedQM(clock, self._where.__contains__)
        self._base = dict(world.units)  # units as generated; overlays are applied on top
        self._published: dict[str, Overlay] = {}  # activity key -> written activity (on the schedule)
        self._done: dict[str, Overlay] = {}  # activity key -> what the agent does (kept by recall-ignorers)
        self._ignore_recalls: set[str] = set()

    @classmethod
    def build(cls, config: SimulatorConfig, clock: Clock, day: date | None = None, *,
              report_interval: timedelta = DEFAULT_REPORT_INTERVAL) -> SimulatedContactCenter:
        """Generate the organisation for ``day`` (default: the clock's current UTC date)."""
        return cls(build_world(config, day or clock.now().astimezone(UTC).date()), clock, report_interval)

    # --- what tests and the demo read -------------------------------------------------------------

    @property
    def start(self) -> datetime:
        """When the simulated day begins (``simulator.start`` on the simulated day, UTC)."""
        return self._world.start

    @property
    def scenarios(self) -> tuple[Scenario, ...]:
        """Every scripted scenario placed, in order of start."""
        return self._world.scenarios

    def scenarios_of(self, kind: ScenarioKind | str) -> list[Scenario]:
        return [s for s in self._world.scenarios if s.kind == kind]

    def scenario(self, kind: ScenarioKind | str, index: int = 0) -> Scenario:
        """The ``index``-th scenario of ``kind`` by start time; LookupError if the config is too small."""
        found = self.scenarios_of(kind)
        if index >= len(found):
            raise LookupError(f"the simulator placed {len(found)} {kind!s} scenario(s); "
                              "the configuration may be too small")
        return found[index]

    @property
    def people(self) -> Mapping[str, Person]:
        """Supervisors and ops managers of every unit, by id."""
        return self._world.people

    def agent(self, agent_id: str) -> Agent:
        unit, _ = self._locate(agent_id)
        return unit.roster.agents[agent_id]

    @property
    def agent_count(self) -> int:
        return len(self._where)

    @property
    def activity_codes(self) -> tuple[ActivityCode, ...]:
        return ACTIVITY_CODES

    @property
    def coaching_appointments(self) -> tuple[CoachingAppointment, ...]:
        return self.qm.appointments

    def state_at(self, agent_id: str, when: datetime) -> AgentState | None:
        """What ``agent_id`` reports at ``when``, computed afresh (None for the agent that never reports)."""
        unit, index = self._locate(agent_id)
        if agent_id in unit.silent:
            return None
        return state_of(unit, index, when.timestamp(), self._every)[0]

    # --- WorkforceSource --------------------------------------------------------------------------

    async def management_units(self) -> Sequence[ManagementUnit]:
        return [unit.mu for unit in self._world.units.values()]

    async def roster(self, mu_id: str) -> Roster:
        return self._unit(mu_id).roster

    async def schedules(self, mu_id: str, start: datetime, end: datetime) -> Mapping[str, AgentSchedule]:
        """Published schedules of the agents whose shift overlaps ``[start, end)``, as published now."""
        if end <= start:
            raise ValueError(f"schedule range is empty: {start.isoformat()} .. {end.isoformat()}")
        unit = self._unit(mu_id)
        now = self._clock.now()
        self._fire_republishes(now)
        republish = unit.republish
        published = republish.schedules if republish and now >= republish.at else unit.schedules
        lo, hi = start.timestamp(), end.timestamp()
        if lo <= min(unit.shift_starts, default=lo) and hi >= max(unit.shift_ends, default=hi):
            return dict(published)
        return {agent_id: published[agent_id]
                for agent_id, s, e in zip(unit.agent_ids, unit.shift_starts, unit.shift_ends, strict=True)
                if s < hi and e > lo}

    async def live_states(self, mu_id: str) -> Mapping[str, AgentState]:
        unit = self._unit(mu_id)
        now = self._clock.now()
        self._fire_republishes(now)
        live = self._live.get(mu_id)
        if live is None:
            live = self._live[mu_id] = LiveStates(unit, self._every)
        return dict(live.at(now.timestamp()))

    async def approved_exceptions(self, mu_id: str, start: datetime,
                                  end: datetime) -> Sequence[ExceptionWindow]:
        return [w for w in self._unit(mu_id).exceptions if w.start < end and w.end > start]

    def on_schedule_changed(self, callback: ScheduleChanged) -> None:
        self._callbacks.append(callback)

    # --- CoachingPort -----------------------------------------------------------------------------

    async def create_coaching_appointment(self, request: CoachingRequest) -> str:
        return await self.qm.create_coaching_appointment(request)

    # --- the simulated WFM's written activities ----------------------------------------------------

    def apply_activity(self, overlay: Overlay) -> None:
        """Publish ``overlay`` on the agent's schedule; the agent does it. Idempotent on its key."""
        self._published[overlay.key] = overlay
        agent = overlay.agent_id
        if agent in self._ignore_recalls and any(o.agent_id == agent for o in self._done.values()):
            pass  # a recall-ignorer keeps doing what they started
        else:
            self._done[overlay.key] = overlay
        self._rebuild(agent)

    def remove_activity(self, key: str) -> None:
        """Take a written activity off the schedule (and, unless the agent ignores recalls, off their day)."""
        overlay = self._published.pop(key, None)
        if overlay is None:
            return
        if overlay.agent_id not in self._ignore_recalls:
            self._done.pop(key, None)
        self._rebuild(overlay.agent_id)

    def remove_activities(self, prefix: str) -> None:
        for key in [k for k in self._published if k.startswith(prefix)]:
            self.remove_activity(key)

    def ignore_recalls(self, agent_ids: Sequence[str]) -> None:
        """These agents stay in an activity they started even when it is ended early (for tests, demo)."""
        self._ignore_recalls.update(agent_ids)

    def _rebuild(self, agent_id: str) -> None:
        unit, _ = self._locate(agent_id)
        mu_id = unit.mu.id
        base = self._base[mu_id]
        agents = {o.agent_id for o in [*self._published.values(), *self._done.values()]
                  if o.agent_id in base.roster.agents} | {agent_id}
        schedules = dict(base.schedules)
        timelines = list(base.timelines)
        for agent in agents:
            published = [o for o in self._published.values() if o.agent_id == agent]
            schedules[agent] = overlay_schedule(base.schedules[agent], published)
            i = self._where[agent][1]
            timelines[i] = overlay_timeline(base.timelines[i], [o for o in self._done.values() if o.agent_id == agent])
        republish = base.republish
        if republish is not None:
            after = dict(republish.schedules)
            for agent in agents:
                after[agent] = overlay_schedule(republish.schedules[agent],
                                                [o for o in self._published.values() if o.agent_id == agent])
            republish = dataclasses.replace(republish, schedules=after)
        rebuilt = dataclasses.replace(base, schedules=schedules, timelines=tuple(timelines), republish=republish)
        self._world.units[mu_id] = rebuilt
        for i, agent in enumerate(rebuilt.agent_ids):
            self._where[agent] = (rebuilt, i)
        self._live.pop(mu_id, None)  # the live cache is rebuilt from the new timelines at the next read
        for callback in list(self._callbacks):
            try:
                callback(mu_id)
            except Exception:
                log.exception("schedule-changed callback failed for %s", mu_id)

    # --- internals --------------------------------------------------------------------------------

    def _unit(self, mu_id: str) -> Unit:
        unit = self._world.units.get(mu_id)
        if unit is None:
            raise UnknownManagementUnit(f"unknown management unit {mu_id!r}; the simulator has "
                                        + ", ".join(self._world.units))
        return unit

    def _locate(self, agent_id: str) -> tuple[Unit, int]:
        found = self._where.get(agent_id)
        if found is None:
            raise LookupError(f"unknown agent {agent_id!r}")
        return found

    def _fire_republishes(self, now: datetime) -> None:
        """Tell subscribers, once per unit, that a republish time has passed."""
        for mu_id, unit in self._world.units.items():
            if unit.republish is None or mu_id in self._republished or now < unit.republish.at:
                continue
            self._republished.add(mu_id)
            log.info("simulated WFM: schedule of %s republished at %s", mu_id, unit.republish.at.isoformat())
            for callback in list(self._callbacks):
                try:
                    callback(mu_id)
                except Exception:
                    log.exception("schedule-changed callback failed for %s", mu_id)
