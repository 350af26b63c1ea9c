"""The whole Redis key schema, in one place.

Every key of a management unit carries the unit id as a hash tag (``{mu-1}``) so that all of a
unit's keys live in one Redis Cluster slot and a Lua script may touch them together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

#: How long any key lives without being touched again. Every write refreshes it.
STATE_TTL = timedelta(days=2)
AUDIT_TTL = timedelta(days=14)
AUDIT_MAXLEN = 200_000


@dataclass(frozen=True, slots=True)
class UnitKeys:
    prefix: str
    mu_id: str

    @property
    def _base(self) -> str:
        return f"{self.prefix}:{{{self.mu_id}}}"

    @property
    def tracks(self) -> str:
        """HASH agent id -> AgentTrack JSON (only agents with something to remember)."""
        return f"{self._base}:tracks"

    def tick_claim(self, tick_number: int) -> str:
        """STRING fencing token of the replica that claimed this tick of this unit."""
        return f"{self._base}:tick:{tick_number}"

    @property
    def audit(self) -> str:
        """STREAM of every transition and action."""
        return f"{self._base}:audit"

    @property
    def outbox(self) -> str:
        """STREAM of deliveries (Slack, email, coaching) still to make; consumer group ``dispatch``."""
        return f"{self._base}:outbox"

    @property
    def delivered(self) -> str:
        """HASH delivery key -> when, so a retried outbox entry is never delivered twice."""
        return f"{self._base}:delivered"

    @property
    def retries(self) -> str:
        """HASH outbox entry id -> JSON {attempts, next_at} for deliveries that failed."""
        return f"{self._base}:retries"

    @property
    def cards(self) -> str:
        """HASH incident id (or ``storm:<id>``) -> MessageRef JSON of its Slack card."""
        return f"{self._base}:cards"

    @property
    def closed(self) -> str:
        """HASH incident id -> the incident as it closed (for late card updates and App Home)."""
        return f"{self._base}:closed"

    @property
    def status(self) -> str:
        """HASH agent id -> compact latest evaluation (for ``/adherence team``)."""
        return f"{self._base}:status"

    def out_seconds(self, day: date) -> str:
        """HASH agent id -> seconds out of adherence on ``day`` (for adherence %)."""
        return f"{self._base}:out:{day.isoformat()}"


def heartbeat_key(prefix: str, replica_id: str) -> str:
    """STRING (with a TTL) one replica's heartbeat JSON, written after each tick it committed.

    ``{monitor}`` is a hash tag: every heartbeat and the index share one Cluster slot (one MGET)."""
    return f"{prefix}:{{monitor}}:heartbeat:{replica_id}"


def heartbeats_key(prefix: str) -> str:
    """SET of replica ids that wrote a heartbeat (ids whose heartbeat expired are pruned on read).

    Not the live-replica registry (``replicas.py``, a sorted set): that one says who shares the units,
    this one only indexes the heartbeats /health reads."""
    return f"{prefix}:{{monitor}}:heartbeats"
