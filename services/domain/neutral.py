"""Neutral windows planned ahead (system maintenance, a team event): pure rules.

A neutral window covers one team or a whole management unit for ``[start, end)``. Inside it the
agents it covers are treated as if an exception had been approved for each of them: no incident
opens, and an open one is excused. The monitor feeds them in with the WFM's approved exceptions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.domain.model import Agent, ExceptionWindow

#: The longest window one command may plan (a typo like 14:00-14:00 next week should not go unnoticed).
MAX_LENGTH = timedelta(days=7)
MAX_REASON = 200
#: How long a window is kept (and listed as "ended") after it ends.
KEEP_AFTER_END = timedelta(days=1)

_RANGE = re.compile(
    r"(?:(?P<day>\d{4}-\d{2}-\d{2})\s+)?(?P<start>\d{1,2}:\d{2})\s*-\s*(?:(?P<day2>\d{4}-\d{2}-\d{2})\s+)?"
    r"(?P<end>\d{1,2}:\d{2})")


class NeutralInputError(ValueError):
    """Input the user can fix; the message says how."""


@dataclass(frozen=True, slots=True)
class NeutralWindow:
    id: str
    mu_id: str
    team_id: str | None  # None: the whole unit
    scope_name: str  # the team's or unit's name, as shown
    start: datetime
    end: datetime
    reason: str
    created_by: str
    created_at: datetime
    cancelled_by: str | None = None
    cancelled_at: datetime | None = None

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None

    def covers_agent(self, agent: Agent) -> bool:
        return agent.mu_id == self.mu_id and (self.team_id is None or agent.team_id == self.team_id)

    def active(self, now: datetime) -> bool:
        return not self.cancelled and self.start <= now < self.end

    def upcoming_or_active(self, now: datetime) -> bool:
        return not self.cancelled and now < self.end

    def cancel(self, by: str, at: datetime) -> NeutralWindow:
        return replace(self, cancelled_by=by, cancelled_at=at)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def split_command(text: str) -> tuple[str, str, str]:
    """``<team|unit> [YYYY-MM-DD ]HH:MM-[YYYY-MM-DD ]HH:MM <reason>`` -> (scope, time range, reason)."""
    match = _RANGE.search(text)
    if match is None:
        raise NeutralInputError("I need a time range like `14:00-15:30` (or `2026-12-02 14:00-15:30`), "
                                "after the team or unit and before the reason")
    scope, reason = text[: match.start()].strip(), text[match.end():].strip()
    if not scope:
        raise NeutralInputError("Which team or unit? Write it before the time range")
    if not reason:
        raise NeutralInputError("Say why after the time range, e.g. `system maintenance`")
    return scope, match.group(0), check_reason(reason)


def parse_range(text: str, now: datetime, time_zone: str = "UTC") -> tuple[datetime, datetime]:
    """A time range of :func:`split_command` in ``time_zone``. Without a date the window is today's (in
    that zone); one whose end is before its start is refused rather than guessed to run past midnight."""
    match = _RANGE.fullmatch(text.strip())
    if match is None:
        raise NeutralInputError(f"{text} is not a time range like 14:00-15:30")
    tz = zone(time_zone)
    first_day = _day(match.group("day"), now.astimezone(tz).date())
    start = _at(first_day, match.group("start"), tz)
    end = _at(_day(match.group("day2"), first_day), match.group("end"), tz)
    check_window(start, end, now)
    return start, end


def window_from_parts(day: date, start: str, end: str, now: datetime, time_zone: str) -> tuple[datetime, datetime]:
    """The App Home modal's date and two times, in the unit's time zone."""
    tz = zone(time_zone)
    first, last = _at(day, start, tz), _at(day, end, tz)
    check_window(first, last, now)
    return first, last


def check_window(start: datetime, end: datetime, now: datetime) -> None:
    if end <= start:
        raise NeutralInputError(f"The window ends ({end:%Y-%m-%d %H:%M}) before it starts "
                                f"({start:%Y-%m-%d %H:%M}); for a window past midnight give both dates")
    if end <= now:
        raise NeutralInputError(f"That window ended already ({end:%Y-%m-%d %H:%M}); plan one that is still ahead")
    if end - start > MAX_LENGTH:
        raise NeutralInputError("A neutral window may last at most 7 days")


def check_reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise NeutralInputError("Say why, e.g. `system maintenance`")
    if len(reason) > MAX_REASON:
        raise NeutralInputError(f"Keep the reason under {MAX_REASON} characters")
    return reason


def _day(text: str | None, default: date) -> date:
    if text is None:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise NeutralInputError(f"{text} is not a date (YYYY-MM-DD)") from None


def _at(day: date, hhmm: str, tz: ZoneInfo) -> datetime:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    if hours > 23 or minutes > 59:
        raise NeutralInputError(f"{hhmm} is not a time of day (00:00-23:59)")
    return datetime.combine(day, time(hours, minutes), tzinfo=tz)


def exceptions_for(windows: Iterable[NeutralWindow], agents: Mapping[str, Agent],
                   now: datetime) -> dict[str, list[ExceptionWindow]]:
    """Each covered agent's exception windows from the neutral windows not cancelled. Windows that ended
    in the last day stay in: an agent still out when one ends is out since its end, not since before it."""
    live = [w for w in windows if not w.cancelled and now < w.end + KEEP_AFTER_END]
    out: dict[str, list[ExceptionWindow]] = {}
    if not live:
        return out
    for agent in agents.values():
        for window in live:
            if window.covers_agent(agent):
                out.setdefault(agent.id, []).append(ExceptionWindow(
                    agent.id, window.start, window.end, reason=f"neutral window: {window.reason}",
                    approved_by=window.created_by, source="neutral"))
    return out


def visible(windows: Sequence[NeutralWindow], now: datetime) -> list[NeutralWindow]:
    """What App Home and ``/adherence`` list: not cancelled, not ended, soonest first."""
    return sorted((w for w in windows if w.upcoming_or_active(now)), key=lambda w: (w.start, w.id))
