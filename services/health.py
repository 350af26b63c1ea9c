"""Is the service doing its job? The answer behind ``/health``.

Healthy means work is actually being done, not that the process is alive: some replica committed a
tick within ``missed_ticks`` tick intervals (each replica writes its heartbeat only after a
committed tick), no delivery has waited in the outbox longer than ``max_outbox_age``, the live feed
has not been down longer than ``stale_after``, and Slack (when configured) is connected. Every
failed condition is named in ``reasons``. Time comes from the injected clock.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.ports import Clock, Heartbeats

log = logging.getLogger(__name__)


FeedDownSince = Callable[[], datetime | None]
"""Since when the live WFM feed has been down (None: up, or a source without a feed)."""

SlackConnected = Callable[[], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    tick: timedelta
    stale_after: timedelta
    max_outbox_age: timedelta
    missed_ticks: int = 3

    @property
    def max_commit_age(self) -> timedelta:
        return self.tick * self.missed_ticks


@dataclass(frozen=True, slots=True)
class HealthReport:
    healthy: bool
    reasons: tuple[str, ...]
    body: dict[str, Any] = field(default_factory=dict)


class ServiceHealth:
    """``slack`` None: no Slack configured (the console stands in), reported as ``"console"``."""

    def __init__(self, *, heartbeats: Heartbeats, clock: Clock, policy: HealthPolicy, replica_id: str,
                 feed_down_since: FeedDownSince | None = None, slack: SlackConnected | None = None) -> None:
        self.heartbeats, self.clock, self.policy, self.replica_id = heartbeats, clock, policy, replica_id
        self.feed_down_since = feed_down_since
        self.slack = slack

    async def check(self) -> HealthReport:
        now = self.clock.now()
        reasons: list[str] = []
        monitor, outbox = await self._monitor(now, reasons)
        feed = self._feed(now, reasons)
        slack = await self._slack(reasons)
        body = {"status": "ok" if not reasons else "degraded", "reasons": reasons, "monitor": monitor,
                "outbox": outbox, "genesys": feed, "slack": slack}
        return HealthReport(not reasons, tuple(reasons), body)

    async def _monitor(self, now: datetime, reasons: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        limit = self.policy.max_commit_age
        try:
            beats = list(await self.heartbeats.heartbeats())
        except Exception as error:
            log.warning("health: could not read the heartbeats", exc_info=True)
            reasons.append(f"state store unreachable: {type(error).__name__}")
            return {"replicas": []}, {"backlog": None, "oldest_undelivered_age_seconds": None}
        replicas = []
        for beat in beats:
            at = _time(beat.get("at"))
            replicas.append({"replica": beat.get("replica"), "last_commit_age_seconds": _age(now, at),
                             "units": beat.get("units", []), "outbox_backlog": beat.get("outbox_backlog")})
        latest = max((a for a in (_time(b.get("at")) for b in beats) if a is not None), default=None)
        if latest is None:
            reasons.append("no unit has committed a tick (no heartbeat from any replica)")
        elif now - latest > limit:
            reasons.append(f"no unit has committed a tick for {_age(now, latest):.0f}s "
                           f"(limit {limit.total_seconds():.0f}s)")
        fresh = [b for b in beats if (a := _time(b.get("at"))) is not None and now - a <= limit]
        oldest = min((o for o in (_time(b.get("oldest_undelivered_at")) for b in fresh) if o is not None),
                     default=None)
        bound = self.policy.max_outbox_age
        if oldest is not None and now - oldest > bound:
            reasons.append(f"the oldest undelivered outbox entry has waited {_age(now, oldest):.0f}s "
                           f"(limit {bound.total_seconds():.0f}s)")
        mine = next((r for r in replicas if r["replica"] == self.replica_id), None)
        monitor = {"last_commit_age_seconds": _age(now, latest), "max_age_seconds": limit.total_seconds(),
                   "this_replica": self.replica_id, "this_replica_committed": mine is not None,
                   "replicas": replicas}
        outbox = {"backlog": sum(int(b.get("outbox_backlog") or 0) for b in fresh),
                  "oldest_undelivered_age_seconds": _age(now, oldest), "max_age_seconds": bound.total_seconds()}
        return monitor, outbox

    def _feed(self, now: datetime, reasons: list[str]) -> dict[str, Any] | str:
        if self.feed_down_since is None:
            return "simulator"
        since = self.feed_down_since()
        if since is None:
            return {"feed": "up"}
        if now - since > self.policy.stale_after:
            reasons.append(f"the Genesys live feed has been down for {_age(now, since):.0f}s "
                           f"(limit {self.policy.stale_after.total_seconds():.0f}s)")
        return {"feed": "down", "down_since": since.isoformat(), "down_seconds": _age(now, since)}

    async def _slack(self, reasons: list[str]) -> dict[str, Any] | str:
        if self.slack is None:
            return "console"
        try:
            connected = await self.slack()
        except Exception:
            log.warning("health: could not check the Slack connection", exc_info=True)
            connected = False
        if not connected:
            reasons.append("Slack is not connected")
        return {"connected": connected}


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else round((now - then).total_seconds(), 1)
