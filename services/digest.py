"""The weekly digest: per team, adherence %, incidents, median time to acknowledge, tiers reached,
exceptions approved by each supervisor, agents who explained before the card.

Figures come from the unit's audit stream (``services.domain.digest``, 14 days kept) and adherence %
from the out-of-adherence seconds per day against the scheduled time of the same days. Out-seconds
are kept only two days (``out:<day>`` in Redis), so adherence % covers the days still kept; the
digest says which (``UnitDigest.coverage``).

:meth:`WeeklyDigests.send_due` runs every few minutes on every replica: once a unit's configured
day and time has passed in its time zone, each of its ops managers gets one digest per channel
(Slack DM, email), claimed in the ledger first so a second replica or a rerun sends nothing again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from services.config import WEEKDAYS, DigestConfig
from services.domain.digest import TeamFigures, adherence_pct, last_due, team_figures
from services.domain.model import Person, Roster
from services.domain.neutral import zone
from services.ports import AuditHistory, Clock, DigestLedger, StatusBoard, WorkforceSource

log = logging.getLogger(__name__)

WEEK = timedelta(days=7)
#: A digest not sent within this long after its time (the bot was down) waits for the next week.
GRACE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class TeamDigest:
    team_id: str
    team_name: str
    agents: int
    figures: TeamFigures
    adherence_pct: float | None
    explained_names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UnitDigest:
    mu_id: str
    mu_name: str
    start: datetime
    end: datetime
    teams: tuple[TeamDigest, ...]
    adherence_days: tuple[date, ...]  # days whose out-of-adherence seconds were still kept
    period_days: int

    @property
    def coverage(self) -> str:
        if not self.adherence_days:
            return "adherence %: no out-of-adherence data kept for this period (kept 2 days)"
        days = ", ".join(d.isoformat() for d in self.adherence_days)
        return (f"adherence % from {len(self.adherence_days)} of {self.period_days} days ({days}); "
                "out-of-adherence seconds are kept 2 days")


class DigestNotifier(Protocol):
    channel: str  # "slack", "email": each channel is claimed and sent on its own

    async def send_digest(self, person: Person, digest: UnitDigest) -> None: ...


class WeeklyDigests:
    def __init__(self, *, audit: AuditHistory, board: StatusBoard, source: WorkforceSource,
                 rosters: Callable[[], Iterable[Roster]], clock: Clock, config: DigestConfig,
                 ledger: DigestLedger | None = None, notifiers: Sequence[DigestNotifier] = ()) -> None:
        self.audit, self.board, self.source, self.rosters, self.clock = audit, board, source, rosters, clock
        self.config, self.ledger, self.notifiers = config, ledger, notifiers

    async def build(self, roster: Roster, start: datetime, end: datetime) -> UnitDigest:
        mu = roster.mu
        # The stream's ids are write times; reading from a day before the period is enough to find it.
        entries = await self.audit.audit_since(mu.id, min(start, self.clock.now() - WEEK) - timedelta(days=1))
        figures = team_figures(entries, start, end)
        out_by_team, scheduled_by_team, days = await self._adherence(roster, start, end)
        teams = []
        for team in sorted(roster.teams.values(), key=lambda t: t.name):
            agents = [a for a in roster.agents.values() if a.team_id == team.id]
            found = figures.get(team.id, TeamFigures(team.id))
            teams.append(TeamDigest(
                team_id=team.id, team_name=team.name, agents=len(agents), figures=found,
                adherence_pct=adherence_pct(out_by_team.get(team.id, 0.0), scheduled_by_team.get(team.id, 0.0)),
                explained_names=tuple(roster.agents[a].name if a in roster.agents else a
                                      for a in found.explained_before_card)))
        return UnitDigest(mu.id, mu.name, start, end, tuple(teams), tuple(days), max(1, (end - start).days))

    async def build_all(self, since: timedelta) -> list[UnitDigest]:
        end = self.clock.now()
        return [await self.build(roster, end - since, end) for roster in self.rosters()]

    async def send_due(self) -> int:
        """Send every digest whose time has come and that no replica sent yet; returns how many were sent."""
        if not self.config.enabled or self.ledger is None:
            return 0
        now, sent = self.clock.now(), 0
        weekday = WEEKDAYS.index(self.config.day)
        for roster in self.rosters():
            moment = last_due(now, weekday, self.config.time, zone(roster.mu.time_zone))
            if now - moment > GRACE:
                continue
            week = moment.date().isoformat()
            digest: UnitDigest | None = None
            for person in roster.ops_managers():
                for notifier in self.notifiers:
                    if not await self.ledger.claim_digest(roster.mu.id, week, person.id, notifier.channel):
                        continue
                    digest = digest or await self.build(roster, moment - WEEK, moment)
                    try:
                        await notifier.send_digest(person, digest)
                    except Exception:
                        await self.ledger.release_digest(roster.mu.id, week, person.id, notifier.channel)
                        log.warning("weekly digest of %s to %s by %s failed; retried at the next run",
                                    roster.mu.id, person.id, notifier.channel, exc_info=True)
                        continue
                    sent += 1
                    log.info("weekly digest of %s (week of %s) sent to %s by %s", roster.mu.id, week, person.id,
                             notifier.channel, extra={"mu_id": roster.mu.id})
        return sent

    async def _adherence(self, roster: Roster, start: datetime,
                         end: datetime) -> tuple[dict[str, float], dict[str, float], list[date]]:
        """Out and scheduled seconds per team over whole (UTC) days of the period whose out-seconds are kept."""
        out_by_team: dict[str, float] = {}
        scheduled_by_team: dict[str, float] = {}
        days: list[date] = []
        now = self.clock.now()
        day = start.astimezone(UTC).date()
        while datetime.combine(day, time(), tzinfo=UTC) < end:
            out = await self.board.out_seconds(roster.mu.id, day)
            if out:
                days.append(day)
                begin = datetime.combine(day, time(), tzinfo=UTC)
                until = min(begin + timedelta(days=1), now)
                schedules = await self.source.schedules(roster.mu.id, begin, until)
                for agent in roster.agents.values():
                    team = agent.team_id
                    out_by_team[team] = out_by_team.get(team, 0.0) + out.get(agent.id, 0.0)
                    schedule = schedules.get(agent.id)
                    if schedule is not None:
                        scheduled_by_team[team] = (scheduled_by_team.get(team, 0.0)
                                                   + schedule.scheduled_seconds_between(begin, until))
            day += timedelta(days=1)
        return out_by_team, scheduled_by_team, days


def render_text(digest: UnitDigest) -> str:
    """Plain aligned text: the terminal (``python -m bot digest``) and the email body."""
    lines = [f"Weekly adherence digest: {digest.mu_name} ({digest.mu_id}), "
             f"{digest.start:%Y-%m-%d %H:%M} to {digest.end:%Y-%m-%d %H:%M} UTC",
             f"  {'team':<24} {'agents':>6} {'adherence':>9} {'incidents':>9} {'ack med':>8} {'acked':>5}  tiers"]
    for team in digest.teams:
        f = team.figures
        pct = "n/a" if team.adherence_pct is None else f"{team.adherence_pct:.1f}%"
        ack = "n/a" if f.median_ack_minutes is None else f"{f.median_ack_minutes:.1f}m"
        tiers = ", ".join(f"{k} {v}" for k, v in f.tiers.items()) or "none"
        lines.append(f"  {team.team_name[:24]:<24} {team.agents:>6} {pct:>9} {f.incidents:>9} {ack:>8} "
                     f"{f.acknowledged:>5}  {tiers}")
    for team in digest.teams:
        f = team.figures
        if f.approvals:
            who = ", ".join(f"{name} {count}" for name, count in f.approvals.items())
            lines.append(f"  {team.team_name}: exceptions approved by {who}")
        if team.explained_names:
            lines.append(f"  {team.team_name}: explained before the card: {', '.join(team.explained_names)}")
    lines.append(f"  {digest.coverage}")
    lines.append("  ack med: median minutes from the supervisor's card to its acknowledgement")
    return "\n".join(lines)
