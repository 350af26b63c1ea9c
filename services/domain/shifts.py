"""Where an agent's shift ends: the end of the run of scheduled activities going on now."""

from __future__ import annotations

from datetime import datetime

from services.domain.model import AgentSchedule


def shift_end(schedule: AgentSchedule, now: datetime) -> datetime | None:
    """The end of the contiguous activities covering ``now`` (None when nothing is scheduled now)."""
    end: datetime | None = None
    for activity in schedule.activities:
        if activity.end <= now:
            continue
        if end is None:
            if activity.start > now:
                return None
            end = activity.end
        elif activity.start <= end:
            end = max(end, activity.end)
        else:
            break
    return end
