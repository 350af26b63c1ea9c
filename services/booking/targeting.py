"""Training targeted from the monitor's own data: "agents of these teams whose adherence over the last
N days is below X %".

Adherence of an agent over the window = 1 - (seconds out of adherence while scheduled) / (scheduled
seconds), summed over the days of the window that have a record (the monitor's tick commit writes
one per unit and day; see ``AdherenceHistory``). The window is the last ``days`` days, today
included. ``parse_target`` checks what was typed (field by field, like ``forms.parse_form``);
``select_agents`` is the pure selection; ``Targeting`` reads the history and runs it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from services.booking.forms import resolve_names
from services.booking.ports import AdherenceHistory, AgentDay
from services.domain.model import Roster
from services.ports import Clock

MAX_DAYS = 35  # the history lasts 35 days (HISTORY_TTL)
DEFAULT_DAYS = 7
SHOWN = 10  # names in the reason recorded on the request
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*$")
#: The form fields of a target (modal block ids), where their errors are shown.
TEAMS, BELOW, DAYS = "target_teams", "target_below", "target_days"


@dataclass(frozen=True, slots=True)
class Target:
    teams: tuple[str, ...]  # team ids
    below: float  # adherence %, selected when strictly below
    days: int


@dataclass(frozen=True, slots=True)
class Candidate:
    agent_id: str
    name: str
    team_id: str
    scheduled: float  # seconds scheduled over the window
    out: float  # seconds out of adherence while scheduled

    @property
    def adherence(self) -> float:
        return 100.0 * (1.0 - min(self.out, self.scheduled) / self.scheduled) if self.scheduled else 100.0


@dataclass(frozen=True, slots=True)
class Selection:
    target: Target
    team_names: tuple[str, ...]
    first_day: date
    last_day: date
    days_with_data: int
    selected: tuple[Candidate, ...]  # below the threshold, lowest adherence first
    others: tuple[Candidate, ...]  # in the teams, with data, at or above the threshold (lowest first)
    without_data: tuple[str, ...]  # agent ids of the teams never scheduled in the window's record

    @property
    def coverage(self) -> str:
        return f"{self.days_with_data} of {self.target.days} days have data"

    @property
    def _span(self) -> str:
        return "today" if self.target.days == 1 else f"the last {self.target.days} days"

    def describe(self) -> str:
        """The target in words: "agents of Billing, Support below 85 % adherence over the last 7 days"."""
        return f"agents of {', '.join(self.team_names)} below {self.target.below:g} % adherence over {self._span}"

    @property
    def problem(self) -> str:
        """Why nothing can be booked for this target ('' when someone is selected)."""
        if not self.days_with_data:
            return (f"No adherence history yet for {', '.join(self.team_names)} from {self.first_day:%d %b} to "
                    f"{self.last_day:%d %b}: the monitor records it as it runs (kept {MAX_DAYS} days)")
        if not self.selected:
            lowest = f"; lowest: {_line(self.others[0])}" if self.others else ""
            return (f"Nobody selected, nothing queued: no agent of {', '.join(self.team_names)} is below "
                    f"{self.target.below:g} % over {self._span} ({self.coverage}{lowest})")
        return ""

    def reason(self) -> str:
        """Recorded on the booking request, so its explanation says why these people were chosen."""
        names = ", ".join(_line(c) for c in self.selected[:SHOWN])
        more = f" and {len(self.selected) - SHOWN} more" if len(self.selected) > SHOWN else ""
        return f"attendees chosen by target: {self.describe()} ({self.coverage}): {names}{more}"


def _line(candidate: Candidate) -> str:
    return f"{candidate.name} {candidate.adherence:.1f} %"


def window(today: date, days: int) -> list[date]:
    """The last ``days`` days, today included, oldest first."""
    return [today - timedelta(days=n) for n in range(days - 1, -1, -1)]


def parse_target(teams: Sequence[str], below: str, days: str, *, known_teams: Mapping[str, str],
                 unit_name: str) -> tuple[Target | None, dict[str, str]]:
    """A target, or ``None`` and one message per invalid field (keys ``TEAMS``, ``BELOW``, ``DAYS``)."""
    errors: dict[str, str] = {}
    ids, problem = resolve_names(list(teams), known_teams, "team", unit_name)
    if problem:
        errors[TEAMS] = problem
    elif not ids:
        listed = ", ".join(known_teams.values()) or "none"
        errors[TEAMS] = f"choose the teams to target (teams in {unit_name}: {listed})"
    threshold: float | None = None
    match = _PERCENT.match(below)
    if not below.strip():
        errors[BELOW] = "give the adherence threshold in %, e.g. 85"
    elif match is None or not 0 <= float(match.group(1)) <= 100:
        errors[BELOW] = f"the threshold is a percentage from 0 to 100 (e.g. 85), not {below.strip()!r}"
    else:
        threshold = float(match.group(1))
    count = DEFAULT_DAYS
    if days.strip():
        if not days.strip().isdigit() or not 1 <= int(days) <= MAX_DAYS:
            errors[DAYS] = f"a whole number of days from 1 to {MAX_DAYS} (the history kept), not {days.strip()!r}"
        else:
            count = int(days)
    if errors or threshold is None:
        return None, errors
    return Target(teams=tuple(ids), below=threshold, days=count), {}


def select_agents(target: Target, roster: Roster, history: Mapping[date, Mapping[str, AgentDay]],
                  days: Sequence[date]) -> Selection:
    """Agents of the target's teams whose adherence over ``days`` (from ``history``) is below the threshold."""
    teams = set(target.teams)
    members = sorted((a for a in roster.agents.values() if a.team_id in teams), key=lambda a: (a.name, a.id))
    totals: dict[str, list[float]] = {}
    with_data = 0
    for day in days:
        record = history.get(day, {})
        seen = False
        for agent in members:
            if agent.id in record:
                scheduled, out = record[agent.id]
                if scheduled > 0:
                    seen = True
                    total = totals.setdefault(agent.id, [0.0, 0.0])
                    total[0] += scheduled
                    total[1] += out
        with_data += seen
    candidates = [Candidate(a.id, a.name, a.team_id, *totals[a.id]) for a in members if a.id in totals]
    candidates.sort(key=lambda c: (c.adherence, c.name))
    return Selection(
        target=target,
        team_names=tuple(roster.teams[t].name if t in roster.teams else t for t in target.teams),
        first_day=days[0], last_day=days[-1], days_with_data=with_data,
        selected=tuple(c for c in candidates if c.adherence < target.below),
        others=tuple(c for c in candidates if c.adherence >= target.below),
        without_data=tuple(a.id for a in members if a.id not in totals),
    )


class Targeting:
    def __init__(self, history: AdherenceHistory, clock: Clock) -> None:
        self.history, self.clock = history, clock

    async def select(self, roster: Roster, target: Target) -> Selection:
        days = window(self.clock.now().date(), target.days)
        record = await self.history.days(roster.mu.id, days)
        return select_agents(target, roster, record, days)
