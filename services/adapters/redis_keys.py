"""The whole Redis key schema, in one place: the monitor's (``UnitKeys``), the booking side's
(``BookingKeys``) and the few keys of their own (heartbeats, replicas, epoch, Slack user cache).

Every key of a management unit carries the unit id as a hash tag (``{mu-1}``) so that all of a
unit's keys live in one Redis Cluster slot and a Lua script may touch them together. Every booking
key carries the ``{booking}`` hash tag for the same reason, and gets a TTL refreshed on write.

State stays bounded while a unit is active: whatever belongs to one incident or one delivery (its
closed record, card reference, delivered marks, retry state) is a key of its own with its own TTL,
so it expires on its own however busy the unit is (Redis 7.0 has no per-field hash TTL). The hashes
that remain are bounded by the roster (tracks, status) or by one day (out-seconds). Outbox entries
are deleted when delivered, never trimmed; the audit stream is trimmed by age.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

#: How long a unit's keys live without being written again; per-item keys live this long after their write.
STATE_TTL = timedelta(days=2)
#: How long the per-day adherence record lasts (``/book-training`` targets "the last N days", N <= 35).
HISTORY_TTL = timedelta(days=35)
#: How far back the audit stream reaches (entries older than this are trimmed by id time, MINID).
AUDIT_TTL = timedelta(days=14)
#: Undelivered outbox entries beyond this are reported (log, health, metrics), never dropped.
OUTBOX_BACKLOG_WARN = 10_000


@dataclass(frozen=True, slots=True)
class UnitKeys:
    prefix: str
    mu_id: str

    @property
    def _base(self) -> str:
        return f"{self.prefix}:{{{self.mu_id}}}"

    @property
    def tracks(self) -> str:
        """HASH agent id -> AgentTrack JSON (only agents with something to remember)."""
        return f"{self._base}:tracks"

    def tick_claim(self, tick_number: int, kind: str = "tick") -> str:
        """STRING fencing token of the replica that claimed this tick of this unit (``kind`` ``due``: the
        evaluation of the agents due at the instant ``tick_number``, in epoch milliseconds)."""
        return f"{self._base}:{kind}:{tick_number}"

    @property
    def due(self) -> str:
        """ZSET agent id -> epoch milliseconds of its next due instant (tier, hold end, clear_after,
        exception end, schedule boundary): the monitor wakes at the earliest, not only at the tick."""
        return f"{self._base}:due"

    @property
    def audit(self) -> str:
        """STREAM of every transition and action."""
        return f"{self._base}:audit"

    @property
    def outbox(self) -> str:
        """STREAM of deliveries (Slack, email, coaching) still to make; consumer group ``dispatch``."""
        return f"{self._base}:outbox"

    def delivered(self, delivery_key: str) -> str:
        """STRING when (TTL): this delivery (or step) finished, so a retried entry is never delivered twice."""
        return f"{self._base}:delivered:{delivery_key}"

    def retry(self, entry_id: str) -> str:
        """STRING JSON {attempts, next_at} (TTL) of an outbox entry whose delivery failed."""
        return f"{self._base}:retry:{entry_id}"

    def card(self, key: str) -> str:
        """STRING MessageRef JSON (TTL) of the Slack card of an incident id (or ``storm:<id>``)."""
        return f"{self._base}:card:{key}"

    def closed(self, incident_id: str) -> str:
        """STRING the incident as it closed (TTL), for late card updates and App Home."""
        return f"{self._base}:closed:{incident_id}"

    def storm_closed(self, storm_id: str) -> str:
        """SET (TTL) ids of a storm's closed incidents (to rebuild its grouped card)."""
        return f"{self._base}:storm:{storm_id}:closed"

    @property
    def storms_pending(self) -> str:
        """SET (TTL) storm ids whose grouped card still has to be posted or refreshed."""
        return f"{self._base}:storms:pending"

    @property
    def status(self) -> str:
        """HASH agent id -> compact latest evaluation (for ``/adherence team``)."""
        return f"{self._base}:status"

    @property
    def neutral(self) -> str:
        """HASH window id -> neutral window JSON, and ``<id>:cancel`` -> who and when (TTL: a day after the
        last window ends)."""
        return f"{self._base}:neutral"

    def digest_sent(self, week: str, person_id: str, channel: str) -> str:
        """STRING (TTL 14 days) the weekly digest of ``week`` went to this person by this channel."""
        return f"{self._base}:digest:{week}:{person_id}:{channel}"

    def out_seconds(self, day: date) -> str:
        """HASH agent id -> seconds out of adherence on ``day`` (for adherence %)."""
        return f"{self._base}:out:{day.isoformat()}"

    def adherence_day(self, day: date) -> str:
        """HASH ``s:<agent>`` scheduled seconds, ``o:<agent>`` seconds out while scheduled, on ``day``
        (HISTORY_TTL): the history training targets read. One hash per unit per day."""
        return f"{self._base}:adherence:{day.isoformat()}"

    def segments(self, day: date) -> str:
        """HASH agent id -> ``<counter at open>|<flags>`` (``s`` scheduled, ``o`` out), ``@c`` -> the day's
        counter (HISTORY_TTL): the open accrual segments that ``out_seconds`` and ``adherence_day`` do
        not hold yet (their readers add them)."""
        return f"{self._base}:segments:{day.isoformat()}"

    def surplus(self, name: str) -> str:
        """The surplus desk's keys: ``seats:<interval epoch s>[:<item>]`` STRING seats of an interval,
        ``trainees`` HASH agent id -> Trainee JSON (read and written together by one script)."""
        return f"{self._base}:surplus:{name}"

    @property
    def tracks_version(self) -> str:
        """STRING integer moved on by every commit that writes a track (a tick re-reads tracks only then)."""
        return f"{self._base}:tracks:version"


