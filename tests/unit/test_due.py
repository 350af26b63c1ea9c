"""next_due: the instant an agent must next be evaluated, whatever the tick (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.domain.due import next_due
from services.domain.escalation import DEFAULT_POLICY, AgentTrack, FiredTier, Incident, Snooze, TierAction
from services.domain.model import AgentSchedule, ExceptionWindow, ScheduledActivity
from services.domain.states import ActivityCategory

T0 = datetime(2026, 5, 18, 9, 0, tzinfo=UTC)


def minutes(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def incident(**update: object) -> Incident:
    base = Incident(id="mu.a.1", mu_id="mu", agent_id="a", team_id="t", started_at=T0, policy=DEFAULT_POLICY)
    return base.model_copy(update=update)


def track(**update: object) -> AgentTrack:
    return AgentTrack(agent_id="a", incident=incident(**update))


DAY = AgentSchedule.of("a", [ScheduledActivity(minutes(-60), minutes(120), ActivityCategory.ON_QUEUE_WORK),
                             ScheduledActivity(minutes(120), minutes(135), ActivityCategory.BREAK),
                             ScheduledActivity(minutes(180), minutes(240), ActivityCategory.ON_QUEUE_WORK)])


def test_the_next_tier_of_an_open_incident_is_due_at_its_threshold() -> None:
    assert next_due(track(), None, minutes(1)) == minutes(5)
    fired = (FiredTier(index=0, action=TierAction.CHAT_CARD, at=minutes(5)),)
    assert next_due(track(fired=fired), None, minutes(5)) == minutes(15)


def test_a_hold_is_due_when_it_ends_not_at_the_held_tier() -> None:
    held = track(hold_until=minutes(21))
    assert next_due(held, None, minutes(6)) == minutes(21)
    assert next_due(held, None, minutes(21)) is None  # ended: the held tier is overdue, evaluated (fired) now


def test_back_in_adherence_is_due_when_clear_after_ends() -> None:
    assert next_due(track(back_in_since=minutes(3)), None, minutes(3)) == minutes(4)


def test_an_exception_end_and_a_schedule_boundary_are_due() -> None:
    window = ExceptionWindow("a", minutes(0), minutes(30))
    assert next_due(None, None, minutes(10), exceptions=[window]) == minutes(30)
    assert next_due(AgentTrack(agent_id="a", exception=window), None, minutes(10)) == minutes(30)
    assert next_due(None, DAY, minutes(10)) == minutes(120)  # the break starts
    assert next_due(None, DAY, minutes(120)) == minutes(135)  # it ends
    assert next_due(None, DAY, minutes(140)) == minutes(180)  # the next shift starts (a gap before it)
    assert next_due(None, DAY, minutes(240)) is None


def test_the_earliest_wins_and_nothing_past_is_due_again() -> None:
    assert next_due(track(), DAY, minutes(1)) == minutes(5)
    assert next_due(track(), DAY, minutes(6)) == minutes(120)  # the tier is overdue (unknown state): not again
    closed = track(status="resolved", closed_at=minutes(2))
    assert next_due(closed, None, minutes(2)) is None


def test_a_snooze_is_due_when_it_ends_and_an_unsnooze_lets_the_tier_be_due_again() -> None:
    snoozed = Snooze(until=minutes(65), by="Sam", at=minutes(4), seq=1)
    assert next_due(track(snooze=snoozed), None, minutes(4)) == minutes(65)  # not the 5-minute tier
    lifted = snoozed.model_copy(update={"lifted_by": "Sam", "lifted_at": minutes(10)})
    assert next_due(track(snooze=lifted), None, minutes(3)) == minutes(5)
