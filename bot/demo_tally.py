"""What the demo actually delivered, per team: cards posted, emails sent, coaching booked.

Counted at the ports, not from tier firings: a team that went out together gets one grouped card
for all its incidents, so "cards" and "alerts" differ on purpose.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from services.domain.escalation import IncidentEvent
from services.domain.model import Roster
from services.ports import ChatPort, CoachingPort, CoachingRequest, EmailPort, IncidentView, MessageRef, StormView


class DeliveryTally:
    """Wraps the chat, email and coaching ports the dispatcher uses; counts each delivery by team id."""

    def __init__(self, rosters: Callable[[str], Roster | None]) -> None:
        self.rosters = rosters
        self.cards: Counter[str] = Counter()  # incident cards + grouped (storm) cards posted
        self.emails: Counter[str] = Counter()
        self.coaching: Counter[str] = Counter()

    def chat(self, inner: ChatPort) -> ChatPort:
        return _CountingChat(inner, self.cards)

    def email(self, inner: EmailPort) -> EmailPort:
        return _CountingMailer(inner, self.emails)

    def coaching_port(self, inner: CoachingPort) -> CoachingPort:
        return _CountingCoaching(inner, self.coaching, self.rosters)


class _CountingChat:
    def __init__(self, inner: ChatPort, cards: Counter[str]) -> None:
        self.inner, self.cards = inner, cards

    async def post_incident_card(self, view: IncidentView) -> MessageRef:
        ref = await self.inner.post_incident_card(view)
        self.cards[view.incident.team_id] += 1
        return ref

    async def update_incident_card(self, ref: MessageRef, view: IncidentView, event: IncidentEvent) -> None:
        await self.inner.update_incident_card(ref, view, event)

    async def post_storm_card(self, view: StormView) -> MessageRef:
        ref = await self.inner.post_storm_card(view)
        self.cards[view.team_id] += 1
        return ref

    async def update_storm_card(self, ref: MessageRef, view: StormView) -> None:
        await self.inner.update_storm_card(ref, view)


class _CountingMailer:
    def __init__(self, inner: EmailPort, emails: Counter[str]) -> None:
        self.inner, self.emails = inner, emails

    async def send_escalation_email(self, view: IncidentView) -> None:
        await self.inner.send_escalation_email(view)
        self.emails[view.incident.team_id] += 1


class _CountingCoaching:
    def __init__(self, inner: CoachingPort, booked: Counter[str], rosters: Callable[[str], Roster | None]) -> None:
        self.inner, self.booked, self.rosters = inner, booked, rosters

    async def create_coaching_appointment(self, request: CoachingRequest) -> str:
        appointment = await self.inner.create_coaching_appointment(request)
        roster = self.rosters(request.mu_id)
        agent = roster.agents.get(request.agent_id) if roster else None
        self.booked[agent.team_id if agent else ""] += 1
        return appointment
