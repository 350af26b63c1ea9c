"""Recurring requests: one occurrence per period, the periods cut from the request's window.

Daily periods are ``every`` days long from the window's first day; weekly periods are ``every``
ISO weeks (Monday to Sunday) from the week holding the first day; monthly periods are ``every``
calendar months from the first day's month. Each occurrence may land anywhere in its period
that is also inside the window (and before ``until``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from services.domain.slots.model import SlotRequest


@dataclass(frozen=True, slots=True)
class Period:
    index: int
    first: date
    last: date  # inclusive


def _add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    return date(day.year + month0 // 12, month0 % 12 + 1, 1)


def occurrence_periods(request: SlotRequest) -> list[Period]:
    """The day ranges the request's occurrences must fall in (one range if it does not repeat)."""
    rule = request.recurrence
    if rule is None:
        return [Period(0, request.window_start, request.window_end)]
    last_allowed = request.window_end if rule.until is None else min(rule.until, request.window_end)
    periods: list[Period] = []
    begin = request.window_start
    if rule.frequency == "weekly":
        begin = begin - timedelta(days=begin.weekday())
    elif rule.frequency == "monthly":
        begin = begin.replace(day=1)
    while begin <= last_allowed:
        if rule.frequency == "daily":
            nxt = begin + timedelta(days=rule.every)
        elif rule.frequency == "weekly":
            nxt = begin + timedelta(weeks=rule.every)
        else:
            nxt = _add_months(begin, rule.every)
        first, last = max(begin, request.window_start), min(nxt - timedelta(days=1), last_allowed)
        if first <= last:
            periods.append(Period(len(periods), first, last))
        if rule.count is not None and len(periods) >= rule.count:
            break
        begin = nxt
    return periods
