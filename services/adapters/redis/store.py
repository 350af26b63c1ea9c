"""Redis-backed state of the monitor: tracks, atomic tick commits, audit trail, outbox, cards.

A tick of one management unit costs three round trips whatever the number of agents: claim, the
tracks (one script: only the version when no other writer moved it on since this replica's last
commit), commit (one Lua script applying every change compare-and-set, appending audit and outbox
entries, updating the status board, and accruing out / scheduled seconds by segments: only the
agents whose flags changed are written).

The outbox's methods are in ``outbox.py`` (``RedisOutbox``). Nothing is dropped: an outbox entry
leaves the stream only once delivered (or given up, into the audit trail); a backlog beyond
``backlog_warn`` is logged, never cut. Everything that belongs to one incident or one delivery is a
key of its own with its own TTL (see ``services/adapters/redis_keys.py``). The epoch key tells an
emptied Redis from a running one (``check_epoch``).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any

from redis.asyncio import Redis

from services import telemetry
from services.adapters.redis.codec import event_to_json, track_from_json, track_to_json
from services.adapters.redis.history import accrual_args, history_args, open_segments
from services.adapters.redis.outbox import OUTBOX_GROUP, RedisOutbox
from services.adapters.redis_keys import (
    AUDIT_TTL,
    HISTORY_TTL,
    OUTBOX_BACKLOG_WARN,
    STATE_TTL,
    UnitKeys,
    epoch_key,
    heartbeat_key,
    heartbeats_key,
)
from services.domain.escalation import AgentTrack, Incident, IncidentEvent
from services.ports import CommitResult, Epoch, MessageRef, OutboxEntry, TrackChange

log = logging.getLogger(__name__)

# The data types live in services.ports.
__all__ = ["OUTBOX_GROUP", "CommitResult", "Epoch", "OutboxEntry", "RedisStore"]

# The tracks only when their version moved on (another writer, an emptied Redis): one round trip.
_TRACKS_IF_CHANGED = """
local version = redis.call('GET', KEYS[2])
if version and version == ARGV[1] then
  return {version}
