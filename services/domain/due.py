"""When an agent must next be evaluated, whatever the tick: the due-time index's one rule (pure).

A tick evaluates every agent every ``tick``; between ticks the monitor wakes at the earliest instant
something would change without any new live state: an open incident's next tier, the end of its
acknowledgement hold or of a snooze, the end of ``clear_after`` once back in adherence, the end of an approved
exception, and the agent's next schedule boundary (an activity starts or ends).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from services.domain.escalation import AgentTrack
from services.domain.model import AgentSchedule, ExceptionWindow


def next_due(track: AgentTrack | None, schedule: AgentSchedule | None, now: datetime, *,
             exceptions: Iterable[ExceptionWindow] = ()) -> datetime | None:
    """The earliest instant after ``now`` at which evaluating this agent could change something.

    An open incident follows the policy it froze when it opened (``incident.policy``), so no unit
    policy is needed here. Instants at or before ``now`` are not due again: what was due now has just
    been evaluated (a tier not fired now is held back by data we do not have, e.g. an UNKNOWN state;
    the next tick or live state decides it). ``None``: nothing is due before the next tick.
    """
    candidates: list[datetime] = []
    incident = track.incident if track is not None else None
    if incident is not None and not incident.is_closed:
        if incident.back_in_since is not None:
            candidates.append(incident.back_in_since + incident.policy.clear_after)
        snooze = incident.snooze
        if incident.hold_until is not None and now < incident.hold_until:
            candidates.append(incident.hold_until)  # the hold ends: tiers resume at that instant
        elif snooze is not None and snooze.active(now):
            candidates.append(snooze.until)  # the snooze ends: overdue tiers fire at that instant
        else:
            tier = incident.next_tier
            if tier is not None:
                candidates.append(incident.started_at + tier.after)
    if track is not None and track.exception is not None:
        candidates.append(track.exception.end)
    candidates.extend(window.end for window in exceptions)
    if schedule is not None:
        boundary = schedule.next_boundary_after(now)
        if boundary is not None:
            candidates.append(boundary)
    future = [when for when in candidates if when > now]
    return min(future) if future else None
