"""What the listeners need, typed by the use cases' shapes (the real ones, or stand-ins in tests)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.domain.escalation import Incident
from services.incident_actions import Actor
from services.ports import Clock, IncidentView
from services.queries import TeamRef, TeamSnapshot


class IncidentActionsPort(Protocol):
    async def may_act(self, mu_id: str, agent_id: str, slack_user_id: str) -> None: ...

    async def check_open(self, mu_id: str, agent_id: str, incident_id: str, slack_user_id: str) -> None: ...

    async def acknowledge(self, mu_id: str, agent_id: str, incident_id: str, actor: Actor) -> Incident: ...

    async def escalate(self, mu_id: str, agent_id: str, incident_id: str, actor: Actor, *,
                       shown: int | None) -> Incident: ...

    async def approve_exception(self, mu_id: str, agent_id: str, incident_id: str, actor: Actor, *,
                                until: datetime, reason_code: str, note: str = "") -> Incident: ...

    async def mark_outage(self, mu_id: str, storm_id: str, actor: Actor, *, marked: bool | None = None) -> int: ...


class AdherenceQueriesPort(Protocol):
    async def teams_for(self, slack_user_id: str) -> list[TeamRef]: ...

    async def team_snapshot(self, team_query: str, slack_user_id: str) -> TeamSnapshot: ...

    async def open_incidents_for(self, slack_user_id: str) -> list[IncidentView]: ...


@dataclass(frozen=True)
class HandlerDeps:
    actions: IncidentActionsPort
    queries: AdherenceQueriesPort
    clock: Clock
    #: Passed to ``handlers.booking.register(app, booking)`` when that module is installed.
    booking: Any = None
    #: ``handlers.surplus.SurplusPort`` when training in surplus is wired (buttons, /adherence surplus, App Home).
    surplus: Any = None
    #: Called after every successful action, e.g. to wake the outbox dispatcher so the card updates now.
    after_action: Callable[[], Awaitable[None]] | None = None

    async def acted(self) -> None:
        if self.after_action is not None:
            await self.after_action()
