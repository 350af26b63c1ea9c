"""The adherence history: per unit and day, each agent's scheduled seconds and seconds out of adherence.

The monitor's commit script writes it (``history_args`` builds its arguments) into one hash
per unit per day (``UnitKeys.adherence_day``) that lives ``HISTORY_TTL`` (35 days), so "the last N
days" of ``/book-training`` targets outlives the two-day ``out:<day>`` hashes.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from redis.asyncio import Redis

from services.adapters.redis.keys import UnitKeys

log = logging.getLogger(__name__)
SCHEDULED, OUT = "s:", "o:"


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
    """``AdherenceHistory`` on Redis: one pipelined ``HGETALL`` per day asked for (all in the unit's slot)."""

    redis: Redis
    prefix: str = "adh"

    async def days(self, mu_id: str, days: Sequence[date]) -> dict[date, dict[str, tuple[float, float]]]:
        keys = UnitKeys(self.prefix, mu_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            for day in days:
                pipe.hgetall(keys.adherence_day(day))
            rows = await pipe.execute()
        found: dict[date, dict[str, tuple[float, float]]] = {}
        for day, raw in zip(days, rows, strict=True):
            parsed = parse_day(raw or {})
            if parsed:
                found[day] = parsed
        return found
