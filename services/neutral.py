"""Planning and cancelling neutral windows (``/adherence neutral``, the App Home form).

Only the ops managers of the unit a window covers may plan or cancel it; everyone who sees the
team (its supervisors, the unit's ops managers) sees it listed. The monitor reads the windows back
as exception windows of the agents they cover (``services.domain.neutral.exceptions_for``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from services.domain.escalation import AlreadyDone, Done
from services.domain.model import Person, Roster
from services.domain.neutral import (
    NeutralInputError,
    NeutralWindow,
    check_reason,
    parse_range,
    split_command,
    visible,
    window_from_parts,
)
from services.incident_actions import Actor, NotAllowed
from services.ports import ChatDirectory, Clock, NeutralWindows

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Scope:
    """A team (``team_id`` set) or a whole management unit a window may cover."""

    mu_id: str
    mu_name: str
    team_id: str | None
    name: str
    time_zone: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.mu_name})" if self.team_id else f"{self.name} (whole unit)"

    @property
    def key(self) -> str:
        return f"{self.mu_id}/{self.team_id or ''}"


@dataclass(frozen=True, slots=True)
class ListedWindow:
    window: NeutralWindow
    may_cancel: bool


class UnknownScope(NeutralInputError):
    def __init__(self, query: str, known: Sequence[Scope]) -> None:
        names = ", ".join(s.label for s in known) or "none"
        super().__init__(f"No team or unit matches “{query[:100]}”. Teams and units: {names}")
        self.query, self.known = query, list(known)


class NeutralDesk:
    def __init__(self, *, store: NeutralWindows, rosters: Callable[[], Iterable[Roster]], directory: ChatDirectory,
                 clock: Clock, new_id: Callable[[], str] = lambda: uuid.uuid4().hex[:10]) -> None:
        self.store, self.rosters, self.directory, self.clock, self.new_id = store, rosters, directory, clock, new_id

    # ---- planning ----------------------------------------------------------------------------
    async def plan_from_text(self, text: str, actor: Actor) -> NeutralWindow:
        """``<team|unit> <from>-<to> <reason>``, the times in the unit's time zone."""
        scope_text, range_text, reason = split_command(text)
        scope = self._match(scope_text)
        await self._check_ops(scope.mu_id, actor.slack_user_id, "plan")  # a refusal before any input error
        start, end = parse_range(range_text, self.clock.now(), scope.time_zone)
        return await self._plan(scope, start, end, reason, actor)

    async def plan(self, scope_key: str, day: date, start: str, end: str, reason: str, actor: Actor) -> NeutralWindow:
        """The App Home form: a scope chosen from :meth:`scopes_for`, a date and two ``HH:MM`` times."""
        scope = next((s for s in self.scopes() if s.key == scope_key), None)
        if scope is None:
            raise UnknownScope(scope_key, self.scopes())
        await self._check_ops(scope.mu_id, actor.slack_user_id, "plan")
        first, last = window_from_parts(day, start, end, self.clock.now(), scope.time_zone)
        return await self._plan(scope, first, last, check_reason(reason), actor)

    async def _plan(self, scope: Scope, start: datetime, end: datetime, reason: str, actor: Actor) -> NeutralWindow:
        await self._check_ops(scope.mu_id, actor.slack_user_id, "plan")
        window = NeutralWindow(id=self.new_id(), mu_id=scope.mu_id, team_id=scope.team_id, scope_name=scope.name,
                               start=start, end=end, reason=reason, created_by=actor.name,
                               created_at=self.clock.now())
        await self.store.save_neutral(window)
        log.info("neutral window %s planned for %s by %s: %s to %s (%s)", window.id, scope.label, actor.name,
                 start.isoformat(), end.isoformat(), reason, extra={"mu_id": scope.mu_id})
        return window

    async def cancel(self, mu_id: str, window_id: str, actor: Actor) -> NeutralWindow:
        await self._check_ops(mu_id, actor.slack_user_id, "cancel")
        result = await self.store.cancel_neutral(mu_id, window_id, actor.name, self.clock.now())
        if result is None:
            raise NeutralInputError("That neutral window is gone (it ended more than a day ago)")
        window, now_cancelled = result
        if not now_cancelled:
            raise AlreadyDone(Done("cancelled", window.cancelled_by, window.cancelled_at))
        log.info("neutral window %s cancelled by %s", window_id, actor.name, extra={"mu_id": mu_id})
        return window

    # ---- reading -----------------------------------------------------------------------------
    def scopes(self) -> list[Scope]:
        out: list[Scope] = []
        for roster in self.rosters():
            mu = roster.mu
            out.append(Scope(mu.id, mu.name, None, mu.name, mu.time_zone))
            out += [Scope(mu.id, mu.name, t.id, t.name, mu.time_zone)
                    for t in sorted(roster.teams.values(), key=lambda t: t.name)]
        return out

    async def scopes_for(self, slack_user_id: str) -> list[Scope]:
        """What the caller may plan a window for: the units they are ops manager of, and their teams."""
        mine = {r.mu.id for r in self.rosters() if await self._is_any(r.ops_managers(), slack_user_id)}
        return [s for s in self.scopes() if s.mu_id in mine]

    async def listed_for(self, slack_user_id: str) -> list[ListedWindow]:
        """Windows not ended nor cancelled that the caller sees: every one of the units they manage,
        and those covering a team they supervise (or its whole unit)."""
        now = self.clock.now()
        out: list[ListedWindow] = []
        for roster in self.rosters():
            ops = await self._is_any(roster.ops_managers(), slack_user_id)
            teams = set() if ops else {t.id for t in roster.teams.values()
                                       if await self._is_any(_supervisors(roster, t.supervisor_ids), slack_user_id)}
            if not ops and not teams:
                continue
            for window in visible(await self.store.neutral_windows(roster.mu.id), now):
                if ops or window.team_id is None or window.team_id in teams:
                    out.append(ListedWindow(window, ops))
        return sorted(out, key=lambda item: item.window.start)

    async def for_team(self, mu_id: str, team_id: str) -> list[NeutralWindow]:
        """Active or upcoming windows covering this team (for the ``/adherence team`` snapshot)."""
        now = self.clock.now()
        return [w for w in visible(await self.store.neutral_windows(mu_id), now)
                if w.team_id in (None, team_id)]

    # ---- helpers -----------------------------------------------------------------------------
    def _match(self, query: str) -> Scope:
        wanted = query.strip().lower()
        scopes = self.scopes()
        for hits in ([s for s in scopes if (s.team_id or s.mu_id).lower() == wanted],
                     [s for s in scopes if s.name.lower() == wanted],
                     [s for s in scopes if s.name.lower().startswith(wanted)]):
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise UnknownScope(query, hits)
        raise UnknownScope(query, scopes)

    async def _check_ops(self, mu_id: str, slack_user_id: str, verb: str) -> None:
        roster = next((r for r in self.rosters() if r.mu.id == mu_id), None)
        managers = roster.ops_managers() if roster else []
        if not await self._is_any(managers, slack_user_id):
            names = ", ".join(p.name for p in managers) or "nobody is configured"
            unit = roster.mu.name if roster else mu_id
            raise NotAllowed(f"only the ops managers of {unit} may {verb} its neutral windows ({names})")

    async def _is_any(self, people: Sequence[Person], slack_user_id: str) -> bool:
        for person in people:
            if slack_user_id and await self.directory.user_id_for(person) == slack_user_id:
                return True
        return False


def _supervisors(roster: Roster, ids: Sequence[str]) -> list[Person]:
    return [roster.people[p] for p in ids if p in roster.people]
