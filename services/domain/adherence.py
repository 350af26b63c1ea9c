"""Evaluate one agent at one instant: status, impact, and whether it may escalate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.domain.model import AgentState, ExceptionWindow, ScheduledActivity
from services.domain.rules import Impact, RuleTable, Verdict
from services.domain.states import ActivityCategory, Presence, RoutingStatus


class Status(StrEnum):
    ADHERENT = "ADHERENT"
    NON_ADHERENT = "NON_ADHERENT"
    OFF_SHIFT = "OFF_SHIFT"
    UNKNOWN = "UNKNOWN"


class Reason(StrEnum):
    """Why an evaluation came out as it did; shown to supervisors and used in tests."""

    RULE = "rule"
    OFF_SHIFT = "off_shift"
    NO_STATE = "no_state"  # nothing reported for the agent: a data problem, never an alert
    STALE_STATE = "stale_state"
    UNCONFIRMED = "unconfirmed"  # the live feed is down: held, neither opened nor escalated
    UNRECOGNISED_STATE = "unrecognised_state"
    INTERACTING = "interacting"  # forgiven: mid-interaction whatever the schedule says
    EXCEPTION = "exception"  # inside an approved exception window


@dataclass(frozen=True, slots=True)
class Evaluation:
    agent_id: str
    status: Status
    impact: Impact
    reason: Reason
    category: ActivityCategory | None
    presence: Presence | None
    routing: RoutingStatus | None
    #: When the agent entered the situation judged (max of state change and activity start).
    since: datetime

    @property
    def escalates(self) -> bool:
        """Only negative-impact, unforgiven, unexcused non-adherence counts towards escalation."""
        return self.status is Status.NON_ADHERENT and self.impact is Impact.NEGATIVE and self.reason is Reason.RULE

    @property
    def positive_deviation(self) -> bool:
        """Helping service against the schedule (on queue through a break); forgiven calls are not one."""
        return self.status is Status.NON_ADHERENT and self.impact is Impact.POSITIVE and self.reason is Reason.RULE


def evaluate(
    agent_id: str,
    activity: ScheduledActivity | None,
    state: AgentState | None,
    now: datetime,
    rules: RuleTable,
    *,
    stale_after: timedelta,
    exceptions: Sequence[ExceptionWindow] = (),
    off_shift_since: datetime | None = None,
) -> Evaluation:
    """Judge one agent. Pure: everything it needs, including ``now``, is passed in."""
    category = activity.category if activity else None
    if state is None:
        return Evaluation(agent_id, Status.UNKNOWN, Impact.NEUTRAL, Reason.NO_STATE, category, None, None, now)
    presence, routing = state.presence, state.routing
    since = max(state.since, activity.start) if activity else state.since
    since = min(since, now)

    def result(status: Status, impact: Impact, reason: Reason) -> Evaluation:
        return Evaluation(agent_id, status, impact, reason, category, presence, routing, since)

    if now - state.observed_at > stale_after:
        return result(Status.UNKNOWN, Impact.NEUTRAL, Reason.STALE_STATE)
    if not state.confirmed:
        return result(Status.UNKNOWN, Impact.NEUTRAL, Reason.UNCONFIRMED)
    if activity is None:
        if off_shift_since is not None and since < off_shift_since <= now:
            since = off_shift_since  # off shift since the shift ended, not since the state began
        return result(Status.OFF_SHIFT, Impact.NEUTRAL, Reason.OFF_SHIFT)
    if presence is None or routing is None:
        return result(Status.UNKNOWN, Impact.NEUTRAL, Reason.UNRECOGNISED_STATE)
    verdict, impact = rules.judge(activity.category, presence, routing)
    if verdict is not Verdict.OUT:
        return result(Status.ADHERENT, Impact.NEUTRAL, Reason.RULE)
    if routing is RoutingStatus.INTERACTING:
        return result(Status.NON_ADHERENT, impact, Reason.INTERACTING)
    excused, since = _excused(agent_id, exceptions, now, since)
    return result(Status.NON_ADHERENT, impact, Reason.EXCEPTION if excused else Reason.RULE)


def _excused(agent_id: str, exceptions: Sequence[ExceptionWindow], now: datetime,
             since: datetime) -> tuple[bool, datetime]:
    """Whether an approved exception covers ``now``, and since when the agent counts as out."""
    for window in exceptions:
        if window.agent_id != agent_id:
            continue
        if window.covers(now):
            return True, since
        if since < window.end <= now:
            since = window.end  # still out after an excused window: the clock starts where it ended
    return False, since
