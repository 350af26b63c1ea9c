"""Refused transitions, and what already happened (for the "already ..." answers to a stale click)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.domain.escalation.incident import OUTAGE_REASON, FiredTier, Incident, TierAction


class EscalationError(Exception):
    """A refused transition; ``code`` is stable and user-facing text is the message."""

    code = "escalation_error"


@dataclass(frozen=True, slots=True)
class Done:
    """What already happened to an incident, and who did it when (for "already ..." answers)."""

    what: str  # "acknowledged", "escalated", "excused", "resolved", "marked as outage"
    by: str | None  # None: the schedule (a tier) or the agent coming back (resolved)
    at: datetime | None
    tier: TierAction | None = None  # the tier, for "escalated"
    until: datetime | None = None  # for "snoozed": until when

    def sentence(self) -> str:
        """Plain text, times in UTC (Slack answers format the time themselves from the fields)."""
        tier = f" to {self.tier.value.replace('_', ' ')}" if self.tier else ""
        who = f" by {self.by}" if self.by else ""
        when = f" until {self.until:%H:%M} UTC" if self.until else (f" at {self.at:%H:%M} UTC" if self.at else "")
        return f"already {self.what}{tier}{who}{when}"


class AlreadyDone(EscalationError):
    """The click asked for something that already happened: nothing changes, ``done`` says what."""

    code = "already_done"

    def __init__(self, done: Done | None, message: str | None = None) -> None:
        super().__init__(message or (done.sentence() if done else "this was already done"))
        self.done = done


class AlreadyAcknowledged(AlreadyDone):
    code = "already_acknowledged"


class AlreadyEscalated(AlreadyDone):
    """The tier after the one the card showed has fired already (a replay, double click or stale card)."""

    code = "already_escalated"


class IncidentClosed(AlreadyDone):
    code = "incident_closed"


class NothingToEscalate(AlreadyDone):
    code = "nothing_to_escalate"


class CardMismatch(EscalationError):
    """A button claims a state the incident never had (tampered, or from another incident)."""

    code = "card_mismatch"


def closed_done(incident: Incident) -> Done:
    """How a closed incident ended, for the answer to a click that came too late."""
    what = "marked as outage" if incident.close_reason == OUTAGE_REASON else incident.status.value
    return Done(what, incident.closed_by, incident.closed_at)


def fired_done(tier: FiredTier) -> Done:
    return Done("escalated", tier.by, tier.at, tier.action)
