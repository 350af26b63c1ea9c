"""An unconfirmed live state (the feed carrying it is down) holds the agent: nothing opens, nothing fires."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.domain.adherence import Reason, Status, evaluate
from services.domain.escalation import DEFAULT_POLICY, AgentTrack, EventKind, TierAction, advance
from services.domain.model import AgentState, ScheduledActivity
from services.domain.rules import DEFAULT_TABLE
from services.domain.states import ActivityCategory, Presence, RoutingStatus

T0 = datetime(2026, 5, 18, 9, 0, tzinfo=UTC)
SHIFT = ScheduledActivity(T0 - timedelta(hours=1), T0 + timedelta(hours=8), ActivityCategory.ON_QUEUE_WORK)
STALE_AFTER = timedelta(minutes=10)


def _step(track: AgentTrack | None, state: AgentState, now: datetime) -> tuple[AgentTrack | None, list[EventKind]]:
    evaluation = evaluate("a1", SHIFT, replace(state, observed_at=now), now, DEFAULT_TABLE, stale_after=STALE_AFTER)
    new, events = advance(track, evaluation, now, mu_id="mu", team_id="t", policy=DEFAULT_POLICY)
    return new, [e.kind for e in events]


def test_an_unconfirmed_state_is_unknown_and_never_opens_an_incident() -> None:
    away = AgentState("a1", Presence.AWAY, RoutingStatus.OFF_QUEUE, T0, T0, confirmed=False)
    evaluation = evaluate("a1", SHIFT, away, T0, DEFAULT_TABLE, stale_after=STALE_AFTER)
    assert (evaluation.status, evaluation.reason) == (Status.UNKNOWN, Reason.UNCONFIRMED)
    track, kinds = _step(None, away, T0 + timedelta(minutes=20))
    assert track is None and kinds == []


def test_a_held_incident_keeps_its_start_and_fires_only_once_confirmed() -> None:
    away = AgentState("a1", Presence.AWAY, RoutingStatus.OFF_QUEUE, T0, T0)
    track, kinds = _step(None, away, T0)
    assert kinds == [EventKind.OPENED]
    held = replace(away, confirmed=False)
    for minute in range(1, 16):  # tier 1 (5 min) and tier 2 (15 min) come due, but nobody can re-check the state
        track, kinds = _step(track, held, T0 + timedelta(minutes=minute))
        assert kinds == []
    assert track is not None and track.incident is not None and track.incident.fired == ()
    track, kinds = _step(track, away, T0 + timedelta(minutes=16))
    assert kinds == [EventKind.TIER_FIRED, EventKind.TIER_FIRED]
    assert track is not None and track.incident is not None
    assert track.incident.started_at == T0
    assert [t.action for t in track.incident.fired] == [TierAction.CHAT_CARD, TierAction.EMAIL]
