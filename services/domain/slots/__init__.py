"""Slot search for offline activities: where a meeting, coaching or training hurts service least.

Pure domain code (numpy, plus scipy's HiGHS for the batch refinement): no I/O, no clock.

* :mod:`grid` - the 15-minute time grid (local days, minutes, weekdays per interval).
* :mod:`model` - requests, recurrence, rooms, search parameters, placements, reasons, explanations.
* :mod:`problem` - the per-interval arrays the search reads, painted from calendars.
* :mod:`engine` - the exhaustive online search (one request at a time) with commit/release, built on
  :mod:`tasks` (a request laid on the grid), :mod:`evaluate` (the numpy search and choice),
  :mod:`board` (the held calendars, commit and undo) and :mod:`diagnose` (reasons and explanations).
* :mod:`batch` - batch mode (place many at once, then improve), :mod:`refine` - exact small LNS moves
  (import them directly: they load scipy, which the online search does not need).
* :mod:`erlang`, :mod:`staffing` - Erlang C and seeded staffing requirements.
"""

from services.domain.slots.engine import Booking, SlotEngine
from services.domain.slots.grid import TimeGrid
from services.domain.slots.model import (
    REASON_TEXT,
    Alternative,
    Explanation,
    IntervalImpact,
    Outcome,
    Placement,
    Reason,
    Recurrence,
    Room,
    SearchParams,
    SlotRequest,
    SlotState,
    state_for_category,
)
from services.domain.slots.problem import (
    AgentCalendar,
    FacilitatorCalendar,
    RoomCalendar,
    SlotProblem,
    StateSpan,
    build_problem,
)

__all__ = [
    "REASON_TEXT",
    "AgentCalendar",
    "Alternative",
    "Booking",
    "Explanation",
    "FacilitatorCalendar",
    "IntervalImpact",
    "Outcome",
    "Placement",
    "Reason",
    "Recurrence",
    "Room",
    "RoomCalendar",
    "SearchParams",
    "SlotEngine",
    "SlotProblem",
    "SlotRequest",
    "SlotState",
    "StateSpan",
    "TimeGrid",
    "build_problem",
    "state_for_category",
]
