"""Typed ports: what the use cases need from the outside world, and nothing about how.

Adapters in ``services/adapters`` implement these; ``bot/`` picks which ones to wire.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from services.domain.escalation import AgentTrack, Incident, IncidentEvent
from services.domain.model import (
    AgentSchedule,
    AgentState,
    ExceptionWindow,
    ManagementUnit,
    Person,
    Roster,
)


class Clock(Protocol):
    def now(self) -> datetime: ...


ScheduleChanged = Callable[[str], None]
"""Called with a management-unit id when the WFM source knows its published schedule changed."""

StateChanged = Callable[[str, AgentState], Awaitable[None]]
"""Called with (mu id, new state) when a live state change arrives (push sources only)."""


class WorkforceSource(Protocol):
    """The WFM + presence system (Genesys Cloud in production, the simulator by default)."""

    async def management_units(self) -> Sequence[ManagementUnit]: ...

    async def roster(self, mu_id: str) -> Roster: ...

    async def schedules(self, mu_id: str, start: datetime, end: datetime) -> Mapping[str, AgentSchedule]: ...

    async def live_states(self, mu_id: str) -> Mapping[str, AgentState]:
        """Latest known state of every agent of the unit; agents missing here are UNKNOWN."""
        ...

    async def approved_exceptions(self, mu_id: str, start: datetime, end: datetime) -> Sequence[ExceptionWindow]: ...

    def on_schedule_changed(self, callback: ScheduleChanged) -> None: ...


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


class ExceptionWriter(Protocol):
    """Writes an exception approved in chat back to the WFM system (an approved explanation)."""

    async def record_exception(self, mu_id: str, window: ExceptionWindow) -> None: ...


class EmailPort(Protocol):
    """Tier 2: the ops manager email."""

    async def send_escalation_email(self, view: IncidentView) -> None: ...


class CoachingPort(Protocol):
    """Tier 3: an appointment in the QM/WFM system; must be idempotent on ``idempotency_key``."""

    async def create_coaching_appointment(self, request: CoachingRequest) -> str: ...


class ChatDirectory(Protocol):
    """Who a person is in the chat tool (config ``slack_user_id`` first, else looked up by email)."""

    async def user_id_for(self, person: Person) -> str | None: ...


@dataclass(frozen=True, slots=True)
class TrackChange:
    """A compare-and-set write of one agent's track: applied only if the stored version still matches."""

    agent_id: str
    expected_version: int
    track: AgentTrack | None  # None deletes it
