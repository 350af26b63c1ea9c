"""How booked times read: in the unit's time zone, with the zone named, and room names instead of ids."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from services.booking.model import BookedSlot


def local_span(start: datetime, end: datetime, time_zone: str | None) -> str:
    """``Mon 01 Jun 11:00-11:30 Europe/Berlin`` (``UTC`` when the zone is unknown)."""
    zone = ZoneInfo(time_zone) if time_zone else None
    first, last = (start.astimezone(zone), end.astimezone(zone)) if zone else (start, end)
    return f"{first:%a %d %b %H:%M}-{last:%H:%M} {time_zone or first.tzname() or 'UTC'}"


def slot_text(slot: BookedSlot, time_zone: str | None) -> str:
    where = f" in {slot.room_name or slot.room_id}" if slot.room_id else ""
    return f"{local_span(slot.start, slot.end, time_zone)}{where}"


def slots_text(slots: Sequence[BookedSlot], time_zone: str | None) -> str:
    return "; ".join(slot_text(slot, time_zone) for slot in slots)
