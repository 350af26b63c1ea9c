"""Sustained-violation tracking and tiered escalation: the seed's cases and the design's rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.domain.adherence import Evaluation, Reason, Status, evaluate
from services.domain.escalation import (
    DEFAULT_POLICY,
    AgentTrack,
    AlreadyAcknowledged,
    AlreadyEscalated,
    CardMismatch,
    Done,
    EventKind,
    IncidentClosed,
    IncidentEvent,
    IncidentStatus,
    NothingToEscalate,
    TierAction,
    acknowledge,
    advance,
    escalate_now,
    excuse,
    fire_due_tiers,
)
from services.domain.model import AgentState, ExceptionWindow, ScheduledActivity
from services.domain.rules import DEFAULT_TABLE
from services.domain.states import ActivityCategory, Presence, RoutingStatus

T0 = datetime(2026, 5, 18, 9, 0, tzinfo=UTC)
SHIFT = ScheduledActivity(T0 - timedelta(hours=1), T0 + timedelta(hours=8), ActivityCategory.ON_QUEUE_WORK)
OUT = (Presence.AWAY, RoutingStatus.OFF_QUEUE)
IN = (Presence.ON_QUEUE, RoutingStatus.IDLE)
TALKING = (Presence.ON_QUEUE, RoutingStatus.INTERACTING)
BUSY_TALKING = (Presence.BUSY, RoutingStatus.INTERACTING)
AVAILABLE_IDLE = (Presence.AVAILABLE, RoutingStatus.IDLE)
TICK = timedelta(seconds=15)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class Agent:
    """Drives one agent through a timeline of states, ticking every 15 s like the monitor."""

    def __init__(self, activity: ScheduledActivity | None = SHIFT, exceptions: tuple[ExceptionWindow, ...] = ()):
        self.activity, self.exceptions = activity, exceptions
        self.track: AgentTrack | None = None
        self.events: list[IncidentEvent] = []
        self.state: AgentState | None = None

    def set(self, when: datetime, combo: tuple[Presence, RoutingStatus] | None) -> None:
        self.state = None if combo is None else AgentState("a1", combo[0], combo[1], when, when)

    def evaluation(self, now: datetime) -> Evaluation:
        state = self.state
        if state is not None:  # the source confirms the state on every tick
            state = AgentState(state.agent_id, state.presence, state.routing, state.since, now)
        return evaluate("a1", self.activity, state, now, DEFAULT_TABLE, stale_after=timedelta(minutes=5),
                        exceptions=self.exceptions)

    def tick_until(self, end: datetime, start: datetime) -> None:
        now = start
        while now <= end:
            self.track, events = advance(self.track, self.evaluation(now), now, mu_id="mu", team_id="t",
                                         policy=DEFAULT_POLICY)
            self.events.extend(events)
            now += TICK

    def fired(self) -> list[tuple[TierAction, datetime]]:
        return [(e.tier.action, e.at) for e in self.events if e.kind is EventKind.TIER_FIRED and e.tier]

    def kinds(self) -> list[EventKind]:
        return [e.kind for e in self.events]


def run(timeline: Sequence[tuple[float, tuple[Presence, RoutingStatus] | None]], until: float,
        **kwargs: object) -> Agent:
    """Apply each (minute, state) change, ticking every 15 s from minute 0 to ``until``."""
    agent = Agent(**kwargs)  # type: ignore[arg-type]
    changes = sorted(timeline, key=lambda change: change[0])
    now = at(0)
    while now <= at(until):
        while changes and at(changes[0][0]) <= now:
            minute, combo = changes.pop(0)
            agent.set(at(minute), combo)
        agent.tick_until(now, now)
        now += TICK
    return agent


def test_an_agent_away_for_35_minutes_gets_every_tier_at_its_threshold_within_one_tick() -> None:
    agent = run([(0, IN), (1, OUT)], until=40)
    fired = agent.fired()
    assert [action for action, _ in fired] == [TierAction.CHAT_CARD, TierAction.EMAIL, TierAction.COACHING]
    for (_, when), threshold in zip(fired, (6, 16, 31), strict=True):
        assert at(threshold) <= when < at(threshold) + TICK


def test_the_seeds_trap_rapid_available_busy_transitions_never_alert() -> None:
    # Every 30 s during handling: Available/Idle -> Busy/Interacting -> Available/Idle ...
    timeline = [(i * 0.5, AVAILABLE_IDLE if i % 2 == 0 else BUSY_TALKING) for i in range(120)]
    agent = run(timeline, until=60)
    assert agent.events == []
    assert agent.track is None


def test_short_blips_open_and_resolve_without_any_notification() -> None:
    agent = run([(0, IN), (1, OUT), (3, IN)], until=10)
    assert agent.kinds() == [EventKind.OPENED, EventKind.RESOLVED]
    assert agent.fired() == []


def test_flapping_back_in_for_less_than_clear_after_does_not_reset_the_clock() -> None:
    # Out at 1, back in for 30 s at 3, out again at 3.5: still one violation since minute 1.
    agent = run([(0, IN), (1, OUT), (3, IN), (3.5, OUT)], until=7)
    assert agent.kinds().count(EventKind.OPENED) == 1
    fired = agent.fired()
    assert len(fired) == 1 and at(6) <= fired[0][1] < at(6) + TICK


def test_back_in_for_clear_after_resolves_and_a_new_violation_starts_a_new_clock() -> None:
    agent = run([(0, IN), (1, OUT), (4, IN), (6, OUT)], until=11.5)
    assert agent.kinds().count(EventKind.OPENED) == 2
    assert agent.kinds()[:2] == [EventKind.OPENED, EventKind.RESOLVED]
    fired = agent.fired()
    assert len(fired) == 1 and at(11) <= fired[0][1] < at(11) + TICK


def test_mid_interaction_at_break_time_is_forgiven() -> None:
    brk = ScheduledActivity(at(0), at(15), ActivityCategory.BREAK)
    agent = run([(-5, TALKING), (10, (Presence.BREAK, RoutingStatus.OFF_QUEUE))], until=15, activity=brk)
    assert agent.events == []


def test_staying_on_queue_through_a_break_is_recorded_not_escalated() -> None:
    brk = ScheduledActivity(at(0), at(15), ActivityCategory.BREAK)
    agent = run([(-5, IN)], until=14, activity=brk)
    assert agent.fired() == []
    assert agent.track is not None and agent.track.positive_since == at(0)
    agent.activity = SHIFT  # the break ends: the deviation is recorded once
    agent.tick_until(at(15), at(15))
    assert agent.kinds() == [EventKind.POSITIVE_DEVIATION]


def test_an_approved_exception_suppresses_escalation() -> None:
    window = ExceptionWindow("a1", at(0), at(20), reason="dentist", approved_by="sup")
    agent = run([(0, IN), (1, OUT)], until=19, exceptions=(window,))
    assert agent.events == []


def test_unknown_state_never_escalates_and_freezes_an_open_incident() -> None:
    agent = run([(0, IN), (1, OUT), (2, None)], until=30)
    assert agent.kinds() == [EventKind.OPENED]
    assert agent.fired() == []


def test_stale_state_is_unknown_not_a_violation() -> None:
    state = AgentState("a1", Presence.AWAY, RoutingStatus.OFF_QUEUE, at(0), observed_at=at(0))
    evaluation = evaluate("a1", SHIFT, state, at(11), DEFAULT_TABLE, stale_after=timedelta(minutes=10))
    assert (evaluation.status, evaluation.reason, evaluation.escalates) == (Status.UNKNOWN, Reason.STALE_STATE, False)


def test_off_shift_agents_are_off_shift() -> None:
    state = AgentState("a1", Presence.AVAILABLE, RoutingStatus.OFF_QUEUE, at(0), at(0))
    evaluation = evaluate("a1", None, state, at(0), DEFAULT_TABLE, stale_after=timedelta(minutes=10))
    assert evaluation.status is Status.OFF_SHIFT and not evaluation.escalates


def test_violation_starts_when_the_scheduled_activity_starts_not_when_the_state_did() -> None:
    # Away since 8:00 (adherent on break), on-queue work begins at 9:00: late from 9:00.
    state = AgentState("a1", Presence.AWAY, RoutingStatus.OFF_QUEUE, at(-60), at(5))
    evaluation = evaluate("a1", ScheduledActivity(at(0), at(60), ActivityCategory.ON_QUEUE_WORK), state, at(5),
                          DEFAULT_TABLE, stale_after=timedelta(minutes=10))
    assert evaluation.escalates and evaluation.since == at(0)


def _open_incident(minutes_out: float) -> AgentTrack:
    agent = run([(0, IN), (1, OUT)], until=1 + minutes_out)
    assert agent.track is not None and agent.track.incident is not None
    return agent.track


def test_acknowledge_holds_escalation_for_ack_timeout_then_resumes() -> None:
    track = _open_incident(6)
    incident, event = acknowledge(track.incident, "sup", at(7))  # type: ignore[arg-type]
    assert event.kind is EventKind.ACKNOWLEDGED and incident.status is IncidentStatus.ACKNOWLEDGED
    agent = Agent()
    agent.set(at(1), OUT)
    agent.track = track.model_copy(update={"incident": incident})
    agent.tick_until(at(21.75), at(7))
    assert agent.fired() == []  # tier 2 (due at 16 min) is held until 7 + 15 = 22
    agent.tick_until(at(22), at(22))
    assert agent.fired() == [(TierAction.EMAIL, at(22))]


def test_first_acknowledge_wins() -> None:
    incident, _ = acknowledge(_open_incident(6).incident, "first", at(7))  # type: ignore[arg-type]
    with pytest.raises(AlreadyAcknowledged, match="first"):
        acknowledge(incident, "second", at(8))


def test_escalate_jumps_to_the_next_tier_now_and_lifts_the_hold() -> None:
    incident, _ = acknowledge(_open_incident(6).incident, "sup", at(7))  # type: ignore[arg-type]
    escalated, event = escalate_now(incident, "sup", at(8))
    assert event.tier is not None and event.tier.action is TierAction.EMAIL and event.tier.by == "sup"
    assert escalated.hold_until is None and len(escalated.fired) == 2
    last, _ = escalate_now(escalated, "sup", at(9))
    with pytest.raises(NothingToEscalate):
        escalate_now(last, "sup", at(10))


def test_a_second_acknowledge_says_who_and_when() -> None:
    incident, _ = acknowledge(_open_incident(6).incident, "Sam", at(7))  # type: ignore[arg-type]
    with pytest.raises(AlreadyAcknowledged) as refused:
        acknowledge(incident, "Olga", at(7.1))
    assert refused.value.done == Done("acknowledged", "Sam", at(7))
    assert str(refused.value) == "already acknowledged by Sam at 09:07 UTC"


def test_escalate_with_a_stale_tier_is_a_no_op_that_says_what_already_happened() -> None:
    incident = _open_incident(6).incident
    assert incident is not None and len(incident.fired) == 1
    escalated, _ = escalate_now(incident, "Sam", at(8), shown=1)
    # The same click again (replay, double click) or from a card drawn before: nothing fires.
    with pytest.raises(AlreadyEscalated) as replay:
        escalate_now(escalated, "Olga", at(8.05), shown=1)
    assert replay.value.done == Done("escalated", "Sam", at(8), TierAction.EMAIL)
    assert str(replay.value) == "already escalated to email by Sam at 09:08 UTC"
    # A card that showed only the first tier while the schedule has fired two: told it was automatic.
    clocked, _ = fire_due_tiers(incident, at(17))
    with pytest.raises(AlreadyEscalated) as stale:
        escalate_now(clocked, "Sam", at(17), shown=1)
    assert stale.value.done == Done("escalated", None, at(17), TierAction.EMAIL)
    # The next card (two tiers shown) escalates to coaching, once.
    coached, event = escalate_now(escalated, "Olga", at(9), shown=2)
    assert event.tier is not None and (event.tier.index, event.tier.action) == (2, TierAction.COACHING)
    assert coached.fired[:2] == escalated.fired


def test_escalate_refuses_a_button_ahead_of_the_incident() -> None:
    incident = _open_incident(6).incident
    assert incident is not None
    with pytest.raises(CardMismatch):
        escalate_now(incident, "Sam", at(8), shown=2)


def test_clicks_on_a_closed_incident_say_how_it_ended() -> None:
    track = _open_incident(6)
    _, event = excuse(track, "Sam", at(40), "system issue", at(8))
    closed = event.incident
    with pytest.raises(IncidentClosed) as late_ack:
        acknowledge(closed, "Olga", at(9))
    with pytest.raises(IncidentClosed) as late_escalate:
        escalate_now(closed, "Olga", at(9), shown=1)
    assert late_ack.value.done == late_escalate.value.done == Done("excused", "Sam", at(8))


def test_approve_exception_closes_as_excused_and_suppresses_for_the_window() -> None:
    track = _open_incident(6)
    excused, event = excuse(track, "sup", at(40), "system issue", at(8))
    assert event.kind is EventKind.EXCUSED and event.incident.status is IncidentStatus.EXCUSED
    assert excused.incident is None and excused.exception is not None
    agent = Agent()
    agent.set(at(1), OUT)
    agent.track = excused
    agent.tick_until(at(39), at(8))
    assert agent.events == []
    agent.tick_until(at(40), at(40))
    assert agent.kinds() == [EventKind.OPENED]  # still out after the window: a new incident from its end
    with pytest.raises(IncidentClosed):
        acknowledge(event.incident, "sup", at(9))


def test_policy_is_frozen_into_the_incident_when_it_opens() -> None:
    track = _open_incident(1)
    assert track.incident is not None and track.incident.policy == DEFAULT_POLICY


# ---- invariants --------------------------------------------------------------------------------
COMBOS = [IN, OUT, TALKING, BUSY_TALKING, AVAILABLE_IDLE, (Presence.BREAK, RoutingStatus.OFF_QUEUE),
          (Presence.OFFLINE, RoutingStatus.OFFLINE), None]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 240), st.sampled_from(COMBOS)), min_size=1, max_size=25))
def test_no_tier_ever_fires_twice_and_tiers_fire_in_order(changes: list[tuple[int, object]]) -> None:
    agent = run([(q / 4, combo) for q, combo in changes], until=65)  # type: ignore[misc]
    per_incident: dict[str, list[int]] = {}
    for event in agent.events:
        if event.kind is EventKind.TIER_FIRED and event.tier:
            per_incident.setdefault(event.incident.id, []).append(event.tier.index)
    for indexes in per_incident.values():
        assert indexes == list(range(len(indexes)))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 240), st.sampled_from(COMBOS)), min_size=1, max_size=25))
def test_nothing_escalates_while_adherent_unknown_forgiven_or_excused(changes: list[tuple[int, object]]) -> None:
    agent = Agent(exceptions=(ExceptionWindow("a1", at(30), at(40)),))
    timeline = sorted(((q / 4, combo) for q, combo in changes), key=lambda change: change[0])
    now = at(0)
    while now <= at(65):
        while timeline and at(timeline[0][0]) <= now:
            minute, combo = timeline.pop(0)
            agent.set(at(minute), combo)  # type: ignore[arg-type]
        evaluation = agent.evaluation(now)
        before = len(agent.events)
        agent.tick_until(now, now)
        fired = [e for e in agent.events[before:] if e.kind is EventKind.TIER_FIRED]
        if fired:
            assert evaluation.escalates, evaluation
            assert evaluation.status is Status.NON_ADHERENT and evaluation.reason is Reason.RULE
        now += TICK


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(6, 60)), min_size=1, max_size=12))
def test_one_card_state_fires_at_most_one_tier_whatever_the_clicks(clicks: list[tuple[int, int, int]]) -> None:
    """Clicks (shown tiers, who, minute) in any order, mixed with the clock: each shown state fires one tier,
    the one right after it, and a click never fires a tier the schedule or another click already fired."""
    incident = _open_incident(5).incident
    assert incident is not None
    manual: dict[int, int] = {}
    for shown, who, minute in sorted(clicks, key=lambda c: c[2]):
        incident, _ = fire_due_tiers(incident, at(minute))
        before = incident.fired
        try:
            incident, event = escalate_now(incident, f"user{who}", at(minute), shown=shown)
        except (AlreadyEscalated, CardMismatch, NothingToEscalate):
            assert incident.fired == before  # refused: nothing changed
            continue
        assert event.tier is not None and event.tier.index == shown == len(before)
        manual[shown] = manual.get(shown, 0) + 1
    assert all(count == 1 for count in manual.values())
    assert [f.index for f in incident.fired] == list(range(len(incident.fired)))


def test_an_early_logout_is_out_until_the_shift_ends_and_resolves_with_the_real_duration() -> None:
    shift = ScheduledActivity(at(-60), at(25), ActivityCategory.ON_QUEUE_WORK)
    agent = run([(0, IN), (5, (Presence.OFFLINE, RoutingStatus.OFFLINE))], until=30, activity=None)
    assert agent.events == []  # no schedule at all: off shift the whole time
    agent = Agent(activity=shift)
    agent.set(at(5), (Presence.OFFLINE, RoutingStatus.OFFLINE))
    agent.tick_until(at(24.75), at(5))
    from services.domain.model import AgentSchedule

    schedule = AgentSchedule.of("a1", [shift])
    now = at(25)
    while now <= at(27):
        state = AgentState("a1", Presence.OFFLINE, RoutingStatus.OFFLINE, at(5), now)
        evaluation = evaluate("a1", schedule.activity_at(now), state, now, DEFAULT_TABLE,
                              stale_after=timedelta(minutes=5), off_shift_since=schedule.last_end_before(now))
        agent.track, events = advance(agent.track, evaluation, now, mu_id="mu", team_id="t", policy=DEFAULT_POLICY)
        agent.events.extend(events)
        now += TICK
    resolved = [e for e in agent.events if e.kind is EventKind.RESOLVED]
    assert len(resolved) == 1 and resolved[0].incident.minutes_out(at(27)) == pytest.approx(20)
    assert [a for a, _ in agent.fired()] == [TierAction.CHAT_CARD, TierAction.EMAIL]
