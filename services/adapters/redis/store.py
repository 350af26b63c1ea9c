"""Redis-backed state of the monitor: tracks, atomic tick commits, audit trail, outbox, cards.

A tick of one management unit costs three round trips whatever the number of agents: claim, load
the tracks, commit (one Lua script applying every change compare-and-set,
appending audit and outbox entries, and updating the status board).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from services.adapters.redis.codec import event_from_json, event_to_json, track_from_json, track_to_json
from services.adapters.redis.keys import AUDIT_MAXLEN, STATE_TTL, UnitKeys, heartbeat_key, heartbeats_key
from services.domain.escalation import AgentTrack, Incident, IncidentEvent
from services.ports import CommitResult, MessageRef, OutboxBacklog, OutboxEntry, TrackChange

log = logging.getLogger(__name__)

OUTBOX_GROUP = "dispatch"

__all__ = ["OUTBOX_GROUP", "CommitResult", "OutboxEntry", "RedisStore"]  # the data types live in services.ports


@dataclass
class RedisStore:
    redis: Redis
    prefix: str = "adh"
    ttl: timedelta = STATE_TTL
    _parsed: dict[str, dict[str, tuple[str, AgentTrack]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        source = resources.files("services.adapters.redis").joinpath("commit_tick.lua").read_text()
        self._commit_script = self.redis.register_script(source)

    def keys(self, mu_id: str) -> UnitKeys:
        return UnitKeys(self.prefix, mu_id)

    # ---- ticks -------------------------------------------------------------------------------
    async def claim_tick(self, mu_id: str, tick_number: int, lease: timedelta) -> str | None:
        """Claim one tick of one unit for this replica; returns the fencing token, or None if taken."""
        token = uuid.uuid4().hex
        claimed = await self.redis.set(self.keys(mu_id).tick_claim(tick_number), token, nx=True,
                                       px=int(lease.total_seconds() * 1000))
        return token if claimed else None

    async def load_tracks(self, mu_id: str) -> dict[str, AgentTrack]:
        raw = _text_map(await self.redis.hgetall(self.keys(mu_id).tracks))
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
    ) -> CommitResult:
        keys = self.keys(mu_id)
        args: list[Any] = [token, int(self.ttl.total_seconds()), AUDIT_MAXLEN, len(changes)]
        for change in changes:
            if change.track is None:
                args += [change.agent_id, change.expected_version, ""]
            else:
                stored = change.track.model_copy(update={"version": change.expected_version + 1})
                args += [change.agent_id, change.expected_version, track_to_json(stored)]
        args.append(len(events))
        for event in events:
            incident = event.incident
            closed = incident.model_dump_json() if incident.is_closed else ""
            to_outbox = "1" if _needs_delivery(event) else "0"
            args += [incident.agent_id, event.kind.value, incident.id, event_to_json(event), to_outbox, closed]
        status = status or {}
        args.append(len(status))
        for agent_id, value in status.items():
            args += [agent_id, value]
        out_seconds = out_seconds or {}
        args.append(len(out_seconds))
        for agent_id, seconds in out_seconds.items():
            args += [agent_id, f"{seconds:.3f}"]
        the_day = day or date.today()
        script_keys = [keys.tick_claim(tick_number), keys.tracks, keys.audit, keys.outbox, keys.closed,
                       keys.status, keys.out_seconds(the_day)]
        result = await self._commit_script(keys=script_keys, args=args)
        if result[0] == -1:
            return CommitResult(fenced=True)
        return CommitResult(rejected=frozenset(result[1:]))

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

    # ---- reads for queries -------------------------------------------------------------------
    async def statuses(self, mu_id: str) -> dict[str, str]:
        return _text_map(await self.redis.hgetall(self.keys(mu_id).status))

    async def out_seconds(self, mu_id: str, day: date) -> dict[str, float]:
        raw = _text_map(await self.redis.hgetall(self.keys(mu_id).out_seconds(day)))
        return {agent: float(value) for agent, value in raw.items()}

    async def closed_incident(self, mu_id: str, incident_id: str) -> Incident | None:
        body = await self.redis.hget(self.keys(mu_id).closed, incident_id)
        return Incident.model_validate_json(body) if body else None

    async def audit(self, mu_id: str, count: int = 1000) -> list[dict[str, str]]:
        entries = await self.redis.xrange(self.keys(mu_id).audit, count=count)
        return [_text_map(fields or {}) for _, fields in entries or []]

    # ---- outbox ------------------------------------------------------------------------------
    async def ensure_outbox_group(self, mu_id: str) -> None:
        try:
            await self.redis.xgroup_create(self.keys(mu_id).outbox, OUTBOX_GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def read_outbox(self, mu_id: str, consumer: str, count: int = 200,
                          claim_idle: timedelta = timedelta(seconds=60)) -> list[OutboxEntry]:
        """This consumer's pending entries first (in order), then any abandoned by a dead consumer,
        then new ones."""
        key = self.keys(mu_id).outbox
        await self.ensure_outbox_group(mu_id)
        pending = await self.redis.xreadgroup(OUTBOX_GROUP, consumer, {key: "0"}, count=count)
        _, _, abandoned = await self.redis.xautoclaim(
            key, OUTBOX_GROUP, consumer, min_idle_time=int(claim_idle.total_seconds() * 1000), count=count)
        fresh = await self.redis.xreadgroup(OUTBOX_GROUP, consumer, {key: ">"}, count=count)
        rows = [*_rows(pending), *abandoned, *_rows(fresh)]
        seen: set[str] = set()
        out: list[OutboxEntry] = []
        for entry_id, fields in sorted(rows, key=lambda row: _stream_id(row[0])):
            if entry_id in seen or not fields:
                continue
            seen.add(entry_id)
            try:
                out.append(OutboxEntry(entry_id, event_from_json(fields["event"])))
            except (KeyError, ValueError):
                log.error("dropping unreadable outbox entry %s of %s", entry_id, mu_id)
                await self.redis.xack(key, OUTBOX_GROUP, entry_id)
        return out

    async def was_delivered(self, mu_id: str, delivery_key: str) -> bool:
        return bool(await self.redis.hexists(self.keys(mu_id).delivered, delivery_key))

    async def mark_delivered(self, mu_id: str, entry: OutboxEntry, when: datetime) -> None:
        keys = self.keys(mu_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.delivered, entry.delivery_key, when.isoformat())
            pipe.expire(keys.delivered, int(self.ttl.total_seconds()))
            pipe.hdel(keys.retries, entry.entry_id)
            pipe.xack(keys.outbox, OUTBOX_GROUP, entry.entry_id)
            await pipe.execute()

    async def mark_step_delivered(self, mu_id: str, key: str, when: datetime) -> None:
        keys = self.keys(mu_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.delivered, key, when.isoformat())
            pipe.expire(keys.delivered, int(self.ttl.total_seconds()))
            await pipe.execute()

    async def closed_in_storm(self, mu_id: str, storm_id: str, exclude: set[str]) -> list[Incident]:
        """Closed incidents of a storm (few: a storm is one team), found through the closed hash."""
        prefix = f"{mu_id}."
        out = []
        async for incident_id, body in self.redis.hscan_iter(self.keys(mu_id).closed, match=f"{prefix}*"):
            if incident_id in exclude or storm_id not in body:
                continue
            incident = Incident.model_validate_json(body)
            if incident.storm_id == storm_id:
                out.append(incident)
        return out

    async def retry_state(self, mu_id: str, entry_id: str) -> tuple[int, datetime | None]:
        body = await self.redis.hget(self.keys(mu_id).retries, entry_id)
        if not body:
            return 0, None
        data = json.loads(body)
        return int(data["attempts"]), datetime.fromisoformat(data["next_at"])

    async def schedule_retry(self, mu_id: str, entry_id: str, attempts: int, next_at: datetime) -> None:
        keys = self.keys(mu_id)
        await self.redis.hset(keys.retries, entry_id,
                              json.dumps({"attempts": attempts, "next_at": next_at.isoformat()}))
        await self.redis.expire(keys.retries, int(self.ttl.total_seconds()))

    async def give_up(self, mu_id: str, entry: OutboxEntry) -> None:
        """Park an entry that kept failing: acknowledged, but kept in the audit trail."""
        keys = self.keys(mu_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(keys.audit, {"kind": "delivery_failed", "incident": entry.event.incident.id,
                                   "agent": entry.event.incident.agent_id, "event": event_to_json(entry.event)},
                      maxlen=AUDIT_MAXLEN, approximate=True)
            pipe.hdel(keys.retries, entry.entry_id)
            pipe.xack(keys.outbox, OUTBOX_GROUP, entry.entry_id)
            await pipe.execute()

    async def outbox_backlog(self, mu_id: str) -> OutboxBacklog:
        """Undelivered entries (pending + not yet read) and when the oldest of them was committed.

        Two round trips: the group's summary, then the one oldest undelivered entry (a pending entry
        is always older than an unread one)."""
        key = self.keys(mu_id).outbox
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xpending(key, OUTBOX_GROUP)
            pipe.xinfo_groups(key)
            pipe.xlen(key)
            pending, groups, length = await pipe.execute(raise_on_error=False)
        if isinstance(groups, Exception):
            return OutboxBacklog(0, None)  # no stream: nothing was ever queued
        group = next((g for g in groups if g["name"] == OUTBOX_GROUP), None)
        rows: list[Any]
        if group is None or isinstance(pending, Exception):  # nobody has read yet: every entry waits
            await self.ensure_outbox_group(mu_id)  # once per unit; readers of the group can count it from now
            rows = list(await self.redis.xrange(key, count=1) or [])
            pending, unread = {"pending": 0}, int(length)
        elif pending["pending"]:
            rows = list(await self.redis.xrange(key, min=str(pending["min"]), max=str(pending["min"]), count=1) or [])
            unread = int(group["lag"]) if group.get("lag") is not None else 0
        else:
            rows = list(await self.redis.xrange(key, min=f"({group['last-delivered-id']}", count=1) or [])
            unread = int(group["lag"]) if group.get("lag") is not None else len(rows)
        oldest_at = None
        try:
            oldest_at = event_from_json(rows[0][1]["event"]).at if rows else None
        except (KeyError, ValueError, TypeError):
            log.error("unreadable oldest outbox entry of %s", mu_id)
        return OutboxBacklog(int(pending["pending"]) + unread, oldest_at)

    # ---- cards -------------------------------------------------------------------------------
    async def card_ref(self, mu_id: str, key: str) -> MessageRef | None:
        body = await self.redis.hget(self.keys(mu_id).cards, key)
        if not body:
            return None
        data = json.loads(body)
        return MessageRef(channel=data["channel"], ts=data["ts"], permalink=data.get("permalink"))

    async def save_card_ref(self, mu_id: str, key: str, ref: MessageRef) -> None:
        keys = self.keys(mu_id)
        body = json.dumps({"channel": ref.channel, "ts": ref.ts, "permalink": ref.permalink})
        await self.redis.hset(keys.cards, key, body)
        await self.redis.expire(keys.cards, int(self.ttl.total_seconds()))


def _text_map(raw: Mapping[Any, Any]) -> dict[str, str]:
    """The client is made with decode_responses=True; this only narrows the type."""
    return {str(k): str(v) for k, v in raw.items()}


def _needs_delivery(event: IncidentEvent) -> bool:
    """Only incidents someone has been told about produce deliveries (a 2-minute blip stays quiet)."""
    return bool(event.incident.fired) or event.tier is not None


def _rows(response: Any) -> list[tuple[str, dict[str, str]]]:
    rows: list[tuple[str, dict[str, str]]] = []
    for _stream, entries in response or []:
        rows.extend(entries)
    return rows


def _stream_id(entry_id: str) -> tuple[int, int]:
    millis, _, seq = entry_id.partition("-")
    return int(millis), int(seq or 0)
