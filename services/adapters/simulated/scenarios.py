"""The scripted misbehaviour: a catalogue of scenarios, placed on chosen agents at fixed times.

Times are minutes after the simulated day start (07:45 by default), all within its first five hours and
spaced so their escalation tiers land at different moments. With two or more units the catalogue is
split between even and odd units, so each unit carries about five scenarios however big it is.
Each scenario gives its agent a fixed plan, so the moment it plays out does not depend on the draw.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from services.adapters.simulated.behaviour import Mode
from services.adapters.simulated.generator import (
    BREAK,
    BREAK_MINUTES,
    MEAL,
    MEETING,
    ON_QUEUE,
    PAID_MINUTES,
    TRAINING,
    AgentDraft,
    UnitDraft,
    without,
)
from services.adapters.simulated.segments import fill, paint
from services.domain.escalation import DEFAULT_POLICY
from services.domain.model import ExceptionWindow, Team

log = logging.getLogger(__name__)


class ScenarioKind(StrEnum):
    LATE_RETURN = "late_return"
    LONG_ABSENCE = "long_absence"
    EARLY_LOGOUT = "early_logout"
    CALL_OVER_BREAK = "call_over_break"
    STAYS_ON_QUEUE = "stays_on_queue"
    OUTAGE = "outage"
    REPUBLISH = "republish"
    EXCUSED_LATE = "excused_late"
    MISSING_STATE = "missing_state"


@dataclass(frozen=True, slots=True)
class Scenario:
    """One scripted deviation. ``start``/``end`` bound the deviation itself (what a monitor would see)."""

    kind: ScenarioKind
    mu_id: str
    team_id: str
    agent_id: str | None  # None when the whole team is involved (outage, republish)
    start: datetime
    end: datetime
    description: str
    expected_tiers: int  # tiers the default 5m/15m/30m policy should fire for each agent involved
    agent_ids: tuple[str, ...] = ()
    marks: Mapping[str, datetime] = field(default_factory=dict, hash=False)  # named instants ("returned")


def tiers_for(minutes: int) -> int:
    """How many default tiers a violation lasting ``minutes`` reaches."""
    return sum(1 for tier in DEFAULT_POLICY.tiers if tier.after < timedelta(minutes=minutes))


class _Place:
    """Helpers shared by the scenario builders: minutes to datetimes, readable clock times."""

    def __init__(self, start: datetime) -> None:
        self.start = start

    def at(self, minute: int) -> datetime:
        return self.start + timedelta(minutes=minute)

    def hhmm(self, minute: int) -> str:
        return self.at(minute).strftime("%H:%M")

    def marks(self, **minutes: int) -> dict[str, datetime]:
        return {name: self.at(m) for name, m in minutes.items()}


SoloBuilder = Callable[[UnitDraft, AgentDraft, _Place], Scenario]
TeamBuilder = Callable[[UnitDraft, Team, _Place], Scenario]


def _day(shift: int, breaks: tuple[int, int], meal: tuple[int, int]) -> tuple[tuple[int, int, int], ...]:
    """A full 8 h shift with the two breaks and the meal at the given minutes."""
    blocks = [(b, b + BREAK_MINUTES, BREAK) for b in breaks] + [(meal[0], meal[0] + meal[1], MEAL)]
    return fill(shift, shift + PAID_MINUTES + meal[1], blocks, ON_QUEUE)


def _solo(kind: ScenarioKind, unit: UnitDraft, draft: AgentDraft, p: _Place, start: int, end: int,
          description: str, tiers: int, **marks: int) -> Scenario:
    agent = draft.agent
    return Scenario(kind, unit.mu.id, agent.team_id, agent.id, p.at(start), p.at(end), description, tiers,
                    (agent.id,), p.marks(**marks))


def _late_return(minutes: int, break_at: int, meal: tuple[int, int]) -> SoloBuilder:
    def build(unit: UnitDraft, draft: AgentDraft, p: _Place) -> Scenario:
        draft.plan = _day(15, (break_at, 405), meal)
        back = break_at + 15
        draft.paints.append((back, back + minutes, Mode.BREAK))
        return _solo(ScenarioKind.LATE_RETURN, unit, draft, p, back, back + minutes,
                     f"{draft.agent.name} comes back from the {p.hhmm(break_at)} break {minutes} min late "
                     f"(at {p.hhmm(back + minutes)})", tiers_for(minutes),
                     break_start=break_at, scheduled_return=back, returned=back + minutes)
    return build


def _long_absence(unit: UnitDraft, draft: AgentDraft, p: _Place) -> Scenario:
    draft.plan = _day(15, (180, 420), (270, 30))
    draft.paints.append((105, 140, Mode.AWAY))
    return _solo(ScenarioKind.LONG_ABSENCE, unit, draft, p, 105, 140,
                 f"{draft.agent.name} goes Away during on-queue work from {p.hhmm(105)} to {p.hhmm(140)}",
                 tiers_for(35), away=105, back=140)


def _early_logout(unit: UnitDraft, draft: AgentDraft, p: _Place) -> Scenario:
    draft.plan = fill(15, 255, [(135, 150, BREAK)], ON_QUEUE)  # a 4 h part-time shift, 08:00-12:00 by default
    draft.paints.append((230, 255, Mode.OFFLINE))
    return _solo(ScenarioKind.EARLY_LOGOUT, unit, draft, p, 230, 255,
                 f"{draft.agent.name} logs off at {p.hhmm(230)}, 25 min before the {p.hhmm(255)} shift end",
                 tiers_for(25), logged_out=230, shift_end=255)


def _call_over_break(unit: UnitDraft, draft: AgentDraft, p: _Place) -> Scenario:
    draft.plan = _day(15, (180, 390), (300, 30))
    draft.paints.append((177, 184, Mode.INTERACTING))
    return _solo(ScenarioKind.CALL_OVER_BREAK, unit, draft, p, 180, 184,
                 f"{draft.agent.name} is still on a call 4 min into the {p.hhmm(180)} break (forgiven), "
                 f"then takes the break and is back on time at {p.hhmm(195)}", 0,
                 call_start=177, break_start=180, call_end=184, break_end=195)


def _stays_on_queue(unit: UnitDraft, draft: AgentDraft, p: _Place) -> Scenario:
    draft.plan = _day(45, (210, 435), (300, 30))
    draft.paints.append((210, 225, Mode.ON_QUEUE))
    return _solo(ScenarioKind.STAYS_ON_QUEUE, unit, draft, p, 210, 225,
                 f"{draft.agent.name} keeps taking calls through the {p.hhmm(210)} break "
                 "(positive deviation: recorded, never escalated)", 0, break_start=210, break_end=225)


def _excused_late(unit: UnitDraft, draft: AgentDraft, p: _Place) -> Scenario:
    draft.plan = _day(15, (150, 405), (255, 30))
    draft.paints.append((285, 297, Mode.MEAL))
    team = next(t for t in unit.teams if t.id == draft.agent.team_id)
    approver = team.supervisor_ids[0] if team.supervisor_ids else ""
    unit.exceptions.append(ExceptionWindow(draft.agent.id, p.at(285), p.at(300),
                                           "Late back from lunch: lift out of order (explanation approved)",
                                           approver, "wfm"))
    return _solo(ScenarioKind.EXCUSED_LATE, unit, draft, p, 285, 297,
                 f"{draft.agent.name} is back from the {p.hhmm(255)} meal 12 min late, covered by an "
                 f"approved adherence explanation ({p.hhmm(285)}-{p.hhmm(300)})", 0,
                 meal_start=255, scheduled_return=285, returned=297)


def _missing_state(unit: UnitDraft, draft: AgentDraft, p: _Place) -> Scenario:
    unit.silent.add(draft.agent.id)
    return Scenario(ScenarioKind.MISSING_STATE, unit.mu.id, draft.agent.team_id, draft.agent.id, p.at(0),
                    p.at(24 * 60), f"no presence is ever reported for {draft.agent.name} (a data problem: "
                    "UNKNOWN, never an alert)", 0, (draft.agent.id,))


def _outage(unit: UnitDraft, team: Team, p: _Place) -> Scenario:
    drafts = unit.members[team.id]
    for draft in drafts:  # every member has started and none is on a break or in a huddle at 09:15
        draft.plan = without(draft.plan, MEETING)
        draft.paints.append((90, 98, Mode.OFFLINE))
    return Scenario(ScenarioKind.OUTAGE, unit.mu.id, team.id, None, p.at(90), p.at(98),
                    f"the whole {team.name} team drops OFFLINE from {p.hhmm(90)} to {p.hhmm(98)} (a short "
                    "outage: one grouped card, not one per agent)", tiers_for(8),
                    tuple(d.agent.id for d in drafts))


def _republish(unit: UnitDraft, team: Team, p: _Place) -> Scenario:
    drafts = unit.members[team.id]
    for draft in drafts:  # breaks come 2 h into a shift or later, so the training never cuts one
        draft.new_plan = tuple(paint(draft.plan, max(75, draft.plan[0][0]), 135, TRAINING))
    unit.republish_minute = 55
    return Scenario(ScenarioKind.REPUBLISH, unit.mu.id, team.id, None, p.at(55), p.at(135),
                    f"WFM republishes the {team.name} schedule at {p.hhmm(55)}, adding Training "
                    f"{p.hhmm(75)}-{p.hhmm(135)}; the team follows the new schedule", 0,
                    tuple(d.agent.id for d in drafts),
                    p.marks(published=55, training_start=75, training_end=135))


@dataclass(frozen=True, slots=True)
class _Entry:
    """A catalogue entry: played by one agent (``solo``) or by a whole team (``team``)."""

    solo: SoloBuilder | None = None
    team: TeamBuilder | None = None


CATALOGUE: tuple[_Entry, ...] = (
    _Entry(solo=_late_return(7, 135, (255, 30))),
    _Entry(solo=_late_return(18, 165, (285, 30))),
    _Entry(solo=_long_absence),
    _Entry(solo=_early_logout),
    _Entry(solo=_call_over_break),
    _Entry(solo=_stays_on_queue),
    _Entry(team=_outage),
    _Entry(team=_republish),
    _Entry(solo=_excused_late),
    _Entry(solo=_missing_state),
)


def place(units: list[UnitDraft], start: datetime, seed: int) -> list[Scenario]:
    """Apply the catalogue to ``units`` (mutating their drafts) and return what was placed, by time."""
    p = _Place(start)
    groups = min(2, len(units))
    placed: list[Scenario] = []
    for index, unit in enumerate(units):
        entries = [e for k, e in enumerate(CATALOGUE) if k % groups == index % groups]
        team_builders = [e.team for e in entries if e.team is not None]
        solo_builders = [e.solo for e in entries if e.solo is not None]
        # Whole-team scenarios take teams from the back; at least one team stays for the solo ones.
        reserved = min(len(team_builders), len(unit.teams) - 1)
        solo_teams, team_targets = unit.teams[: len(unit.teams) - reserved], unit.teams[::-1][:reserved]
        free = [d for team in solo_teams for d in unit.members[team.id]]
        rng = random.Random(f"sim:{seed}:scenarios:{unit.mu.id}")
        chosen = rng.sample(free, min(len(free), len(solo_builders)))
        for solo, draft in zip(solo_builders, chosen, strict=False):
            draft.legacy = False  # scripted agents report the modern ON_QUEUE style, as the descriptions say
            placed.append(solo(unit, draft, p))
        for team_builder, team in zip(team_builders, team_targets, strict=False):
            placed.append(team_builder(unit, team, p))
        skipped = len(entries) - len(chosen) - len(team_targets)
        if skipped > 0:
            log.info("simulator: %s is too small for %d scripted scenario(s); skipped", unit.mu.id, skipped)
    placed.sort(key=lambda s: (s.start, s.mu_id, s.kind))
    return placed
