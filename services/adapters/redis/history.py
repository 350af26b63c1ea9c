"""The adherence history: per unit and day, each agent's scheduled seconds and seconds out of adherence.

The monitor's commit script writes it into one hash per unit per day (``UnitKeys.adherence_day``)
that lives ``HISTORY_TTL`` (35 days), so "the last N days" of ``/book-training`` targets outlives
the two-day ``out:<day>`` hashes.

The monitor accrues by segments (``accrual_args``): per agent, the day's open segment holds its
flags (``unit_tick.accrual_flags``: ``s`` scheduled, ``o`` out of adherence) and the unit's day
counter when it opened; each tick moves the one counter on by its seconds, and only an agent whose
flags change has its segment closed into the hashes. A reader adds the open segments
(``add_open``), so an unchanged agent costs nothing per tick. ``history_args`` (per-tick increments
for given agents) stays for direct writes.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from redis.asyncio import Redis

from services.adapters.redis_keys import UnitKeys

log = logging.getLogger(__name__)
SCHEDULED, OUT = "s:", "o:"
COUNTER = "@c"  # the unit's day counter in the segments hash: seconds accrued by ticks so far


def accrual_args(elapsed: float | None, changed: Mapping[str, str]) -> list[str]:
    """The commit script's accrual arguments: the tick's seconds ('' = no accrual: a push or due
    commit), then the agents whose flags may have changed, grouped by flags (a few strings however
    many agents)."""
    if elapsed is None:
        return ["", "0"]
    groups: dict[str, list[str]] = defaultdict(list)
    for agent_id, agent_flags in changed.items():
        groups[agent_flags].append(agent_id)
    args = [f"{elapsed:.3f}", str(len(groups))]
    for agent_flags, agents in groups.items():
        args += [agent_flags, "\n".join(agents)]
    return args


def open_segments(raw: Mapping[Any, Any]) -> dict[str, tuple[str, float]]:
    """agent -> (flags, seconds so far) of each open segment in one day's segments hash."""
    try:
        counter = float(raw.get(COUNTER, 0.0))
    except ValueError:
        log.error("unreadable accrual counter %r; ignoring the open segments", raw.get(COUNTER))
        return {}
    found: dict[str, tuple[str, float]] = {}
    for key, value in raw.items():
        name, text = str(key), str(value)
        if name == COUNTER:
            continue
        start, _, agent_flags = text.partition("|")
        try:
            found[name] = (agent_flags, max(0.0, counter - float(start)))
        except ValueError:
            log.error("unreadable accrual segment %s=%r; ignoring it", name, text)
    return found


def add_open(day: dict[str, tuple[float, float]], segments: Mapping[str, tuple[str, float]]) -> None:
    """Add the open segments to one day's agent -> (scheduled, out while scheduled) in place."""
    for agent_id, (agent_flags, seconds) in segments.items():
        if "s" in agent_flags:
            scheduled, out = day.get(agent_id, (0.0, 0.0))
            day[agent_id] = (scheduled + seconds, out + (seconds if "o" in agent_flags else 0.0))


def history_args(scheduled: Mapping[str, float], out: Mapping[str, float] | None) -> list[str]:
    """The commit script's history arguments for one tick: the number of groups, then per group a field
    prefix, the seconds to add and the agent ids joined by newlines. Scheduled seconds go to every
    scheduled agent, out seconds only while scheduled (time out off schedule would push adherence
    below 0 %). Every agent of a tick adds the same seconds, so there are one or two groups: the
    arguments stay a few strings however many agents (10,000 agents cost one join, not 20,000 args)."""
    groups: dict[tuple[str, float], list[str]] = defaultdict(list)
    for agent_id, seconds in scheduled.items():
        groups[(SCHEDULED, seconds)].append(agent_id)
        if out and agent_id in out:
            groups[(OUT, min(out[agent_id], seconds))].append(agent_id)
    args = [str(len(groups))]
    for (prefix, seconds), agents in groups.items():
        args += [prefix, f"{seconds:.3f}", "\n".join(agents)]
    return args


def parse_day(raw: Mapping[Any, Any]) -> dict[str, tuple[float, float]]:
    """agent -> (scheduled, out) from one day's hash."""
    scheduled: dict[str, float] = {}
    out: dict[str, float] = {}
    for key, value in raw.items():
        name = str(key)
        try:
            seconds = float(value)
        except ValueError:
            log.error("unreadable adherence history field %s=%r; ignoring it", name, value)
            continue
        if name.startswith(SCHEDULED):
            scheduled[name[len(SCHEDULED):]] = seconds
        elif name.startswith(OUT):
            out[name[len(OUT):]] = seconds
    return {agent: (seconds, out.get(agent, 0.0)) for agent, seconds in scheduled.items()}


@dataclass
class RedisAdherenceHistory:
    """``AdherenceHistory`` on Redis: two pipelined ``HGETALL`` per day asked for (the closed seconds and
    the open segments; all in the unit's slot)."""

    redis: Redis
    prefix: str = "adh"

    async def days(self, mu_id: str, days: Sequence[date]) -> dict[date, dict[str, tuple[float, float]]]:
        keys = UnitKeys(self.prefix, mu_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            for day in days:
                pipe.hgetall(keys.adherence_day(day))
                pipe.hgetall(keys.segments(day))
            rows = await pipe.execute()
        found: dict[date, dict[str, tuple[float, float]]] = {}
        for day, raw, segments in zip(days, rows[::2], rows[1::2], strict=True):
            parsed = parse_day(raw or {})
            add_open(parsed, open_segments(segments or {}))
            if parsed:
                found[day] = parsed
        return found
