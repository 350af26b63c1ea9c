"""Planting: each feasible request placed at a random feasible time, free of the earlier plants."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from services.domain.slots.model import SlotRequest
from services.domain.slots.recurrence import occurrence_periods
from services.domain.slots.sliding import all_over
from testing.slots_synthetic.calendars import BREAK, WORK, Calendars


class Planter:
    """Places requests at random feasible times, keeping the plants free of each other."""

    def __init__(self, cal: Calendars) -> None:
        self.cal = cal
        self.agent_used = np.zeros_like(cal.states, dtype=np.bool_)
        self.fac_used = np.zeros_like(cal.fac_avail)
        self.room_used = np.zeros_like(cal.room_open)
        self.agent_row = {a: i for i, a in enumerate(cal.agent_ids)}

    def plant(self, request: SlotRequest, rng: np.random.Generator) -> tuple[tuple[int, str | None], ...] | None:
        cal, grid = self.cal, self.cal.grid
        rows = np.array([self.agent_row[a] for a in request.attendees], dtype=np.intp)
        fac = cal.fac_ids.index(request.facilitator) if request.facilitator else -1
        d = request.duration_minutes // grid.minutes
        absorb = request.duration_minutes >= 120
        seats = request.room_capacity_needed
        rooms = [i for i, r in enumerate(cal.rooms) if r.capacity >= seats] if request.room_needed else []
        periods = occurrence_periods(request)
        gap = request.recurrence.min_gap_days if request.recurrence else 0
        for _ in range(20):
            spots: list[tuple[int, int]] = []
            last_day = -10 ** 6
            for period in periods:
                lo, hi = grid.day_span(period.first, period.last)
                starts = self._starts(request, rows, fac, rooms, lo, hi, d, absorb)
                starts = starts[grid.day[starts] >= last_day + gap]
                if not starts.size:
                    break
                s = int(starts[int(rng.integers(starts.size))])
                free_rooms = [m for m in rooms
                              if cal.room_open[m, s:s + d].all() and not self.room_used[m, s:s + d].any()]
                room = free_rooms[int(rng.integers(len(free_rooms)))] if rooms else -1
                spots.append((s, room))
                last_day = int(grid.day[s])
            else:
                return self._commit(request, rows, fac, spots, d)
        return None

    def _starts(self, request: SlotRequest, rows: NDArray[np.intp], fac: int, rooms: list[int], lo: int, hi: int,
                d: int, absorb: bool) -> NDArray[np.intp]:
        """Starts in ``[lo, hi)`` where the request fits the calendars and no earlier plant."""
        cal, grid = self.cal, self.cal.grid
        n = hi - lo - d + 1
        if n <= 0:
            return np.zeros(0, dtype=np.intp)
        starts = np.arange(lo, lo + n, dtype=np.intp)
        minute = grid.minute[starts]
        ok = ((minute >= request.earliest_minute) & (minute + d * grid.minutes <= request.latest_minute)
              & np.isin(grid.weekday[starts], list(request.weekdays)) & (grid.day[starts + d - 1] == grid.day[starts]))
        block = cal.states[rows, lo:hi]
        good = (block == WORK) | (block == BREAK) if absorb else block == WORK
        ok &= all_over((good & ~self.agent_used[rows, lo:hi]).all(axis=0), d)
        if fac >= 0:
            ok &= all_over(cal.fac_avail[fac, lo:hi] & ~self.fac_used[fac, lo:hi], d)
        if request.room_needed:
            if not rooms:
                return np.zeros(0, dtype=np.intp)
            ok &= all_over(cal.room_open[rooms, lo:hi] & ~self.room_used[rooms, lo:hi], d).any(axis=0)
        return np.asarray(starts[ok], dtype=np.intp)

    def _commit(self, request: SlotRequest, rows: NDArray[np.intp], fac: int, spots: list[tuple[int, int]],
                d: int) -> tuple[tuple[int, str | None], ...]:
        cal = self.cal
        out: list[tuple[int, str | None]] = []
        for s, room in spots:
            self.agent_used[rows, s:s + d] = True
            if fac >= 0:
                self.fac_used[fac, s:s + d] = True
                cal.fac_busy[fac, s:s + d] = False  # clear the calendar at the planted slot
            if room >= 0:
                self.room_used[room, s:s + d] = True
                cal.room_busy[room, s:s + d] = False
            out.append((s, cal.rooms[room].id if room >= 0 else None))
        return tuple(out)
