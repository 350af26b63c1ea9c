"""The pure surplus rules: seats over the look-ahead with the margin, eligibility, recall order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.domain.surplus import (
    Candidate,
    SurplusFigures,
    eligible,
    in_quiet_hours,
    interval_start,
    recall_order,
    recall_plan,
)

NOW = datetime(2026, 5, 18, 10, 7, 30, tzinfo=UTC)


def test_a_surplus_must_hold_over_the_whole_look_ahead_with_the_margin() -> None:
    assert SurplusFigures(NOW, 20, 0, (15.0, 16.0, 17.5), 1.0).seats == 1  # 20 - 17.5 - 1 = 1.5
    assert SurplusFigures(NOW, 20, 0, (15.0, 16.0, 19.5), 1.0).seats == 0  # the last interval has no surplus
    assert SurplusFigures(NOW, 20, 0, (15.0,), 0.0).seats == 5
    assert SurplusFigures(NOW, 20, 0, (15.0, 15.0), 1.0, waiting=3).seats == 0  # contacts waiting: no surplus


def test_trainees_count_as_staff_so_their_seats_are_not_counted_twice() -> None:
    figures = SurplusFigures(NOW, 17, 3, (15.0, 15.0, 15.0), 1.0)
    assert figures.seats == 4 and figures.free_seats == 1 and figures.surplus
    assert figures.shortfall == 0 and figures.recalls == 0


def test_a_shortfall_now_or_in_the_next_interval_recalls_at_most_the_trainees() -> None:
    assert SurplusFigures(NOW, 14, 3, (15.0, 15.0), 1.0).recalls == 1
    assert SurplusFigures(NOW, 14, 3, (14.0, 16.2), 1.0).recalls == 3  # the next interval needs 3 back
    assert SurplusFigures(NOW, 10, 2, (15.0,), 1.0).recalls == 2


def test_eligibility_last_hour_cooldown_audience_and_team_share() -> None:
    end = NOW + timedelta(hours=4)
    candidates = [Candidate("a1", "t1", end), Candidate("a2", "t1", NOW + timedelta(minutes=50)),
                  Candidate("a3", "t1", end, last_offered=NOW - timedelta(minutes=10)),
                  Candidate("a4", "t2", end), Candidate("a5", "t1", end), Candidate("a6", "t1", None)]
    chosen = eligible(candidates, NOW, last_hour=timedelta(hours=1), cooldown=timedelta(minutes=30),
                      audience=frozenset({"t1"}), team_size={"t1": 10, "t2": 10}, team_in_training={"t1": 1},
                      max_share=0.2)
    # a2 is in their last hour, a3 was offered 10 min ago, a4 is not in the audience, a6 has no shift;
    # t1 may have 2 of 10 in training and has 1 already: only a1.
    assert [c.agent_id for c in chosen] == ["a1"]


def test_recall_takes_the_least_time_left_first() -> None:
    ends = {"b": NOW + timedelta(minutes=40), "a": NOW + timedelta(minutes=5), "c": NOW + timedelta(minutes=5)}
    assert recall_order(ends, NOW) == ["a", "c", "b"]


def test_intervals_and_quiet_hours() -> None:
    assert interval_start(NOW) == NOW.replace(minute=0, second=0)
    assert in_quiet_hours(12 * 60 + 30, [(12 * 60, 13 * 60)])
    assert not in_quiet_hours(13 * 60, [(12 * 60, 13 * 60)])
    assert in_quiet_hours(30, [(22 * 60, 6 * 60)])


def test_the_projection_takes_out_scheduled_breaks_and_adds_scheduled_returns() -> None:
    from services.domain.surplus import project

    breaks = {"b": (NOW + timedelta(minutes=7.5), NOW + timedelta(minutes=22.5))}  # b on break 10:15-10:30
    returning = {"c"}  # off queue now, scheduled on queue from the next interval

    def scheduled(agent: str, when: datetime) -> bool:
        if agent in breaks:
            start, end = breaks[agent]
            return not start <= when < end
        if agent in returning:
            return when >= NOW.replace(minute=15, second=0)
        return True

    assert project(NOW, 3, ["a", "b"], ["c"], scheduled) == (2, 2, 3)
    figures = SurplusFigures(NOW, 2, 0, (1.0, 1.5, 1.0), 0.0, projected=(2, 1, 3))
    assert figures.net == (1.0, -0.5, 2.0) and figures.seats == 0 and figures.shortfall == 1


def test_an_agent_late_now_is_not_projected_back_at_the_next_boundary() -> None:
    """The benchmark's 09:45 short interval: agents off queue while scheduled on queue (late from a
    break, in an outage) were counted as joining the next interval, which they did not; the seats
    given on that projection left the floor one agent short. Only agents off queue *as scheduled*
    (a break, before their shift) join at a boundary."""
    from services.domain.surplus import project

    def scheduled(agent: str, when: datetime) -> bool:
        if agent == "returning":  # on break now, back on queue from the next interval
            return when >= NOW.replace(minute=15, second=0)
        return True  # "late" is scheduled on queue now and later, but off queue now

    assert project(NOW, 3, ["a"], ["late", "returning"], scheduled) == (1, 2, 2)
    required = (1.0, 3.0, 3.0)  # one trainee out: the next interval needs them back
    assert SurplusFigures(NOW, 1, 1, required, 1.0, projected=(1, 3, 3)).shortfall == 0  # "late" counted: no recall
    projected = project(NOW, 3, ["a"], ["late", "returning"], scheduled)
    assert SurplusFigures(NOW, 1, 1, required, 1.0, projected=projected).shortfall == 1  # the trainee comes back


def test_each_item_has_the_seats_of_the_intervals_it_spans() -> None:
    figures = SurplusFigures(NOW, 20, 0, (15.0, 15.0, 15.0, 19.5), 1.0)
    assert figures.seats_over(3) == 4  # a 30-minute item stays out of the busy fourth interval
    assert figures.seats_over(4) == figures.seats == 0  # a 45-minute one would reach it
    assert SurplusFigures(NOW, 20, 0, (15.0, 15.0, 15.0), 1.0, vetoed=(2,)).seats_over(2) == 4
    assert SurplusFigures(NOW, 20, 0, (15.0, 15.0, 15.0), 1.0, vetoed=(2,)).seats_over(3) == 0


def test_a_recall_for_the_next_interval_skips_trainees_back_before_it() -> None:
    next_start = interval_start(NOW) + timedelta(minutes=15)
    ends = {"a": next_start - timedelta(minutes=2), "b": next_start + timedelta(minutes=5),
            "c": next_start + timedelta(minutes=20), "d": next_start + timedelta(minutes=1)}
    # The next interval is 2 short: "a" is back by then anyway; "d" and "b" have the least time left after.
    assert recall_plan(ends, NOW, next_start, 0, 3) == ["d", "b"]
    # Short now: the least time left first, whoever it is; they cover the next interval too.
    assert recall_plan(ends, NOW, next_start, 1, 2) == ["a", "d"]
    assert recall_plan(ends, NOW, next_start, 0, 1) == []
