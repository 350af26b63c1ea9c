"""Console progress notices: the embedded default when Slack is not configured (and the CLI's output)."""

from __future__ import annotations

import sys
from typing import TextIO

from services.booking.model import BookingRequest, Progress, Status

_MARK = {Status.QUEUED: "queued", Status.SEARCHING: "searching", Status.BOOKED: "BOOKED",
         Status.NEEDS_REVIEW: "NEEDS REVIEW", Status.CANCELLED: "cancelled",
         Status.HELD: "HELD", Status.RELEASED: "released"}


class ConsoleNotifier:
    def __init__(self, out: TextIO | None = None, *, verbose: bool = True) -> None:
        self.out, self.verbose = out, verbose

    async def notify(self, request: BookingRequest, progress: Progress) -> None:
        if not self.verbose and progress.status in (Status.QUEUED, Status.SEARCHING):
            return
        stream = self.out or sys.stdout
        stream.write(f"[{_MARK.get(progress.status, progress.status)}] {request.id} ({request.requester}): "
                     f"{progress.text}\n")
        for slot, why in zip(progress.slots, progress.why, strict=False):
            stream.write(f"    {slot.start:%a %d %b %H:%M}-{slot.end:%H:%M}"
                         f"{' in ' + slot.room_id if slot.room_id else ''}: {why}\n")
