"""Recurring requests: one occurrence per period, the periods cut from the request's window.

Daily periods are ``every`` days long from the window's first day; weekly periods are ``every``
ISO weeks (Monday to Sunday) from the week holding the first day; monthly periods are ``every``
calendar months from the first day's month. Each occurrence may land anywhere in its period
that is also inside the window (and before ``until``). The period starts are a ``dateutil`` rrule
(calendar months of any length, across year ends), anchored on the day, Monday or 1st.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, rrule

from services.domain.slots.model import Frequency, SlotRequest

_FREQ: dict[Frequency, Literal[1, 2, 3]] = {"daily": DAILY, "weekly": WEEKLY, "monthly": MONTHLY}


@dataclass(frozen=True, slots=True)
class Period:
    index: int
    first: date
    last: date  # inclusive


def _anchor(day: date, frequency: Frequency) -> date:
    """The start of the period holding ``day``: itself, its week's Monday, or its month's 1st."""
    if frequency == "weekly":
        return day - timedelta(days=day.weekday())
    if frequency == "monthly":
        return day.replace(day=1)
    return day


def occurrence_periods(request: SlotRequest) -> list[Period]:
    """The day ranges the request's occurrences must fall in (one range if it does not repeat)."""
    rule = request.recurrence
    if rule is None:
        return [Period(0, request.window_start, request.window_end)]
    last_allowed = request.window_end if rule.until is None else min(rule.until, request.window_end)
    starts = rrule(_FREQ[rule.frequency], interval=rule.every, dtstart=_anchor(request.window_start, rule.frequency))
    periods: list[Period] = []
    for begin, following in itertools.pairwise(start.date() for start in starts):
        if begin > last_allowed or (rule.count is not None and len(periods) >= rule.count):
            break
        first, last = max(begin, request.window_start), min(following - timedelta(days=1), last_allowed)
        if first <= last:  # empty only when ``until`` falls before the window opens
            periods.append(Period(len(periods), first, last))
    return periods
