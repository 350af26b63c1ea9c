"""Console stand-ins for Slack and email: the same facts, printed for a person at a terminal."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from services.domain.escalation import IncidentEvent
from services.ports import IncidentView, MessageRef, StormView

Printer = Callable[[str], None]


def _facts(view: IncidentView) -> str:
    incident = view.incident
    return (f"{view.agent_name} ({view.team_name}, {view.mu_name}) out {incident.minutes_out(view.now):.0f} min"
            f" since {incident.started_at:%H:%M}: scheduled {incident.category or 'n/a'},"
            f" actual {incident.presence or '?'}/{incident.routing or '?'}")


class ConsoleChat:
    """Prints each card and each in-place update instead of posting to Slack."""

    def __init__(self, printer: Printer = print) -> None:
        self.printer = printer
        self._ts = itertools.count(1)

    async def post_incident_card(self, view: IncidentView) -> MessageRef:
        to = ", ".join(p.name for p in view.supervisors) or "the team supervisor"
        self.printer(f"[chat card → {to}] {_facts(view)}  [Acknowledge] [Approve exception] [Escalate now]")
        return MessageRef("console", f"{next(self._ts)}.000")

    async def update_incident_card(self, ref: MessageRef, view: IncidentView, event: IncidentEvent) -> None:
        incident = view.incident
        if incident.is_closed:
            how = incident.close_reason or incident.status.value
            self.printer(f"[card updated] {view.agent_name}: {incident.status.value} after"
                         f" {incident.minutes_out(view.now):.0f} min ({how})")
        elif event.actor:
            self.printer(f"[card updated] {view.agent_name}: {event.kind.value.replace('_', ' ')} by {event.actor}")
        elif event.tier is not None:
            self.printer(f"[card updated] {view.agent_name}: {event.tier.action.value.replace('_', ' ')} done")

    async def post_storm_card(self, view: StormView) -> MessageRef:
        names = ", ".join(v.agent_name for v in view.incidents)
        self.printer(f"[grouped card → {view.team_name}] {len(view.incidents)} agents out together"
                     f" (possible outage): {names}  [Mark as outage]")
        return MessageRef("console", f"{next(self._ts)}.000")

    async def update_storm_card(self, ref: MessageRef, view: StormView) -> None:
        state = "all back" if view.closed else f"{len(view.incidents)} agents"
        self.printer(f"[grouped card updated] {view.team_name}: {state}")


class ConsoleMailer:
    def __init__(self, printer: Printer = print) -> None:
        self.printer = printer

    async def send_escalation_email(self, view: IncidentView) -> None:
        to = ", ".join(f"{p.name} <{p.email}>" for p in view.ops_managers) or "the ops manager"
        self.printer(f"[email → {to}] Adherence escalation: {_facts(view)}")
