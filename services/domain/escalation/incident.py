"""The values of an incident: its policy, state, the agent's reply, snoozes, fired tiers and events.

A violation *is* an incident: it opens the moment an agent's negative, unforgiven non-adherence
starts (``started_at``), freezes the escalation policy of that moment, fires tiers as their
thresholds pass, and ends when the agent has been back in adherence for ``clear_after`` (so a
flapping agent keeps its clock) or when a supervisor excuses it. Everything is frozen: the
transitions (:mod:`transitions`) return new values.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, field_validator

from services.domain.model import ExceptionWindow


class TierAction(StrEnum):
    AGENT_NUDGE = "agent_nudge"  # a DM to the agent, before anyone else hears of it
    CHAT_CARD = "chat_card"
    EMAIL = "email"
    COACHING = "coaching"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Tier(_Frozen):
    after: timedelta
    action: TierAction


class EscalationPolicy(_Frozen):
    tiers: tuple[Tier, ...]
    ack_timeout: timedelta = timedelta(minutes=15)
    clear_after: timedelta = timedelta(seconds=60)

    @field_validator("tiers")
    @classmethod
    def _ordered(cls, tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
        if any(b.after < a.after for a, b in itertools.pairwise(tiers)):
            raise ValueError("tiers must be listed in increasing order of 'after'")
        return tiers


DEFAULT_POLICY = EscalationPolicy(
    tiers=(
        Tier(after=timedelta(minutes=5), action=TierAction.CHAT_CARD),
        Tier(after=timedelta(minutes=15), action=TierAction.EMAIL),
        Tier(after=timedelta(minutes=30), action=TierAction.COACHING),
    )
)


#: ``close_reason`` of incidents excused by "Mark as outage" (the storm card's button).
OUTAGE_REASON = "outage"


class IncidentStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    EXCUSED = "excused"
    RESOLVED = "resolved"


class ReplyKind(StrEnum):
    ON_MY_WAY = "on_my_way"
    ON_A_CALL = "on_a_call"
    EXPLANATION = "explanation"


class AgentReply(_Frozen):
    """What the agent answered to the nudge; ``seq`` counts their answers (buttons carry the one shown)."""

    kind: ReplyKind
    at: datetime
    seq: int
    by: str | None = None
    reason_code: str | None = None  # explanations only
    note: str = ""

    @property
    def reason(self) -> str:
        """``code`` or ``code: note``, as approved exceptions store it."""
        code = self.reason_code or "other"
        return f"{code}: {self.note}" if self.note else code


class Snooze(_Frozen):
    """A supervisor's pause of escalation; ``seq`` counts snoozes and unsnoozes (the card carries it)."""

    until: datetime
    by: str
    at: datetime
    seq: int
    lifted_by: str | None = None
    lifted_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.lifted_at is None and now < self.until


class FiredTier(_Frozen):
    index: int
    action: TierAction
    at: datetime
    by: str | None = None  # None: fired by the clock; else the user who pressed Escalate


class Incident(_Frozen):
    id: str
    mu_id: str
    agent_id: str
    team_id: str
    started_at: datetime
    policy: EscalationPolicy
    status: IncidentStatus = IncidentStatus.OPEN
    fired: tuple[FiredTier, ...] = ()
    # What the agent was scheduled for and doing when last seen out of adherence.
    category: str | None = None
    presence: str | None = None
    routing: str | None = None
    last_out_at: datetime | None = None
    back_in_since: datetime | None = None
    acked_by: str | None = None
    acked_at: datetime | None = None
    hold_until: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    close_reason: str | None = None
    storm_id: str | None = None  # set when the incident is part of a grouped outage
    agent_reply: AgentReply | None = None
    snooze: Snooze | None = None
    acks: int = 0  # acknowledgements so far (Unacknowledge makes a second one possible)
    unacked_by: str | None = None
    unacked_at: datetime | None = None

    @property
    def is_closed(self) -> bool:
        return self.status in (IncidentStatus.EXCUSED, IncidentStatus.RESOLVED)

    @property
    def next_tier(self) -> Tier | None:
        tiers = self.policy.tiers
        return tiers[len(self.fired)] if len(self.fired) < len(tiers) else None

    def minutes_out(self, now: datetime) -> float:
        end = self.back_in_since or self.closed_at or now
        return max(0.0, (end - self.started_at).total_seconds() / 60)

    def held(self, now: datetime) -> bool:
        """Escalation waits: acknowledged (until ``ack_timeout``) or snoozed."""
        return (self.hold_until is not None and now < self.hold_until) or self.snoozed(now)

    def snoozed(self, now: datetime) -> bool:
        return self.snooze is not None and self.snooze.active(now)

    @property
    def reply_seq(self) -> int:
        return self.agent_reply.seq if self.agent_reply else 0

    @property
    def snooze_seq(self) -> int:
        return self.snooze.seq if self.snooze else 0


class EventKind(StrEnum):
    OPENED = "opened"
    TIER_FIRED = "tier_fired"
    ACKNOWLEDGED = "acknowledged"
    EXCUSED = "excused"
    RESOLVED = "resolved"
    POSITIVE_DEVIATION = "positive_deviation"
    AGENT_REPLIED = "agent_replied"
    SNOOZED = "snoozed"
    UNSNOOZED = "unsnoozed"
    UNACKNOWLEDGED = "unacknowledged"


#: Kinds that may happen more than once to one incident (their delivery key carries the time).
REPEATABLE_KINDS = frozenset({EventKind.ACKNOWLEDGED, EventKind.UNACKNOWLEDGED, EventKind.SNOOZED,
                              EventKind.UNSNOOZED, EventKind.AGENT_REPLIED})


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    kind: EventKind
    incident: Incident
    at: datetime
    actor: str | None = None
    tier: FiredTier | None = None
    note: str = ""
    write_back: ExceptionWindow | None = None  # an approved exception the outbox writes back to the WFM
