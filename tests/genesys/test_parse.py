"""Pure edges of the adapter: region table, payload parsing, schedule painting, the live-state table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.adapters.genesys.backoff import Backoff
from services.adapters.genesys.live import LiveStateTable
from services.adapters.genesys.parse import (
    CodeInfo,
    PresenceReading,
    RoutingReading,
    build_schedule,
    read_agent_schedules,
    read_presence,
    read_routing,
)
from services.adapters.genesys.regions import RegionError, resolve_hosts
from services.domain.model import ScheduledActivity
from services.domain.states import ActivityCategory, Presence, RoutingStatus

T = datetime(2026, 5, 18, 8, 0, tzinfo=UTC)
CODES = {"ac-onq": CodeInfo(ActivityCategory.ON_QUEUE_WORK, "On queue"), "ac-pto": CodeInfo(ActivityCategory.TIME_OFF,
                                                                                           "PTO")}


@pytest.mark.parametrize(("region", "api", "login"), [
    ("eu_west_1", "https://api.mypurecloud.ie", "https://login.mypurecloud.ie"),
    ("us-east-1", "https://api.mypurecloud.com", "https://login.mypurecloud.com"),
    ("ap_southeast_2", "https://api.mypurecloud.com.au", "https://login.mypurecloud.com.au"),
    ("mypurecloud.de", "https://api.mypurecloud.de", "https://login.mypurecloud.de"),
])
def test_region_resolves_to_api_and_login_hosts(region: str, api: str, login: str) -> None:
    assert resolve_hosts(region=region) == (api, login)


def test_explicit_urls_win_and_login_can_be_derived() -> None:
    assert resolve_hosts("eu_west_1", "http://127.0.0.1:1", "http://127.0.0.1:2") == (
        "http://127.0.0.1:1", "http://127.0.0.1:2")
    assert resolve_hosts(api_url="https://api.euw2.pure.cloud/") == (
        "https://api.euw2.pure.cloud", "https://login.euw2.pure.cloud")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "GENESYS_REGION"),
    ({"region": "mars_1"}, "unknown GENESYS_REGION"),
    ({"login_url": "https://login.x"}, "without GENESYS_API_URL"),
    ({"api_url": "http://127.0.0.1:9"}, "GENESYS_LOGIN_URL"),
    ({"api_url": "ftp://x"}, r"an http\(s\) URL"),
])
def test_bad_endpoint_settings_say_what_to_set(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(RegionError, match=message):
        resolve_hosts(**kwargs)


@pytest.mark.parametrize("spelling", ["On Queue", "OnQueue", "ON_QUEUE", "on queue"])
def test_every_presence_spelling_normalises(spelling: str) -> None:
    reading = read_presence({"presenceDefinition": {"id": "x", "systemPresence": spelling},
                             "modifiedDate": "2026-05-18T08:00:00.000Z"})
    assert reading == PresenceReading(Presence.ON_QUEUE, T)


def test_presence_without_system_presence_is_looked_up_by_definition_id() -> None:
    reading = read_presence({"presenceDefinition": {"id": "def-7"}}, {"def-7": "Break"})
    assert reading is not None and reading.presence is Presence.BREAK


def test_routing_empty_and_unknown_are_none_not_guesses() -> None:
    assert read_routing({"status": "__EMPTY__"}) == RoutingReading(None, None)
    assert read_routing({"status": "INTERACTING", "startTime": "2026-05-18T08:00:00Z"}) == RoutingReading(
        RoutingStatus.INTERACTING, T)
    assert read_routing({"no": "status"}) is None


def test_schedule_result_with_time_off_marker_and_malformed_rows() -> None:
    result = {"businessUnitTimeZone": "Europe/Berlin", "agentSchedules": [
        {"user": {"id": "u1"}, "shifts": [{"activities": [
            {"startDate": "2026-05-18T07:00:00Z", "lengthMinutes": 60, "activityCodeId": "ac-onq", "description": ""},
            {"startDate": "not a date", "lengthMinutes": 60, "activityCodeId": "ac-onq"},
            {"startDate": "2026-05-18T08:00:00Z", "lengthMinutes": 30, "activityCodeId": "ac-missing"}]}],
         "fullDayTimeOffMarkers": [{"businessUnitDate": "2026-05-19", "lengthMinutes": 480,
                                    "activityCodeId": "ac-pto", "description": "PTO"}]},
        {"shifts": []}]}
    by_user, unknown = read_agent_schedules(result, CODES)
    assert unknown == {"ac-missing"}
    onq, pto = by_user["u1"]
    assert (onq.start, onq.category, onq.name) == (T - timedelta(hours=1), ActivityCategory.ON_QUEUE_WORK, "On queue")
    # the whole Berlin day (UTC+2 in May)
    assert (pto.start, pto.end, pto.category) == (datetime(2026, 5, 18, 22, tzinfo=UTC),
                                                  datetime(2026, 5, 19, 22, tzinfo=UTC), ActivityCategory.TIME_OFF)


def test_overlapping_activities_are_painted_not_lost() -> None:
    def act(h0: float, h1: float, category: ActivityCategory, code: str) -> ScheduledActivity:
        return ScheduledActivity(T + timedelta(hours=h0), T + timedelta(hours=h1), category, code)

    onq = act(0, 4, ActivityCategory.ON_QUEUE_WORK, "onq")
    meeting = act(1, 2, ActivityCategory.MEETING, "mtg")
    schedule = build_schedule("u1", [onq, meeting, onq])
    assert [(a.start, a.end, a.code_id) for a in schedule.activities] == [
        (T, T + timedelta(hours=1), "onq"), (T + timedelta(hours=1), T + timedelta(hours=2), "mtg"),
        (T + timedelta(hours=2), T + timedelta(hours=4), "onq")]


def test_an_older_reading_never_overwrites_a_newer_one() -> None:
    table = LiveStateTable()
    table.set_members("mu", ["u1"])
    later = T + timedelta(minutes=5)
    event = table.apply("u1", later, presence=PresenceReading(Presence.AWAY, later))
    assert event is not None and event.presence is Presence.AWAY
    # a REST snapshot taken before the event, answered after it
    stale = table.apply("u1", later + timedelta(seconds=1), presence=PresenceReading(Presence.ON_QUEUE, T),
                        routing=RoutingReading(RoutingStatus.IDLE, T))
    assert stale is not None  # routing was news
    assert (stale.presence, stale.routing, stale.since) == (Presence.AWAY, RoutingStatus.IDLE, later)


def test_same_reading_again_is_not_a_change_but_refreshes_observed_at() -> None:
    table = LiveStateTable()
    table.set_members("mu", ["u1"])
    table.apply("u1", T, presence=PresenceReading(Presence.ON_QUEUE, T), routing=RoutingReading(RoutingStatus.IDLE, T))
    again = table.apply("u1", T + timedelta(minutes=3), presence=PresenceReading(Presence.ON_QUEUE, T))
    assert again is None
    state = table.view("mu")["u1"]
    assert (state.since, state.observed_at) == (T, T + timedelta(minutes=3))
    assert table.apply("stranger", T, presence=PresenceReading(Presence.AWAY, T)) is None


def test_backoff_grows_exponentially_within_jitter_bounds_and_caps() -> None:
    low, high = Backoff(base=1, cap=8, rng=lambda: 0.0), Backoff(base=1, cap=8, rng=lambda: 1.0)
    assert [low.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert [high.delay(n) for n in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]


def test_agents_leaving_a_unit_leave_its_table() -> None:
    table = LiveStateTable()
    table.set_members("mu", ["u1", "u2"])
    table.apply("u1", T, presence=PresenceReading(Presence.AWAY, T))
    table.set_members("mu", ["u2"])
    assert "u1" not in table.view("mu") and table.unit_of("u1") is None
    assert table.apply("u1", T, presence=PresenceReading(Presence.AWAY, T)) is None  # events for leavers ignored
