"""What an agent is doing at time ``t``: a pure function of their day (a timeline of modes) and ``t``.

On-queue handling is not stored as segments: the IDLE/INTERACTING rhythm is computed from a hash of
(agent key, cycle number), so any instant can be answered in O(log segments) without replaying the day.
Each cycle is an IDLE piece then an INTERACTING piece, each 20-90 s long.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from services.domain.states import ActivityCategory, Presence, RoutingStatus


class Mode(IntEnum):
    """What the agent does during a span; on-queue modes depend on the agent's presence style."""

    ON_QUEUE = 0  # handling contacts: routing flaps IDLE <-> INTERACTING
    INTERACTING = 1  # on one long contact
    OFFLINE = 2
    BREAK = 3
    MEAL = 4
    MEETING = 5
    TRAINING = 6
    AWAY = 7


MODE_OF_CATEGORY: dict[ActivityCategory, Mode] = {
    ActivityCategory.ON_QUEUE_WORK: Mode.ON_QUEUE,
    ActivityCategory.BREAK: Mode.BREAK,
    ActivityCategory.MEAL: Mode.MEAL,
    ActivityCategory.MEETING: Mode.MEETING,
    ActivityCategory.TRAINING: Mode.TRAINING,
}

OFF_QUEUE = RoutingStatus.OFF_QUEUE
_FIXED: dict[Mode, Presence] = {
    Mode.OFFLINE: Presence.OFFLINE,
    Mode.BREAK: Presence.BREAK,
    Mode.MEAL: Presence.MEAL,
    Mode.MEETING: Presence.MEETING,
    Mode.TRAINING: Presence.TRAINING,
    Mode.AWAY: Presence.AWAY,
}
# Modern agents report ON_QUEUE and let routing say idle/interacting; agents on the older presence
# style flap AVAILABLE/BUSY instead. Both are adherent on-queue combinations (the seed's trap).
_IDLE = (Presence.ON_QUEUE, Presence.AVAILABLE)
_BUSY = (Presence.ON_QUEUE, Presence.BUSY)

INFINITY = math.inf
_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_DAY = 86400.0


@dataclass(frozen=True, slots=True)
class Rhythm:
    """An agent's contact-handling rhythm: cycles of ``cycle`` seconds from ``origin``, each an IDLE
    piece of ``low + hash(key, cycle number) % span`` seconds followed by an INTERACTING piece."""

    key: int
    cycle: int
    low: int
    span: int
    origin: int

    @classmethod
    def of(cls, key: int) -> Rhythm:
        """Cycles of 100-150 s, split so that both pieces last 20-90 s."""
        cycle = 100 + key % 51
        low, high = max(20, cycle - 90), min(90, cycle - 20)
        return cls(key, cycle, low, high - low + 1, (key >> 8) % cycle)


def flap(rhythm: Rhythm, t: float) -> tuple[bool, float, float]:
    """(interacting?, piece start, piece end) of ``rhythm`` at ``t`` (epoch seconds)."""
    cycle, origin = rhythm.cycle, rhythm.origin
    k = (t - origin) // cycle
    start = origin + k * cycle
    # Fibonacci hashing of (key, k): one multiplication, well spread in the high bits.
    idle = rhythm.low + ((((rhythm.key ^ int(k)) * _GOLDEN) & _MASK) >> 37) % rhythm.span
    if t < start + idle:
        return False, start, start + idle
    return True, start + idle, start + cycle


@dataclass(frozen=True, slots=True)
class Timeline:
    """One agent's day as sorted, non-touching-equal spans (epoch seconds); outside them: OFFLINE."""

    starts: tuple[float, ...]
    ends: tuple[float, ...]
    modes: tuple[Mode, ...]
    logged_out_since: float  # when the agent logged off before this day (their previous shift end)

    @classmethod
    def of(cls, spans: Iterable[tuple[float, float, Mode]], logged_out_since: float) -> Timeline:
        merged: list[tuple[float, float, Mode]] = []
        for start, end, mode in sorted((s for s in spans if s[1] > s[0]), key=lambda s: s[0]):
            if merged and merged[-1][1] == start and merged[-1][2] is mode:
                merged[-1] = (merged[-1][0], end, mode)
            else:
                merged.append((start, end, mode))
        while merged and merged[-1][2] is Mode.OFFLINE:  # logging off early merges into "after shift"
            merged.pop()
        return cls(tuple(s[0] for s in merged), tuple(s[1] for s in merged), tuple(s[2] for s in merged),
                   logged_out_since)


StateAt = tuple[Presence, RoutingStatus, float, float]


def state_at(timeline: Timeline, rhythm: Rhythm, legacy: bool, t: float) -> StateAt:
    """(presence, routing, since, until): the state at ``t``, when it began and when it next changes."""
    starts = timeline.starts
    index = bisect_right(starts, t) - 1
    if index < 0:
        since = timeline.logged_out_since
        if t < since:  # before even the previous shift ended: offline since a whole number of days earlier
            since -= _DAY * math.ceil((since - t) / _DAY)
            return Presence.OFFLINE, OFF_QUEUE, since, since + _DAY
        return Presence.OFFLINE, OFF_QUEUE, since, starts[0] if starts else INFINITY
    end = timeline.ends[index]
    if t >= end:
        following = starts[index + 1] if index + 1 < len(starts) else INFINITY
        return Presence.OFFLINE, OFF_QUEUE, end, following
    mode = timeline.modes[index]
    if mode is Mode.ON_QUEUE:
        interacting, since, until = flap(rhythm, t)
        since, until = max(since, starts[index]), min(until, end)
        if interacting:
            return _BUSY[legacy], RoutingStatus.INTERACTING, since, until
        return _IDLE[legacy], RoutingStatus.IDLE, since, until
    if mode is Mode.INTERACTING:
        return _BUSY[legacy], RoutingStatus.INTERACTING, starts[index], end
    return _FIXED[mode], OFF_QUEUE, starts[index], end
