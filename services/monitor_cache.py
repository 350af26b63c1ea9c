"""What the monitor holds in memory per unit between ticks, and what a tick reports."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from services.domain.escalation import AgentTrack, IncidentEvent
from services.domain.model import AgentSchedule, AgentState, ExceptionWindow, Roster


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