end
return {version or '', redis.call('HGETALL', KEYS[1])}
"""


@dataclass
class RedisStore(RedisOutbox):
    redis: Redis
    prefix: str = "adh"
    ttl: timedelta = STATE_TTL
    audit_ttl: timedelta = AUDIT_TTL
    history_ttl: timedelta = HISTORY_TTL
    backlog_warn: int = OUTBOX_BACKLOG_WARN
    #: Times a running bot found its Redis emptied (the epoch key gone); read by health and metrics.
    state_losses: int = 0
    _parsed: dict[str, dict[str, tuple[str, AgentTrack]]] = field(default_factory=dict, repr=False)
    _groups: set[str] = field(default_factory=set, repr=False)
    _epoch_seen: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        source = resources.files("services.adapters.redis").joinpath("commit_tick.lua").read_text()
        self._commit_script = self.redis.register_script(source)
        self._register_outbox_scripts()
        self._tracks_script = self.redis.register_script(_TRACKS_IF_CHANGED)

    @property
    def _ttl_s(self) -> int:
        return max(1, int(self.ttl.total_seconds()))

    def keys(self, mu_id: str) -> UnitKeys:
        return UnitKeys(self.prefix, mu_id)

    # ---- ticks -------------------------------------------------------------------------------
    async def claim_tick(self, mu_id: str, tick_number: int, lease: timedelta, *, kind: str = "tick") -> str | None:
        """Claim one tick of one unit for this replica; returns the fencing token, or None if taken.
        ``kind="due"``: the evaluation of the agents due at the instant ``tick_number`` (epoch ms)."""
        token = uuid.uuid4().hex
        claimed = await self.redis.set(self.keys(mu_id).tick_claim(tick_number, kind), token, nx=True,
                                       px=int(lease.total_seconds() * 1000))
        return token if claimed else None

    async def load_tracks(self, mu_id: str) -> dict[str, AgentTrack]:
        return self._parse_tracks(mu_id, _text_map(await self.redis.hgetall(self.keys(mu_id).tracks)))

    async def tracks_if_changed(self, mu_id: str, known: int | None) -> tuple[int | None, dict[str, AgentTrack] | None]:
        keys = self.keys(mu_id)
        answer: Any = await self._tracks_script(keys=[keys.tracks, keys.tracks_version],
                                                args=["" if known is None else str(known)])
        version = int(answer[0]) if answer[0] not in ("", None) else None
        if len(answer) == 1:
            return version, None
        flat = answer[1]
        return version, self._parse_tracks(mu_id, {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat), 2)})

    def _parse_tracks(self, mu_id: str, raw: dict[str, str]) -> dict[str, AgentTrack]:
        # Most tracks do not change between ticks: reuse the parsed value when the JSON is the same.
        previous = self._parsed.get(mu_id, {})
        parsed: dict[str, tuple[str, AgentTrack]] = {}
        for agent_id, body in raw.items():
            hit = previous.get(agent_id)
            if hit is not None and hit[0] == body:
                parsed[agent_id] = hit
                continue
            try:
                parsed[agent_id] = (body, track_from_json(body))
            except ValueError:
                log.error("unreadable track for agent %s in %s; ignoring it", agent_id, mu_id)
        self._parsed[mu_id] = parsed
        return {agent_id: track for agent_id, (_, track) in parsed.items()}

    async def load_track(self, mu_id: str, agent_id: str) -> AgentTrack | None:
        body = await self.redis.hget(self.keys(mu_id).tracks, agent_id)
        return track_from_json(body) if body else None

    async def commit(
        self,
        mu_id: str,
        *,
        changes: Sequence[TrackChange],
        events: Sequence[IncidentEvent],
        token: str = "",
        tick_number: int = 0,
        status: Mapping[str, str] | None = None,
        out_seconds: Mapping[str, float] | None = None,
        day: date | None = None,
        scheduled_seconds: Mapping[str, float] | None = None,
        due: Mapping[str, datetime | None] | None = None,
        claim_kind: str = "tick",
        accrual_seconds: float | None = None,
        accrual: Mapping[str, str] | None = None,
    ) -> CommitResult:
        keys = self.keys(mu_id)
        args: list[Any] = [token, self._ttl_s, int(self.audit_ttl.total_seconds() * 1000), len(changes)]
        for change in changes:
            if change.track is None:
                args += [change.agent_id, change.expected_version, ""]
            else:
                stored = change.track.model_copy(update={"version": change.expected_version + 1})
                args += [change.agent_id, change.expected_version, track_to_json(stored)]
        args.append(len(events))
        items: list[str] = []  # per-item keys, in event order (the script walks them the same way)
        for event in events:
            incident = event.incident
            closed = incident.model_dump_json() if incident.is_closed else ""
            to_outbox = "1" if _needs_delivery(event) else "0"
            in_storm = "1" if incident.storm_id else "0"
            if closed:
                items.append(keys.closed(incident.id))
                if incident.storm_id:
                    items.append(keys.storm_closed(incident.storm_id))
            args += [incident.agent_id, event.kind.value, incident.id, event_to_json(event, closed or None),
                     to_outbox, closed, in_storm]
        status = status or {}
        args.append(len(status))
        for agent_id, value in status.items():
            args += [agent_id, value]
        out_seconds = out_seconds or {}
        args.append(len(out_seconds))
        for agent_id, seconds in out_seconds.items():
            args += [agent_id, f"{seconds:.3f}"]
        args += [*history_args(scheduled_seconds or {}, out_seconds), max(1, int(self.history_ttl.total_seconds()))]
        due = due or {}
        args.append(len(due))
        for agent_id, when in due.items():
            args += [agent_id, "" if when is None else _epoch_ms(when)]
        args += accrual_args(accrual_seconds, accrual or {})
        the_day = day or date.today()
        script_keys = [keys.tick_claim(tick_number, claim_kind), keys.tracks, keys.audit, keys.outbox, keys.status,
                       keys.out_seconds(the_day), keys.adherence_day(the_day), keys.due, keys.segments(the_day),
                       keys.tracks_version, *items]
        result = await self._commit_script(keys=script_keys, args=args)
        if result[0] == -1:
            return CommitResult(fenced=True)
        return CommitResult(rejected=frozenset(result[3:]), tracks_version=(int(result[1]), int(result[2])))

    # ---- due-time index -----------------------------------------------------------------------
    async def due_agents(self, mu_id: str, until: datetime) -> dict[str, datetime]:
        """Agents of a unit whose due instant is at or before ``until``, with that instant."""
        until_ms = (until - _EPOCH) // timedelta(milliseconds=1)  # rounded down: nothing before its instant
        rows: Any = await self.redis.zrangebyscore(self.keys(mu_id).due, "-inf", until_ms, withscores=True)
        return {str(agent): _from_ms(float(score)) for agent, score in rows}

    async def earliest_due(self, mu_ids: Sequence[str]) -> datetime | None:
        """The earliest due instant over these units (one pipelined round trip)."""
        if not mu_ids:
            return None
        async with self.redis.pipeline(transaction=False) as pipe:
            for mu_id in mu_ids:
                pipe.zrange(self.keys(mu_id).due, 0, 0, withscores=True)
            answers = await pipe.execute()
        scores = [float(rows[0][1]) for rows in answers if rows]
        return _from_ms(min(scores)) if scores else None

    # ---- heartbeat ---------------------------------------------------------------------------
    async def write_heartbeat(self, replica_id: str, beat: Mapping[str, Any], ttl: timedelta) -> None:
        """This replica committed a tick: its own key (expiring by itself), indexed in the replicas set."""
        millis = int(ttl.total_seconds() * 1000)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(heartbeat_key(self.prefix, replica_id), json.dumps({**beat, "replica": replica_id}), px=millis)
            pipe.sadd(heartbeats_key(self.prefix), replica_id)
            pipe.pexpire(heartbeats_key(self.prefix), millis)
            await pipe.execute()

    async def heartbeats(self) -> list[dict[str, Any]]:
        """Every live replica's latest heartbeat; ids whose heartbeat expired are dropped from the index."""
        replicas = sorted(str(r) for r in await self.redis.smembers(heartbeats_key(self.prefix)))
        if not replicas:
            return []
        bodies = await self.redis.mget([heartbeat_key(self.prefix, r) for r in replicas])
        gone = [r for r, body in zip(replicas, bodies, strict=True) if not body]
        if gone:
            await self.redis.srem(heartbeats_key(self.prefix), *gone)
        return [json.loads(body) for body in bodies if body]

    # ---- Redis loss --------------------------------------------------------------------------
    async def check_epoch(self, now: datetime) -> Epoch:
        """The epoch of this Redis state, written when missing. Missing after this store saw it means
        Redis lost everything (a flush, a restart without persistence): logged, counted, and recorded
        as ``lost_at`` so every replica (and a restarted one) can say so on the cards it posts."""
        key = epoch_key(self.prefix)
        body = await self.redis.getex(key, ex=self._ttl_s)  # lives as long as the state it stands for
        if body is None:
            lost_at = now if self._epoch_seen else None
            fresh = json.dumps({"since": now.isoformat(), "lost_at": lost_at.isoformat() if lost_at else None})
            await self.redis.set(key, fresh, nx=True, ex=self._ttl_s)
            if self._epoch_seen:
                self.state_losses += 1
                telemetry.redis_state_lost()
                self._groups.clear()
                log.error("Redis lost its state (the epoch key %s is gone): tracks, cards and undelivered "
                          "outbox entries are gone; incidents re-open from the live states, and cards posted "
                          "now say that they may repeat an earlier alert", key)
            else:
                log.warning("no earlier state in Redis under %r (first start, or Redis was emptied while "
                            "the bot was down)", self.prefix)
            body = await self.redis.get(key) or fresh
        self._epoch_seen = True
        data = json.loads(body)
        lost = data.get("lost_at")
        return Epoch(since=datetime.fromisoformat(data["since"]),
                     lost_at=datetime.fromisoformat(lost) if lost else None)

    # ---- reads for queries -------------------------------------------------------------------
    async def statuses(self, mu_id: str) -> dict[str, str]:
        return _text_map(await self.redis.hgetall(self.keys(mu_id).status))

    async def out_seconds(self, mu_id: str, day: date) -> dict[str, float]:
        """Closed out-of-adherence seconds of the day plus the open segments' (accrual by segments)."""
        keys = self.keys(mu_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.out_seconds(day))
            pipe.hgetall(keys.segments(day))
            raw, segments = await pipe.execute()
        out = {agent: float(value) for agent, value in _text_map(raw or {}).items()}
        for agent, (agent_flags, seconds) in open_segments(segments or {}).items():
            if "o" in agent_flags and seconds > 0:
                out[agent] = out.get(agent, 0.0) + seconds
        return out

    async def closed_incident(self, mu_id: str, incident_id: str) -> Incident | None:
        body = await self.redis.get(self.keys(mu_id).closed(incident_id))
        return Incident.model_validate_json(body) if body else None

    async def audit(self, mu_id: str, count: int = 1000) -> list[dict[str, str]]:
        entries = await self.redis.xrange(self.keys(mu_id).audit, count=count)
        return [_text_map(fields or {}) for _, fields in entries or []]

    async def closed_in_storm(self, mu_id: str, storm_id: str, exclude: set[str]) -> list[Incident]:
        """Closed incidents of a storm (few: a storm is one team), found through the storm's set."""
        keys = self.keys(mu_id)
        members = {str(i) for i in await self.redis.smembers(keys.storm_closed(storm_id))}
        ids = sorted(members - exclude)
        if not ids:
            return []
        bodies = await self.redis.mget([keys.closed(i) for i in ids])
        return [Incident.model_validate_json(body) for body in bodies if body]

    # ---- grouped (storm) cards still to post or refresh ----------------------------------------
    async def add_pending_storm(self, mu_id: str, storm_id: str) -> None:
        """Remember a storm card to post or refresh before the entry asking for it is acknowledged."""
        key = self.keys(mu_id).storms_pending
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, storm_id)
            pipe.expire(key, self._ttl_s)
            await pipe.execute()

    async def pending_storms(self, mu_id: str) -> list[str]:
        return sorted(str(s) for s in await self.redis.smembers(self.keys(mu_id).storms_pending))

    async def storm_done(self, mu_id: str, storm_id: str) -> None:
        await self.redis.srem(self.keys(mu_id).storms_pending, storm_id)

    # ---- cards -------------------------------------------------------------------------------
    async def card_ref(self, mu_id: str, key: str) -> MessageRef | None:
        body = await self.redis.get(self.keys(mu_id).card(key))
        if not body:
            return None
        data = json.loads(body)
        return MessageRef(channel=data["channel"], ts=data["ts"], permalink=data.get("permalink"))

    async def save_card_ref(self, mu_id: str, key: str, ref: MessageRef) -> None:
        body = json.dumps({"channel": ref.channel, "ts": ref.ts, "permalink": ref.permalink})
        await self.redis.set(self.keys(mu_id).card(key), body, ex=self._ttl_s)


def _text_map(raw: Mapping[Any, Any]) -> dict[str, str]:
    """The client is made with decode_responses=True; this only narrows the type."""
    return {str(k): str(v) for k, v in raw.items()}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch_ms(when: datetime) -> int:
    """Rounded up, exactly: woken at this millisecond, the instant has come (no early, idle wake)."""
    return -(-((when - _EPOCH) // timedelta(microseconds=1)) // 1000)


def _from_ms(score: float) -> datetime:
    return datetime.fromtimestamp(score / 1000, UTC)


def _needs_delivery(event: IncidentEvent) -> bool:
    """Only incidents someone has been told about produce deliveries (a 2-minute blip stays quiet);
    an approved exception always does (its WFM write-back)."""
    return bool(event.incident.fired) or event.tier is not None or event.write_back is not None
