"""Activities written to the simulated WFM, applied to the agents' schedules and behaviour.

When the bot writes an activity (a booking, or training delivered in surplus), the simulated WFM
publishes it on the agent's schedule, so the monitor sees the agent as scheduled for it, and the
simulated agent does it (goes to training). An activity cancelled and written again shorter (a
recall) moves both, except for agents told to ignore recalls: their behaviour keeps the first one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.adapters.simulated.behaviour import MODE_OF_CATEGORY, Mode, Timeline
from services.adapters.simulated.segments import paint
from services.domain.model import AgentSchedule, ScheduledActivity
from services.domain.states import ActivityCategory


@dataclass(frozen=True, slots=True)
class Overlay:
    key: str
    agent_id: str
    start: datetime
    end: datetime
    category: ActivityCategory
    code_id: str = ""
    name: str = ""


def overlay_schedule(schedule: AgentSchedule, overlays: list[Overlay]) -> AgentSchedule:
    """``schedule`` with each overlay cut in (later overlays win where they overlap)."""
    activities = list(schedule.activities)
    for o in sorted(overlays, key=lambda o: o.start):
        cut: list[ScheduledActivity] = []
        for a in activities:
            if a.end <= o.start or a.start >= o.end:
                cut.append(a)
                continue
            if a.start < o.start:
                cut.append(ScheduledActivity(a.start, o.start, a.category, a.code_id, a.name))
            if a.end > o.end:
                cut.append(ScheduledActivity(o.end, a.end, a.category, a.code_id, a.name))
        cut.append(ScheduledActivity(o.start, o.end, o.category, o.code_id, o.name))
        activities = cut
    return AgentSchedule.of(schedule.agent_id, activities)


def overlay_timeline(timeline: Timeline, overlays: list[Overlay]) -> Timeline:
    """What the agent does: ``timeline`` with each overlay's activity painted over it."""
    spans = list(zip(timeline.starts, timeline.ends, timeline.modes, strict=True))
    for o in sorted(overlays, key=lambda o: o.start):
        lo, hi = o.start.timestamp(), o.end.timestamp()
        mode = MODE_OF_CATEGORY.get(o.category, Mode.TRAINING)
        spans = paint(spans, lo, hi, mode)
    return Timeline.of(spans, timeline.logged_out_since)
