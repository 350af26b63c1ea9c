"""Delivery ports: what the dispatcher and the actions need to tell people (chat cards, the agent's
nudge, Teams, email, coaching appointments, WFM write-back) and the views they render."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from services.domain.escalation import Incident, IncidentEvent
from services.domain.model import ExceptionWindow, Person


@dataclass(frozen=True, slots=True)
class IncidentView:
    """Everything a card, an email or a coaching request says about an incident."""

    incident: Incident
    agent_name: str
    team_name: str
    mu_name: str
    supervisors: Sequence[Person]
    ops_managers: Sequence[Person]
    now: datetime
    card_link: str | None = None
    team_channel: str | None = None  # post in the team's channel instead of the supervisors' DM
    state_lost_at: datetime | None = None  # Redis lost its state then: this card may repeat an earlier one
    agent: Person | None = None  # the agent as a person (email: their chat user), for the nudge DM


@dataclass(frozen=True, slots=True)
class MessageRef:
    channel: str
    ts: str
    permalink: str | None = None


@dataclass(frozen=True, slots=True)
class CoachingRequest:
    """Tier 3: a coaching appointment, facilitator = supervisor, attendee = agent."""

    idempotency_key: str
    mu_id: str
    agent_id: str
    facilitator_id: str | None
    name: str
    description: str
    start: datetime
    length_minutes: int
    extra: Mapping[str, str] = field(default_factory=dict)
    more_attendees: tuple[str, ...] = ()  # booked meetings and trainings: everyone besides ``agent_id``


@dataclass(frozen=True, slots=True)
class StormView:
    """One grouped card for a team that went out together (an outage)."""

    storm_id: str
    mu_id: str
    mu_name: str
    team_id: str
    team_name: str
    incidents: Sequence[IncidentView]
    supervisors: Sequence[Person]
    now: datetime
    closed: bool = False
    team_channel: str | None = None


class DeliveryError(Exception):
    """An adapter could not deliver (after its own retries). ``retryable`` False: the outbox gives up
    at once (unknown channel, revoked token, nobody to send to) instead of backing off."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class ChatPort(Protocol):
    """Tier 1 and every later update of the same card."""

    async def post_incident_card(self, view: IncidentView) -> MessageRef: ...

    async def update_incident_card(self, ref: MessageRef, view: IncidentView, event: IncidentEvent) -> None: ...

    async def post_storm_card(self, view: StormView) -> MessageRef: ...

    async def update_storm_card(self, ref: MessageRef, view: StormView) -> None: ...


class TeamsPort(Protocol):
    """Tier 1 and its updates as Adaptive Cards in Microsoft Teams, for the teams with a webhook; a webhook
    cannot edit, so each update is a new message."""

    def covers(self, mu_id: str, team_id: str) -> bool: ...

    async def post_incident(self, view: IncidentView, event: IncidentEvent) -> None: ...


@runtime_checkable
class AgentChat(Protocol):
    """The agent-first tier: a direct message to the agent about their own incident, updated in place.
    Optional: a chat port without it skips the nudge (logged)."""

    async def post_agent_nudge(self, view: IncidentView) -> MessageRef: ...

    async def update_agent_nudge(self, ref: MessageRef, view: IncidentView) -> None: ...


@runtime_checkable
class StormThread(Protocol):
    """History lines in a grouped (storm) card's thread, like an incident card's. Optional."""

    async def post_storm_history_line(self, ref: MessageRef, view: IncidentView, event: IncidentEvent) -> None: ...

    async def post_storm_note(self, ref: MessageRef, text: str) -> None: ...


class ExceptionWriter(Protocol):
    """Writes an exception approved in chat back to the WFM system (an approved explanation).

    Called again after a failure or a crash (the outbox delivers at least once): ``ref`` is the same
    on every call for one approval (the incident's id), so the writer can find what it wrote before."""

    async def record_exception(self, mu_id: str, window: ExceptionWindow, *, ref: str) -> None: ...


class EmailPort(Protocol):
    """Tier 2: the ops manager email."""

    async def send_escalation_email(self, view: IncidentView) -> None: ...


@runtime_checkable
class StormEmailPort(Protocol):
    """One email per storm and tier, the agents in a table (an email port without it sends one each)."""

    async def send_storm_email(self, view: StormView) -> None: ...


class CoachingPort(Protocol):
    """Tier 3: an appointment in the QM/WFM system; must be idempotent on ``idempotency_key``."""

    async def create_coaching_appointment(self, request: CoachingRequest) -> str: ...


class ChatDirectory(Protocol):
    """Who a person is in the chat tool (config ``slack_user_id`` first, else looked up by email)."""

    async def user_id_for(self, person: Person) -> str | None: ...
