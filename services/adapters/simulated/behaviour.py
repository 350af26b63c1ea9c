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
from datetime import UTC, datetime
from enum import IntEnum

from services.domain.model import AgentState
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


def agent_state(agent_id: str, timeline: Timeline, rhythm: Rhythm, legacy: bool, t: float,
                report_every: int) -> tuple[AgentState, float]:
    """The state agent ``agent_id`` reports at ``t`` (epoch seconds), and when that answer stops holding.

    ``since`` is when the state began (span start or flap-piece start). ``observed_at`` is the latest
    report: an unchanged state is re-confirmed every ``report_every`` seconds from when it began, like a
    presence heartbeat, so observed_at is never more than ``report_every`` old. This is the hot path of
    :class:`~services.adapters.simulated.live.LiveStates`, hence the flat code.
    """
    starts = timeline.starts
    index = bisect_right(starts, t) - 1
    routing = OFF_QUEUE
    if index < 0:
        presence, since = Presence.OFFLINE, timeline.logged_out_since
        until = starts[0] if starts else INFINITY
        if t < since:  # before even the previous shift ended: offline since a whole number of days earlier
            since -= _DAY * math.ceil((since - t) / _DAY)
            until = since + _DAY
    elif t >= timeline.ends[index]:
        presence, since = Presence.OFFLINE, timeline.ends[index]
        until = starts[index + 1] if index + 1 < len(starts) else INFINITY
    else:
        mode, since, until = timeline.modes[index], starts[index], timeline.ends[index]
        if mode is Mode.ON_QUEUE:
            interacting, piece_start, piece_end = flap(rhythm, t)
            if piece_start > since:
                since = piece_start
            if piece_end < until:
                until = piece_end
            if interacting:
                presence, routing = _BUSY[legacy], RoutingStatus.INTERACTING
            else:
                presence, routing = _IDLE[legacy], RoutingStatus.IDLE
        elif mode is Mode.INTERACTING:
            presence, routing = _BUSY[legacy], RoutingStatus.INTERACTING
        else:
            presence = _FIXED[mode]
    if t - since < report_every:  # the usual case: the report is the change itself
        began = observed = datetime.fromtimestamp(since, UTC)
        reported = since
    else:
        reported = since + ((t - since) // report_every) * report_every
        began, observed = datetime.fromtimestamp(since, UTC), datetime.fromtimestamp(reported, UTC)
    if reported + report_every < until:
        until = reported + report_every
    return AgentState(agent_id, presence, routing, began, observed), until
