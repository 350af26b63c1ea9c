"""A replica's heartbeat, written only after a tick it committed (what /health trusts): when, which
units, and the outbox backlog of those units."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from services.ports import MonitorStore

log = logging.getLogger(__name__)

HEARTBEAT_TICKS = 20  # a replica's heartbeat outlives this many ticks (health tells "stale" from "gone")


async def write_heartbeat(store: MonitorStore, replica_id: str, now: datetime, committed: Sequence[str],
                          tick: timedelta) -> None:
    """Never raises: a heartbeat that cannot be written is logged (health then sees it stale)."""
    try:
        # One round trip per unit, side by side: the heartbeat follows every tick, it must not add up.
        backlogs = await asyncio.gather(*(store.outbox_backlog(mu_id, now) for mu_id in committed))
        oldest = min((now - age for _, age in backlogs if age is not None), default=None)
        beat = {
            "at": now.isoformat(), "units": list(committed),
            "outbox_backlog": sum(count for count, _ in backlogs),
            "oldest_undelivered_at": oldest.isoformat() if oldest else None,
            "oldest_undelivered_age_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
        }
        await store.write_heartbeat(replica_id, beat, tick * HEARTBEAT_TICKS)
    except Exception:
        log.warning("could not write the heartbeat of replica %s", replica_id, exc_info=True)
