"""Surplus on the floor, from counts and requirements: pure rules, no I/O.

A unit has a *surplus* when the agents on queue and available now exceed the staffing requirement
of this 15-minute interval **and** of the next ``look_ahead`` intervals by at least ``margin``
agents. The number of agents that may leave the queue for self-paced training is the smallest
excess over those intervals, less the margin. When the agents on queue fall short of the
requirement of this interval or the next, service needs agents back: :func:`recall_order` picks
the trainees with the least time left first (they lose the least training by coming back).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

INTERVAL = timedelta(minutes=15)


def interval_start(when: datetime) -> datetime:
    """The start of the 15-minute interval holding ``when`` (same time zone)."""
    return when.replace(minute=when.minute - when.minute % 15, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class SurplusFigures:
    """What the surplus was computed from, for one unit at one moment (shown by ``/adherence surplus``).

    ``available`` are agents on queue now; ``in_training`` agents the bot sent to training (they
    count as staff that could come back, so the seats already taken are not counted twice);
    ``required`` the requirement of this interval and each look-ahead interval.
    """

    at: datetime
    available: int
    in_training: int
    required: tuple[float, ...]
    margin: float
    waiting: int = 0  # contacts waiting in queue now (0 when not read)
    projected: tuple[int, ...] = ()  # agents expected on queue per interval (live now, moved by the schedule)
    vetoed: tuple[int, ...] = ()  # intervals the WFM expects to miss service in (no surplus whatever the staff)
    why: tuple[str, ...] = ()  # what the intraday figures and the queues changed, or why they were not read

    def staff(self, index: int) -> int:
        """Agents expected on queue in interval ``index``: the projection, else the live count."""
        return self.projected[index] if index < len(self.projected) else self.available

    @property
    def net(self) -> tuple[float, ...]:
        """Net staffing per interval: on queue (plus trainees who could return) minus the requirement."""
        return tuple(self.staff(i) + self.in_training - r for i, r in enumerate(self.required))

    @property
    def seats(self) -> int:
        """How many agents in total may be in training now; 0 when no surplus holds over the look-ahead."""
        return self.seats_over(len(self.required))

    def seats_over(self, intervals: int) -> int:
        """The seats for a training that spans the first ``intervals`` intervals (a shorter item may
        have more than a longer one, whose span reaches a busier interval)."""
        span = self.net[:max(1, intervals)]
        if not span or self.waiting > 0 or any(i < len(span) for i in self.vetoed):
            return 0
        return max(0, math.floor(min(span) - self.margin + 1e-9))

    @property
    def surplus(self) -> bool:
        return self.seats > self.in_training

    @property
    def free_seats(self) -> int:
        return max(0, self.seats - self.in_training)

    @property
    def shortfall(self) -> int:
        """Agents missing in this interval or the next (trainees not counted: they are the ones to recall).

        The next interval counts too so that recalled agents are back on queue (after the short
        grace) before the interval that needs them begins."""
        if not self.required:
            return 0
        return max(0, max(math.ceil(r - self.staff(i) - 1e-9) for i, r in enumerate(self.required[:2])))

    def short(self, index: int) -> int:
        """Agents missing in interval ``index`` (trainees not counted)."""
        if index >= len(self.required):
            return 0
        return max(0, math.ceil(self.required[index] - self.staff(index) - 1e-9))

    @property
    def recalls(self) -> int:
        """Trainees to send back to the queue: enough to cover the current interval's requirement."""
        return min(self.in_training, self.shortfall)


def recall_plan(trainees: Mapping[str, datetime], now: datetime, next_start: datetime, short_now: int,
                short_next: int) -> list[str]:
    """Who comes back: ``short_now`` trainees with the least time left, for this interval; then, for
    the next one, trainees whose training ends before it starts count as back already, and the rest
    of its shortfall is met by the trainees with the least time left among those still out by then."""
    order = recall_order(trainees, now)
    chosen = order[:short_now]
    covered = sum(1 for a in trainees if trainees[a] <= next_start) + sum(
        1 for a in chosen if trainees[a] > next_start)
    still_out = [a for a in order if a not in chosen and trainees[a] > next_start]
    return chosen + still_out[:max(0, short_next - covered)]


@dataclass(frozen=True, slots=True)
class Candidate:
    """An agent idle on queue now, with what decides whether an offer may go to them."""

    agent_id: str
    team_id: str
    shift_end: datetime | None
    last_offered: datetime | None = None


def project(now: datetime, intervals: int, on_queue: Iterable[str], off_queue: Iterable[str],
            scheduled_on_queue: Callable[[str, datetime], bool], *, samples: int = 3) -> tuple[int, ...]:
    """Agents expected on queue in each of ``intervals`` intervals from now: those on queue now, less
    those whose schedule takes them off queue (a break) during the interval, plus those off queue now
    *as scheduled* (a break, before their shift) whom the schedule puts on queue for the whole interval.

    An agent off queue while scheduled on queue now is late or absent (a late return, an outage): the
    schedule does not say when they come back, so they are not expected in any interval. Counting
    them at the next boundary projected staff that never came (benchmark day 4, 09:45: 407 projected,
    406 required, 405 on queue)."""
    on = list(on_queue)
    off = [a for a in off_queue if not scheduled_on_queue(a, now)]
    first = interval_start(now)
    out: list[int] = []
    for i in range(intervals):
        start = max(now, first + i * INTERVAL)
        end = first + (i + 1) * INTERVAL
        points = [start + (end - start) * k / samples for k in range(samples)]
        leaving = sum(1 for a in on if not all(scheduled_on_queue(a, p) for p in points))
        joining = sum(1 for a in off if all(scheduled_on_queue(a, p) for p in points))
        out.append(len(on) - leaving + joining)
    return tuple(out)


def eligible(candidates: Iterable[Candidate], now: datetime, *, last_hour: timedelta, cooldown: timedelta,
             audience: frozenset[str] | None, team_size: Mapping[str, int], team_in_training: Mapping[str, int],
             max_share: float) -> list[Candidate]:
    """Agents who may be offered now: not in their last hour, not offered within ``cooldown``, in the
    item's audience (``None``: everyone), and whose team stays under ``max_share`` in training.

    The result is in a stable order (agent id) so two replicas would offer to the same agents."""
    taken = dict(team_in_training)
    out: list[Candidate] = []
    for candidate in sorted(candidates, key=lambda c: c.agent_id):
        if candidate.shift_end is None or candidate.shift_end - now < last_hour:
            continue
        if candidate.last_offered is not None and now - candidate.last_offered < cooldown:
            continue
        if audience is not None and candidate.team_id not in audience:
            continue
        cap = math.floor(team_size.get(candidate.team_id, 0) * max_share + 1e-9)
        if taken.get(candidate.team_id, 0) >= cap:
            continue
        taken[candidate.team_id] = taken.get(candidate.team_id, 0) + 1
        out.append(candidate)
    return out


def recall_order(trainees: Mapping[str, datetime], now: datetime) -> list[str]:
    """Trainees by time left (activity end minus now), least first; ties by agent id."""
    return [agent for agent, _ in sorted(trainees.items(), key=lambda kv: (kv[1] - now, kv[0]))]


def in_quiet_hours(minute_of_day: int, windows: Sequence[tuple[int, int]]) -> bool:
    """Whether a local minute of day falls in any (start, end) window; a window may wrap midnight."""
    for start, end in windows:
        if start <= end and start <= minute_of_day < end:
            return True
        if start > end and (minute_of_day >= start or minute_of_day < end):
            return True
    return False
