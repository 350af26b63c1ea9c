"""Redis key schema of the booking side, in one place.

Every key carries the ``{booking}`` hash tag so the Lua scripts may touch any of them on Redis
Cluster, and every key gets a TTL refreshed on write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

BOOKING_TTL = timedelta(days=120)
GROUP = "bookers"


@dataclass(frozen=True, slots=True)
class BookingKeys:
    prefix: str = "adh"

    @property
    def _base(self) -> str:
        return f"{self.prefix}:{{booking}}"

    @property
    def requests(self) -> str:
        """STREAM of submitted requests, arrival order; consumer group ``bookers``."""
        return f"{self._base}:requests"

    def submitted(self, request_id: str) -> str:
        """STRING marker: this request id was queued once (idempotent submit)."""
        return f"{self._base}:submitted:{request_id}"

    @property
    def request_json(self) -> str:
        """HASH request id -> BookingRequest JSON."""
        return f"{self._base}:request"

    @property
    def status(self) -> str:
        """HASH request id -> status."""
        return f"{self._base}:status"

    @property
    def plans(self) -> str:
        """HASH request id -> Plan JSON (written once)."""
        return f"{self._base}:plans"

    def steps(self, request_id: str) -> str:
        """SET of write-back steps already done for a request."""
        return f"{self._base}:steps:{request_id}"

    @property
    def work(self) -> str:
        """HASH request id -> WorkItem JSON (the manual work queue)."""
        return f"{self._base}:work"

    @property
    def work_order(self) -> str:
        """ZSET request id by time added (oldest first)."""
        return f"{self._base}:work:order"

    def work_outcome(self, request_id: str) -> str:
        """STRING WorkOutcome JSON: what a scheduler did with a work item (own TTL, so it expires alone)."""
        return f"{self._base}:work:done:{request_id}"

    @property
    def registers(self) -> str:
        """HASH request id -> attendance Register JSON."""
        return f"{self._base}:registers"

    @property
    def templates(self) -> str:
        """HASH template id -> recurring Template JSON."""
        return f"{self._base}:templates"

    def activities(self, mu_id: str) -> str:
        """HASH activity key -> OfflineActivity JSON written to the (simulated) WFM."""
        return f"{self._base}:activities:{mu_id}"

    def activity_starts(self, mu_id: str) -> str:
        """ZSET activity key by start time (epoch seconds), for range reads."""
        return f"{self._base}:activities:{mu_id}:starts"

    @property
    def activity_index(self) -> str:
        """HASH activity key -> management unit id (to cancel by key)."""
        return f"{self._base}:activities:index"

    @property
    def room_index(self) -> str:
        """HASH booking key -> ``room id|entry`` (to cancel by key)."""
        return f"{self._base}:room:index"

    def room(self, room_id: str) -> str:
        """ZSET of a room's bookings ``start|end|key`` by start (epoch seconds)."""
        return f"{self._base}:room:{room_id}"

    @property
    def holds(self) -> str:
        """HASH request id -> Hold JSON (slots held tentatively for the requester's Book)."""
        return f"{self._base}:holds"

    @property
    def hold_due(self) -> str:
        """ZSET request id by when its hold expires (epoch seconds)."""
        return f"{self._base}:holds:due"

    def hold_outcome(self, request_id: str) -> str:
        """STRING HoldOutcome JSON: Book / Another time / Cancel / expired (first one wins, SET NX)."""
        return f"{self._base}:hold:done:{request_id}"

    def mine(self, requester: str) -> str:
        """ZSET request id by first start: a requester's bookings (``/book-meeting list``)."""
        return f"{self._base}:mine:{requester}"

    @property
    def revisions(self) -> str:
        """HASH request id -> current revision of a booking (0 as booked, +1 per reschedule)."""
        return f"{self._base}:revision"

    def change_outcome(self, request_id: str, revision: int) -> str:
        """STRING ChangeOutcome JSON: the Cancel or Reschedule done on that revision (SET NX)."""
        return f"{self._base}:change:{request_id}:{revision}"

    def attendance(self, request_id: str) -> str:
        """HASH agent id -> AttendanceMark JSON (Attended / No-show, who marked it, when)."""
        return f"{self._base}:attendance:{request_id}"

    def external_ids(self, system: str) -> str:
        """HASH our key -> the id ``system`` (graph, genesys) gave it, so a cancel after a restart finds it."""
        return f"{self._base}:external:{system}"

    @property
    def attendance_due(self) -> str:
        """ZSET request id by when to ask its facilitator for attendance (the last session's end)."""
        return f"{self._base}:attendance:due"
