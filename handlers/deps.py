"""What the listeners need, typed by the use cases' shapes (the real ones, or stand-ins in tests)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from services.domain.escalation import Incident, ReplyKind
from services.domain.neutral import NeutralWindow
from services.incident_actions import Actor
from services.neutral import ListedWindow, Scope
from services.ports import Clock, IncidentView
from services.queries import TeamRef, TeamSnapshot


class IncidentActionsPort(Protocol):
    async def may_act(self, mu_id: str, agent_id: str, slack_user_id: str) -> None: ...

    async def check_open(self, mu_id: str, agent_id: str, incident_id: str, slack_user_id: str) -> None: ...

    async def acknowledge(self, mu_id: str, agent_id: str, incident_id: str, actor: Actor, *,
                          shown_acks: int | None = None) -> Incident: ...

    async def unacknowledge(self, mu_id: str, agent_id: str, incident_id: str, actor: Actor, *,
                            shown_acks: int | None) -> Incident: ...

    async def snooze(self, mu_id: str, agent_id: str, incident_id: str, actor: Actor, *, choice: str,
                     shown: int | None) -> Incident: ...

    async def unsnooze(self, mu_id: str, agent_id: str, incident_id: str, actor: Actor, *,
                       shown: int | None) -> Incident: ...

    def explanation_reasons(self, mu_id: str) -> list[str]: ...

    async def check_agent(self, mu_id: str, agent_id: str, incident_id: str, slack_user_id: str) -> None: ...

    async def agent_reply(self, mu_id: str, agent_id: str, incident_id: str, actor: Actor, *, kind: ReplyKind,
                          shown: int | None, reason_code: str | None = None, note: str = "") -> Incident: ...

    async def approve_explanation(self, mu_id: str, agent_id: str, incident_id: str, actor: Actor, *,
                                  shown: int | None) -> Incident: ...

    async def acknowledge_all(self, mu_id: str, storm_id: str, actor: Actor) -> int: ...

    async def escalate_all(self, mu_id: str, storm_id: str, actor: Actor, *, shown: int | None) -> int: ...

    async def escalate(self, mu_id: str, agent_id: str, incident_id: str, actor: Actor, *,
                       shown: int | None) -> Incident: ...

    async def approve_exception(self, mu_id: str, agent_id: str, incident_id: str, actor: Actor, *,
                                until: datetime, reason_code: str, note: str = "") -> Incident: ...

    async def mark_outage(self, mu_id: str, storm_id: str, actor: Actor, *, marked: bool | None = None) -> int: ...


class AdherenceQueriesPort(Protocol):
    async def teams_for(self, slack_user_id: str) -> list[TeamRef]: ...

    async def team_snapshot(self, team_query: str, slack_user_id: str) -> TeamSnapshot: ...

    async def open_incidents_for(self, slack_user_id: str) -> list[IncidentView]: ...


class NeutralDeskPort(Protocol):
    async def plan_from_text(self, text: str, actor: Actor) -> NeutralWindow: ...

    async def plan(self, scope_key: str, day: date, start: str, end: str, reason: str,
                   actor: Actor) -> NeutralWindow: ...

    async def cancel(self, mu_id: str, window_id: str, actor: Actor) -> NeutralWindow: ...

    async def scopes_for(self, slack_user_id: str) -> list[Scope]: ...

    async def listed_for(self, slack_user_id: str) -> list[ListedWindow]: ...

    async def for_team(self, mu_id: str, team_id: str) -> list[NeutralWindow]: ...


@dataclass(frozen=True)
class HandlerDeps:
    actions: IncidentActionsPort
    queries: AdherenceQueriesPort
    clock: Clock
    #: ``handlers.booking.BookingHandlerDeps``: booking's listeners are registered (``handlers.app.register_booking``).
    booking: Any = None
    #: ``handlers.surplus.SurplusPort`` when training in surplus is wired (buttons, /adherence surplus, App Home).
    surplus: Any = None
    #: Called after every successful action, e.g. to wake the outbox dispatcher so the card updates now.
    after_action: Callable[[], Awaitable[None]] | None = None
    #: Neutral windows (``/adherence neutral``, App Home); None: not wired, the command says so.
    neutral: NeutralDeskPort | None = None

    async def acted(self) -> None:
        if self.after_action is not None:
            await self.after_action()