def heartbeat_key(prefix: str, replica_id: str) -> str:
    """STRING (with a TTL) one replica's heartbeat JSON, written after each tick it committed.

    ``{monitor}`` is a hash tag: every heartbeat and the index share one Cluster slot (one MGET)."""
    return f"{prefix}:{{monitor}}:heartbeat:{replica_id}"


def heartbeats_key(prefix: str) -> str:
    """SET of replica ids that wrote a heartbeat (ids whose heartbeat expired are pruned on read).

    Not the live-replica registry (``replicas.py``, a sorted set): that one says who shares the units,
    this one only indexes the heartbeats /health reads."""
    return f"{prefix}:{{monitor}}:heartbeats"


def replicas_key(prefix: str) -> str:
    """ZSET replica id -> lease expiry (epoch ms): the live-replica registry (one key, no hash tag needed)."""
    return f"{prefix}:monitor:replicas"


def slack_user_key(prefix: str, email: str) -> str:
    """STRING (TTL) the Slack user id found for an email ("" when none was), shared by every replica."""
    return f"{prefix}:slack:user:{email}"


def epoch_key(prefix: str) -> str:
    """STRING JSON {since, lost_at}: written at start; its absence later means Redis lost its state."""
    return f"{prefix}:epoch"


BOOKING_TTL = timedelta(days=120)
BOOKING_GROUP = "bookers"  # the consumer group of the booking requests stream


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

    @property
    def optimise_proposals(self) -> str:
        """HASH proposal id -> Proposal JSON ("Optimise upcoming")."""
        return f"{self._base}:optimise:proposals"

    @property
    def optimise_decisions(self) -> str:
        """HASH proposal id -> the first Decision JSON on it (HSETNX: one click applies)."""
        return f"{self._base}:optimise:decisions"

    @property
    def optimise_revisions(self) -> str:
        """HASH request id -> {revision, plan} of a booking the optimiser moved."""
        return f"{self._base}:optimise:revisions"
