"""Sharing management units between replicas: who is alive, and which units are mine.

Each replica beats into a live-replica registry (a lease a few ticks long) and takes the units the
rendezvous hash gives it among the live replicas. Ownership only decides who *tries*: every tick is
still claimed with ``SET NX`` and committed with its fencing token, so while replicas disagree
during a handover a tick is evaluated once at most, and a dead replica's units move to the others
when its lease runs out.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from services.domain.rendezvous import units_of

log = logging.getLogger(__name__)


class ReplicaRegistry(Protocol):
    async def beat(self, replica_id: str, now: datetime, lease: timedelta) -> Sequence[str]:
        """Renew this replica's lease; return every replica whose lease has not run out."""
        ...

    async def leave(self, replica_id: str) -> None:
        """Drop this replica at once (a clean shutdown), so its units move without waiting for the lease."""
        ...


class UnitOwnership:
    """The units this replica monitors and drains, refreshed on every tick."""

    def __init__(self, registry: ReplicaRegistry, replica_id: str, lease: timedelta) -> None:
        self.registry, self.replica_id, self.lease = registry, replica_id, lease
        self.live: tuple[str, ...] = (replica_id,)
        self._mine: list[str] | None = None

    async def refresh(self, unit_ids: Iterable[str], now: datetime) -> list[str]:
        units = list(unit_ids)
        try:
            live = tuple(sorted(await self.registry.beat(self.replica_id, now, self.lease)))
        except Exception:
            # Keep the last answer: the tick claims still stop two replicas evaluating one tick.
            log.exception("could not renew the replica lease; keeping the units of the last tick")
            return self.mine(units)
        if live != self.live:
            log.info("live replicas: %s", ", ".join(live))
        self.live = live
        mine = units_of(self.replica_id, units, live)
        if self._mine is not None and mine != self._mine:
            log.info("replica %s now monitors %d of %d unit(s)", self.replica_id, len(mine), len(units))
        self._mine = mine
        return mine

    def mine(self, unit_ids: Iterable[str]) -> list[str]:
        """The units of the last refresh (all of them before the first, as a single replica would)."""
        units = list(unit_ids)
        if self._mine is None:
            return units
        owned = set(self._mine)
        return [u for u in units if u in owned]

    async def leave(self) -> None:
        try:
            await self.registry.leave(self.replica_id)
        except Exception as error:  # shutting down anyway: the lease runs out by itself
            log.warning("could not leave the replica registry (%s); the lease expires in %s", error, self.lease)


def default_replica_id() -> str:
    """Unique per process and readable in logs: host name and PID."""
    return f"{socket.gethostname()}:{os.getpid()}"
