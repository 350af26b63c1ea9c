"""The weekly digest's figures per team, as pure functions over the unit's audit entries.

An audit entry is what the commit appended: ``kind``, ``incident``, ``agent`` and ``event`` (the event's
JSON: ``at``, ``actor``, ``tier``, ``incident``). Only events whose ``at`` falls in the period count
(the stream's own ids are wall-clock times of the write, the events' ``at`` the monitor's clock).

``agent_replied`` is the contract for an agent's own answer to a nudge (On my way, I'm on a call,
an explanation): an audit entry of that kind, with the same event JSON. An agent "explained before the
card" when such a reply came before the incident's supervisor card (or the incident never got one).
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

AGENT_REPLIED = "agent_replied"
CARD = "chat_card"
#: Tiers in the order the digest lists them (others follow in the order seen).
TIER_ORDER = ("agent_nudge", "chat_card", "email", "coaching")


@dataclass(frozen=True, slots=True)
class AuditEvent:
    kind: str
    at: datetime
    incident_id: str
    agent_id: str
    team_id: str
    actor: str | None
    tier: str | None  # the tier's action, for tier_fired
    close_reason: str | None
    first_card_at: datetime | None  # when the incident's supervisor card was posted, if by then


def parse_entry(entry: Mapping[str, str]) -> AuditEvent | None:
    """An incident event of the audit stream; None for other entries (deliveries given up, neutral windows)."""
    raw = entry.get("event")
    if not raw or not entry.get("incident"):
        return None
    try:
        data: dict[str, Any] = json.loads(raw)
        incident: dict[str, Any] = data["incident"]
        fired = incident.get("fired") or []
        card = next((f for f in fired if f.get("action") == CARD), None)
        return AuditEvent(
            kind=str(entry.get("kind") or data.get("kind")), at=datetime.fromisoformat(data["at"]),
            incident_id=str(incident["id"]), agent_id=str(incident["agent_id"]), team_id=str(incident["team_id"]),
            actor=data.get("actor"), tier=(data.get("tier") or {}).get("action"),
            close_reason=incident.get("close_reason"),
            first_card_at=datetime.fromisoformat(card["at"]) if card else None)
    except (ValueError, KeyError, TypeError):
        return None  # an entry from another version, or not an incident's: the digest skips it


@dataclass(frozen=True, slots=True)
class TeamFigures:
    team_id: str
    incidents: int = 0
    tiers: Mapping[str, int] = field(default_factory=dict)
    acknowledged: int = 0
    median_ack_minutes: float | None = None
    approvals: Mapping[str, int] = field(default_factory=dict)  # who -> exceptions approved
    explained_before_card: tuple[str, ...] = ()  # agent ids


def team_figures(entries: Iterable[Mapping[str, str]], start: datetime, end: datetime) -> dict[str, TeamFigures]:
    """Per team, over ``[start, end)``: incidents opened, tiers reached, median minutes from the card to
    its acknowledgement, exceptions approved by each person (the WFM's own and outages not counted), and
    agents who explained before the card."""
    events = [e for e in (parse_entry(x) for x in entries) if e is not None]
    card_at: dict[str, datetime] = {}
    for event in events:  # the card may have been posted before the period began
        if event.kind == "tier_fired" and event.tier == CARD:
            card_at.setdefault(event.incident_id, event.at)
        elif event.first_card_at is not None:
            card_at.setdefault(event.incident_id, event.first_card_at)
    opened: dict[str, set[str]] = defaultdict(set)
    tiers: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    ack_minutes: dict[str, list[float]] = defaultdict(list)
    approvals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    explained: dict[str, list[str]] = defaultdict(list)
    teams: set[str] = set()
    for event in events:
        if not start <= event.at < end:
            continue
        team = event.team_id
        teams.add(team)
        if event.kind == "opened":
            opened[team].add(event.incident_id)
        elif event.kind == "tier_fired" and event.tier:
            tiers[team][event.tier] += 1
        elif event.kind == "acknowledged" and event.incident_id in card_at:
            ack_minutes[team].append(max(0.0, (event.at - card_at[event.incident_id]).total_seconds() / 60))
        elif event.kind == "excused" and event.actor and event.actor != "wfm" and event.close_reason != "outage":
            approvals[team][event.actor] += 1
        elif event.kind == AGENT_REPLIED:
            card = card_at.get(event.incident_id)
            if (card is None or event.at < card) and event.agent_id not in explained[team]:
                explained[team].append(event.agent_id)
    return {team: TeamFigures(
        team_id=team, incidents=len(opened[team]), tiers=_ordered(tiers[team]), acknowledged=len(ack_minutes[team]),
        median_ack_minutes=statistics.median(ack_minutes[team]) if ack_minutes[team] else None,
        approvals=dict(sorted(approvals[team].items(), key=lambda kv: (-kv[1], kv[0]))),
        explained_before_card=tuple(explained[team]),
    ) for team in teams}


def _ordered(counts: Mapping[str, int]) -> dict[str, int]:
    known = [t for t in TIER_ORDER if t in counts]
    return {t: counts[t] for t in [*known, *(t for t in counts if t not in TIER_ORDER)]}


def adherence_pct(out_seconds: float, scheduled_seconds: float) -> float | None:
    """Share of scheduled time in adherence; None without scheduled time."""
    if scheduled_seconds <= 0:
        return None
    return max(0.0, 100.0 * (1 - out_seconds / scheduled_seconds))


def last_due(now: datetime, weekday: int, hhmm: str, time_zone: ZoneInfo) -> datetime:
    """The latest ``weekday`` (0 = Monday) at ``hhmm`` in ``time_zone`` that is not after ``now``."""
    local = now.astimezone(time_zone)
    hours, minutes = (int(part) for part in hhmm.split(":"))
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    moment = datetime.combine(day, time(hours, minutes), tzinfo=time_zone)
    return moment - timedelta(days=7) if moment > now else moment
