"""JSON forms of what the store keeps: tracks, incidents and events (schema-versioned)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from services.domain.escalation import AgentTrack, EventKind, FiredTier, Incident, IncidentEvent

SCHEMA_VERSION = 1


def track_to_json(track: AgentTrack) -> str:
    return track.model_dump_json()


def track_from_json(raw: str | bytes) -> AgentTrack:
    return AgentTrack.model_validate_json(raw)


def event_to_json(event: IncidentEvent) -> str:
    payload: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "kind": event.kind.value,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "note": event.note,
        "tier": event.tier.model_dump(mode="json") if event.tier else None,
        "incident": event.incident.model_dump(mode="json"),
    }
    return json.dumps(payload, separators=(",", ":"))


def event_from_json(raw: str | bytes) -> IncidentEvent:
    data = json.loads(raw)
    return IncidentEvent(
        kind=EventKind(data["kind"]),
        incident=Incident.model_validate(data["incident"]),
        at=datetime.fromisoformat(data["at"]),
        actor=data.get("actor"),
        tier=FiredTier.model_validate(data["tier"]) if data.get("tier") else None,
        note=data.get("note", ""),
    )
