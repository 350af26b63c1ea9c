"""JSON forms of what the store keeps: tracks, incidents and events (schema-versioned)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from services.domain.escalation import AgentTrack, EventKind, FiredTier, Incident, IncidentEvent
from services.domain.model import ExceptionWindow

SCHEMA_VERSION = 1


def track_to_json(track: AgentTrack) -> str:
    return track.model_dump_json()


def track_from_json(raw: str | bytes) -> AgentTrack:
    return AgentTrack.model_validate_json(raw)


def event_to_json(event: IncidentEvent, incident_json: str | None = None) -> str:
    """The event as stored; ``incident_json`` is the incident's ``model_dump_json`` if already made.

    The incident (and tier) are spliced in as pydantic writes them rather than dumped to dicts and
    encoded again: the same JSON document at about half the cost, on every event a commit carries."""
    payload: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "kind": event.kind.value,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "note": event.note,
    }
    if event.write_back is not None:
        payload["write_back"] = exception_to_dict(event.write_back)
    head = json.dumps(payload, separators=(",", ":"))
    tier = event.tier.model_dump_json() if event.tier else "null"
    incident = incident_json if incident_json is not None else event.incident.model_dump_json()
    return f'{head[:-1]},"tier":{tier},"incident":{incident}}}'


def event_from_json(raw: str | bytes) -> IncidentEvent:
    data = json.loads(raw)
    return IncidentEvent(
        kind=EventKind(data["kind"]),
        incident=Incident.model_validate(data["incident"]),
        at=datetime.fromisoformat(data["at"]),
        actor=data.get("actor"),
        tier=FiredTier.model_validate(data["tier"]) if data.get("tier") else None,
        note=data.get("note", ""),
        write_back=exception_from_dict(data["write_back"]) if data.get("write_back") else None,
    )


def exception_to_dict(window: ExceptionWindow) -> dict[str, str]:
    return {"agent_id": window.agent_id, "start": window.start.isoformat(), "end": window.end.isoformat(),
            "reason": window.reason, "approved_by": window.approved_by, "source": window.source}


def exception_from_dict(data: dict[str, str]) -> ExceptionWindow:
    return ExceptionWindow(agent_id=data["agent_id"], start=datetime.fromisoformat(data["start"]),
                           end=datetime.fromisoformat(data["end"]), reason=data.get("reason", ""),
                           approved_by=data.get("approved_by", ""), source=data.get("source", "slack"))
