"""Incidents and their escalation: a pure state machine over frozen values.

* :mod:`incident` - the values: policy, incident, reply, snooze, fired tier, event.
* :mod:`refusals` - refused transitions and "already done" answers.
* :mod:`transitions` - the state machine (open, fire, acknowledge, snooze, reply, escalate, close).
* :mod:`track` - what the monitor keeps per agent and :func:`advance`, one agent's tick.

Nothing here does I/O or reads a clock: every function takes ``now`` and returns the new value
plus the events it caused. Import from the package: the modules are how it is laid out.
"""

from services.domain.escalation.incident import (
    DEFAULT_POLICY,
    OUTAGE_REASON,
    REPEATABLE_KINDS,
    AgentReply,
    EscalationPolicy,
    EventKind,
    FiredTier,
    Incident,
    IncidentEvent,
    IncidentStatus,
    ReplyKind,
    Snooze,
    Tier,
    TierAction,
)
from services.domain.escalation.refusals import (
    AlreadyAcknowledged,
    AlreadyDone,
    AlreadyEscalated,
    CardMismatch,
    Done,
    EscalationError,
    IncidentClosed,
    NothingToEscalate,
    closed_done,
    fired_done,
)
from services.domain.escalation.track import AgentTrack, advance, approve_explanation, excuse
from services.domain.escalation.transitions import (
    acknowledge,
    agent_replies,
    close,
    escalate_now,
    fire_due_tiers,
    open_incident,
    refuse_closed,
    reply_label,
    snooze,
    unacknowledge,
    unsnooze,
)

__all__ = [
    "DEFAULT_POLICY",
    "OUTAGE_REASON",
    "REPEATABLE_KINDS",
    "AgentReply",
    "AgentTrack",
    "AlreadyAcknowledged",
    "AlreadyDone",
    "AlreadyEscalated",
    "CardMismatch",
    "Done",
    "EscalationError",
    "EscalationPolicy",
    "EventKind",
    "FiredTier",
    "Incident",
    "IncidentClosed",
    "IncidentEvent",
    "IncidentStatus",
    "NothingToEscalate",
    "ReplyKind",
    "Snooze",
    "Tier",
    "TierAction",
    "acknowledge",
    "advance",
    "agent_replies",
    "approve_explanation",
    "close",
    "closed_done",
    "escalate_now",
    "excuse",
    "fire_due_tiers",
    "fired_done",
    "open_incident",
    "refuse_closed",
    "reply_label",
    "snooze",
    "unacknowledge",
    "unsnooze",
]
