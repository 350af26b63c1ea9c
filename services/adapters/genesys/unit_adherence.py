"""The management-unit adherence topic: ``v2.workforcemanagement.managementunits.{id}.adherence``.

One topic carries the real-time adherence record of every agent in the unit, so the number of topics
follows units, not agents (20 channels x 1,000 topics per OAuth client cap per-user topics at about
20,000 agents). Each event is one agent's record (the SDK's
``WfmUserScheduleAdherenceUpdatedMuTopicUserScheduleAdherenceUpdate``)::

    {"user": {"id": ".."}, "managementUnitId": "..", "team": {"id": ".."},
     "scheduledActivityCategory": "OnQueueWork", "systemPresence": "Away",
     "organizationSecondaryPresenceId": "..", "routingStatus": "OFF_QUEUE",
     "actualActivityCategory": "OffQueueWork", "isOutOfOffice": false,
     "adherenceState": "OutOfAdherence", "impact": "Negative",
     "adherenceChangeTime": "..Z", "presenceUpdateTime": "..Z",
     "activeQueues": [{"id": ".."}], "activeQueuesModifiedTime": "..Z",
     "removedFromManagementUnit": false}

The bot judges adherence itself (its own rules, grace and tiers), so only the live state is read:
``systemPresence`` (TitleCase, or the definition named by ``organizationSecondaryPresenceId``),
``routingStatus`` (also ``__EMPTY__``: no reading, and ``OFFLINE``) and ``presenceUpdateTime``.
Genesys's ``adherenceState`` is kept for the log only. Unknown fields are ignored; a record without a
user id, or whose fields have the wrong type, is logged and skipped: never read as a state.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.adapters.genesys.parse import PresenceReading, RoutingReading, parse_time
from services.domain.states import normalize_presence, normalize_routing

log = logging.getLogger(__name__)

PREFIX = "v2.workforcemanagement.managementunits."
SUFFIX = ".adherence"
#: What Genesys names when a unit's adherence topic is rejected (the RTA view permission).
PERMISSION = "wfm:realtimeAdherence:view"


def unit_topic(mu_id: str) -> str:
    return f"{PREFIX}{mu_id}{SUFFIX}"


def unit_of_topic(topic: str) -> str | None:
    """The unit id of a unit adherence topic (matched case-insensitively, as Genesys topics are), else None."""
    lowered = topic.lower()
    if lowered.startswith(PREFIX) and lowered.endswith(SUFFIX) and len(topic) > len(PREFIX) + len(SUFFIX):
        unit = topic[len(PREFIX):-len(SUFFIX)]
        return unit if "." not in unit else None
    return None


class _Ref(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1)


class UnitAdherenceRecord(BaseModel):
    """One agent's record on the unit topic; extra fields are ignored, the known ones are type-checked."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    user: _Ref
    management_unit_id: str | None = Field(default=None, alias="managementUnitId")
    system_presence: str | None = Field(default=None, alias="systemPresence")
    secondary_presence_id: str | None = Field(default=None, alias="organizationSecondaryPresenceId")
    routing_status: str | None = Field(default=None, alias="routingStatus")
    adherence_state: str | None = Field(default=None, alias="adherenceState")
    presence_update_time: str | None = Field(default=None, alias="presenceUpdateTime")
    adherence_change_time: str | None = Field(default=None, alias="adherenceChangeTime")
    removed_from_management_unit: bool = Field(default=False, alias="removedFromManagementUnit")


@dataclass(frozen=True, slots=True)
class UnitAdherenceReading:
    agent_id: str
    mu_id: str | None
    presence: PresenceReading | None
    routing: RoutingReading | None
    removed: bool
    adherence_state: str | None


def read_unit_adherence(body: Any, definitions: Mapping[str, str] | None = None) -> UnitAdherenceReading | None:
    """An eventBody of the unit topic -> the agent's live state; ``None`` (logged) if it is malformed."""
    try:
        record = UnitAdherenceRecord.model_validate(body)
    except ValidationError as error:
        log.warning("unit adherence event skipped: not a readable record (%d problem(s): %s)",
                    error.error_count(), "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                                   for e in error.errors()[:3]))
        return None
    presence: PresenceReading | None = None
    raw = record.system_presence
    if not raw and record.secondary_presence_id and definitions is not None:
        raw = definitions.get(record.secondary_presence_id)
    at: datetime | None = parse_time(record.presence_update_time)
    if raw:
        value = normalize_presence(raw)
        if value is None:
            log.debug("unrecognised presence %r on the unit topic for %s", raw, record.user.id)
        presence = PresenceReading(value, at)
    routing: RoutingReading | None = None
    if record.routing_status:
        status = normalize_routing(record.routing_status)  # __EMPTY__ -> None: nothing to record
        if status is not None:
            # The record carries no routing time; dated on arrival (the table never lets it undo a newer one).
            routing = RoutingReading(status, None)
    return UnitAdherenceReading(record.user.id, record.management_unit_id, presence, routing,
                                record.removed_from_management_unit, record.adherence_state)
