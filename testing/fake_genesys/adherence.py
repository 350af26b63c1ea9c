"""The fake's management-unit adherence topic: the record it publishes, and who may subscribe to it.

Published from the same state changes as the per-user topics (``set_presence``, ``set_routing``,
``set_state``), in the notification shape of ``WfmUserScheduleAdherenceUpdatedMuTopicUserScheduleAdherenceUpdate``
(``user:{id}``, ``managementUnitId`` as a plain id, ``adherenceChangeTime``, TitleCase ``systemPresence``).
``adherenceState`` is a plain comparison of the scheduled and the actual category, enough for the shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from testing.fake_genesys.model import PRESENCES, FakeBusinessUnit, FakeUser, definition_id, iso

PREFIX = "v2.workforcemanagement.managementunits."
SUFFIX = ".adherence"
PERMISSION = "wfm:realtimeAdherence:view"

#: presence key -> actualActivityCategory as the RTA view reports it
_ACTUAL = {"ON_QUEUE": "OnQueueWork", "BREAK": "Break", "MEAL": "Meal", "MEETING": "Meeting",
           "TRAINING": "Training", "OFFLINE": "Unavailable"}


def unit_topic(mu_id: str) -> str:
    return f"{PREFIX}{mu_id}{SUFFIX}"


def topic_unit(topic: str) -> str | None:
    lowered = topic.lower()
    if lowered.startswith(PREFIX) and lowered.endswith(SUFFIX):
        return topic[len(PREFIX):-len(SUFFIX)]
    return None


@dataclass
class AdherencePermission:
    """Which units' adherence topics this OAuth client may not subscribe to, and how Genesys says no.

    ``mode`` ``reject``: the subscribe succeeds and answers the topic ``Rejected`` with its missing
    permission; ``forbid``: the whole request is refused with 403 (some orgs do that).
    """

    denied_units: set[str] = field(default_factory=set)
    mode: str = "reject"  # reject | forbid

    def deny_all(self, units: Any) -> None:
        self.denied_units |= set(units)

    def denied(self, topic: str) -> bool:
        unit = topic_unit(topic)
        return unit is not None and unit.lower() in {u.lower() for u in self.denied_units}

    @staticmethod
    def rejection(topic: str) -> dict[str, Any]:
        return {"id": topic, "state": "Rejected", "rejectionReason": "Missing permissions",
                "missingPermissions": [PERMISSION]}


def adherence_body(user: FakeUser, bu: FakeBusinessUnit | None, now: datetime) -> dict[str, Any]:
    scheduled = "Unscheduled"
    for activity in user.activities:
        if activity.start <= now < activity.end:
            code = (bu.codes if bu is not None else {}).get(activity.code_id) or {}
            scheduled = str(code.get("category") or "Unscheduled")
    actual = _ACTUAL.get(user.presence, "OffQueueWork")
    if scheduled == "Unscheduled":
        state = "Unscheduled" if actual != "OnQueueWork" else "OutOfAdherence"
    else:
        state = "InAdherence" if scheduled == actual else "OutOfAdherence"
    changed = max(user.presence_at, user.routing_at)
    return {"user": {"id": user.id, "selfUri": f"/api/v2/users/{user.id}"}, "managementUnitId": user.mu_id,
            "team": {"id": user.team_id} if user.team_id else None,
            "scheduledActivityCategory": scheduled, "systemPresence": PRESENCES[user.presence][1],
            "organizationSecondaryPresenceId": definition_id(user.presence), "routingStatus": user.routing,
            "actualActivityCategory": actual, "isOutOfOffice": False, "adherenceState": state,
            "impact": "Neutral" if state != "OutOfAdherence" else "Negative",
            "adherenceChangeTime": iso(changed), "presenceUpdateTime": iso(user.presence_at),
            "activeQueues": [], "activeQueuesModifiedTime": iso(user.routing_at), "removedFromManagementUnit": False}
