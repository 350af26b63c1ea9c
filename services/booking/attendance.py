"""Attendance registers: one per booked request, exportable as CSV."""

from __future__ import annotations

import csv
import io

from services.booking.model import Register


def register_csv(register: Register) -> str:
    """The register as CSV: one row per attendee and session."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["request", "title", "type", "session", "start", "end", "room", "facilitator", "agent_id",
                     "agent_name", "attended"])
    for slot in register.sessions:
        for agent_id, name in register.attendees:
            if agent_id not in slot.attendees:
                continue
            writer.writerow([register.request_id, register.title, register.type_name,
                             f"{slot.occurrence + 1}.{slot.session + 1}", slot.start.isoformat(), slot.end.isoformat(),
                             slot.room_id or "", register.facilitator or "", agent_id, name,
                             "yes" if agent_id in register.attended else "no"])
    return out.getvalue()
