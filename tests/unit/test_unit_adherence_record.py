"""Reading one record of the management-unit adherence topic (pure: no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.adapters.genesys.unit_adherence import read_unit_adherence, unit_of_topic, unit_topic
from services.domain.states import Presence, RoutingStatus

RECORD = {"user": {"id": "u1"}, "managementUnitId": "mu1", "team": {"id": "t1", "name": "T"},
          "scheduledActivityCategory": "OnQueueWork", "systemPresence": "OnQueue", "routingStatus": "IDLE",
          "actualActivityCategory": "OnQueueWork", "isOutOfOffice": False, "adherenceState": "InAdherence",
          "impact": "Neutral", "adherenceChangeTime": "2026-05-18T09:00:30.000Z",
          "presenceUpdateTime": "2026-05-18T08:55:00.000Z", "activeQueues": [{"id": "q1"}]}


def test_a_full_record_gives_presence_with_its_time_and_routing() -> None:
    reading = read_unit_adherence(RECORD)
    assert reading is not None
    assert (reading.agent_id, reading.mu_id, reading.adherence_state) == ("u1", "mu1", "InAdherence")
    assert reading.presence is not None and reading.presence.presence is Presence.ON_QUEUE
    assert reading.presence.at == datetime(2026, 5, 18, 8, 55, tzinfo=UTC)
    assert reading.routing is not None and (reading.routing.routing, reading.routing.at) == (RoutingStatus.IDLE, None)


@pytest.mark.parametrize(("raw", "expected"), [("__EMPTY__", None), ("OFFLINE", RoutingStatus.OFFLINE), (None, None)])
def test_routing_spellings_of_the_adherence_topics(raw: str | None, expected: RoutingStatus | None) -> None:
    reading = read_unit_adherence({**RECORD, "routingStatus": raw})
    assert reading is not None
    assert (reading.routing.routing if reading.routing else None) is expected


def test_presence_by_secondary_definition_and_unknown_presence() -> None:
    by_id = read_unit_adherence({**RECORD, "systemPresence": None, "organizationSecondaryPresenceId": "pd-9"},
                                {"pd-9": "Break"})
    assert by_id is not None and by_id.presence is not None and by_id.presence.presence is Presence.BREAK
    odd = read_unit_adherence({**RECORD, "systemPresence": "Sleeping"})
    assert odd is not None and odd.presence is not None and odd.presence.presence is None  # UNKNOWN, never guessed


@pytest.mark.parametrize("body", [None, [], {}, {"user": {}}, {"user": {"id": ""}}, {"user": "u1"},
                                  {**RECORD, "presenceUpdateTime": 5}, {**RECORD, "removedFromManagementUnit": "?"}])
def test_malformed_records_are_skipped(body: object) -> None:
    assert read_unit_adherence(body) is None


def test_topic_names() -> None:
    assert unit_topic("mu1") == "v2.workforcemanagement.managementunits.mu1.adherence"
    assert unit_of_topic("V2.WorkforceManagement.ManagementUnits.Mu1.Adherence") == "Mu1"
    assert unit_of_topic("v2.workforcemanagement.managementunits.mu1.schedules") is None
    assert unit_of_topic("v2.workforcemanagement.managementunits.mu1.adherence.explanations") is None
    assert unit_of_topic("v2.users.u1.activity") is None
