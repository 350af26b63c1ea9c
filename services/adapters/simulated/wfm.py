"""The simulated WFM's activity writer: any ``ActivityWriter`` (the Redis activity log), and the
simulator applies each written activity to the agents' schedules and behaviour."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.adapters.simulated.overlay import Overlay
from services.adapters.simulated.source import SimulatedContactCenter
from services.booking.ports import ActivityWriter, OfflineActivity


class SimulatedWfmWriter:
    def __init__(self, inner: ActivityWriter, simulator: SimulatedContactCenter) -> None:
        self.inner, self.simulator = inner, simulator

    async def write_activity(self, activity: OfflineActivity) -> str:
        written = await self.inner.write_activity(activity)
        for agent in activity.attendees:
            self.simulator.apply_activity(Overlay(f"{activity.key}|{agent}", agent, activity.start, activity.end,
                                                  activity.category, activity.code_id, activity.name))
        return written

    async def cancel_activity(self, key: str) -> None:
        await self.inner.cancel_activity(key)
        self.simulator.remove_activities(f"{key}|")

    async def activities(self, mu_id: str, start: datetime, end: datetime) -> Sequence[OfflineActivity]:
        return await self.inner.activities(mu_id, start, end)

