"""The organisation config: defaults, overrides per unit, durations, and errors that name the key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from services.config import ConfigError, OrgConfig, load_org_config, parse_org_config
from services.domain.durations import format_duration, parse_duration
from services.domain.escalation import TierAction
from services.domain.rules import Impact, Verdict
from services.domain.states import ActivityCategory, Presence, RoutingStatus

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.toml"


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("5m", 300), ("1h", 3600), ("1h30m", 5400),
                                                ("2d", 172800), (" 15 m ", 900), ("250ms", 0.25)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "5", "m5", "5x", "5m3", "five minutes", "-5m"])
def test_bad_durations_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match="90s, 5m, 1h"):
        parse_duration(text)


def test_format_duration_round_trips() -> None:
    for text in ("1h30m", "45s", "2d", "5m"):
        assert format_duration(parse_duration(text)) == text


def test_defaults_follow_the_design() -> None:
    config = OrgConfig()
    policy = config.policy_for("any-unit")
    assert [(t.after, t.action) for t in policy.tiers] == [
        (timedelta(minutes=5), TierAction.CHAT_CARD), (timedelta(minutes=15), TierAction.EMAIL),
        (timedelta(minutes=30), TierAction.COACHING)]
    assert policy.clear_after == timedelta(seconds=60) and policy.ack_timeout == timedelta(minutes=15)
    assert config.monitor.tick == timedelta(seconds=15)


def test_the_example_file_is_valid_and_its_overrides_apply() -> None:
    config = load_org_config(EXAMPLE)
    assert config.policy_for("mu-1").clear_after == timedelta(seconds=90)
    assert config.policy_for("mu-2").clear_after == timedelta(seconds=60)
    table = config.rules_for("mu-1")
    assert table.judge(ActivityCategory.BREAK, Presence.OFFLINE, RoutingStatus.OFFLINE) == (Verdict.IN, Impact.NEUTRAL)
    assert config.management_units["mu-1"].teams["mu-1-t1"].slack_channel == "C0123456789"
    assert config.booking.locations["hq"].rooms["training"].capacity == 20
    assert config.booking.coaching_within == timedelta(days=5) and config.booking.trainers == ["sam"]


def test_unit_overrides_come_before_global_ones() -> None:
    config = parse_org_config({
        "rules": [{"category": "Meeting", "presence": ["Away"], "verdict": "in"}],
        "management_units": {"strict": {"rules": [{"category": "Meeting", "presence": ["Away"],
                                                   "verdict": "out", "impact": "negative"}]}},
    })
    away = (ActivityCategory.MEETING, Presence.AWAY, RoutingStatus.OFF_QUEUE)
    assert config.rules_for("strict").judge(*away) == (Verdict.OUT, Impact.NEGATIVE)
    assert config.rules_for("other").judge(*away) == (Verdict.IN, Impact.NEUTRAL)


@pytest.mark.parametrize(("data", "message"), [
    ({"monitor": {"clear_after": "5x"}}, "monitor.clear_after: '5x' is not a duration"),
    ({"monitor": {"tick": "0s"}}, "monitor.tick: must be longer than 0s"),
    ({"tiers": [{"after": "15m", "action": "email"}, {"after": "5m", "action": "chat_card"}]},
     "tiers: tiers must be listed in increasing order"),
    ({"tiers": [{"after": "5m", "action": "sms"}]}, "tiers.0.action"),
    ({"management_units": {"mu-9": {"ops_managers": ["ghost"]}}}, "mu-9: 'ghost' is not defined under [people]"),
    ({"rules": [{"category": "Brek", "verdict": "in"}]}, "rules: unknown activity category 'Brek'"),
    ({"rules": [{"presence": ["Sleeping"], "verdict": "in"}]}, "unknown presence 'Sleeping'"),
    ({"monitr": {}}, "monitr: Extra inputs are not permitted"),
])
def test_a_bad_value_fails_naming_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_org_config(data, "bot.toml")
    assert message in str(error.value) and "bot.toml" in str(error.value)


def test_missing_and_malformed_files_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_org_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[monitor\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_org_config(bad)


# ---- a config that refuses nonsense: each refused value names its key -----------------------------------------
PEOPLE = {"sam": {"name": "Sam", "email": "sam@example.com"}}


@pytest.mark.parametrize(("data", "key", "message"), [
    ({"tiers": []}, "tiers", "at least one tier is needed"),
    ({"management_units": {"mu-1": {"tiers": []}}}, "management_units.mu-1.tiers", "at least one tier is needed"),
    ({"tiers": [{"after": "5m", "action": "chat_card"}, {"after": "5m", "action": "email"}]},
     "tiers", "tier 1 has the same after (5m) as tier 0"),
    ({"tiers": [{"after": 5, "action": "chat_card"}]}, "tiers.0.after", "5 is a bare number"),
    ({"monitor": {"clear_after": 60}}, "monitor.clear_after", 'like "60m" or "60s"'),
    ({"booking": {"horizon": 28}}, "booking.horizon", "bare number"),
    ({"management_units": {"mu-1": {"ops_managers": ["ghost"]}}}, "management_units.mu-1",
     "'ghost' is not defined under [people]"),
    ({"management_units": {"mu-1": {"teams": {"t1": {"supervisors": ["ghost"]}}}}}, "management_units.mu-1",
     "'ghost' is not defined under [people]"),
    ({"booking": {"trainers": ["ghost"]}}, "booking.trainers", "'ghost' is not defined under [people]"),
    ({"booking": {"training_type": "course"}}, "booking: training_type", "no meeting type 'course'"),
    ({"booking": {"default_type": "standup"}}, "booking: default_type", "no meeting type 'standup'"),
    ({"booking": {"types": {"lab": {"name": "Lab", "room": True, "equipment": ["vr"]}},
                  "default_type": "lab", "search": {"default": {}},
                  "locations": {"hq": {"name": "HQ", "rooms": {"blue": {"name": "Blue", "capacity": 4}}}}}},
     "booking: types.lab.equipment", "no room under [booking.locations] has vr"),
    ({"people": {"sam": {"name": "Sam", "email": "sam.example.com"}}}, "people.sam.email",
     "'sam.example.com' is not an email address"),
    ({"people": {"sam": {"name": "Sam", "email": "Sam <sam@example.com>"}}}, "people.sam.email", "not an email"),
    ({"booking": {"locations": {"hq": {"name": "HQ", "rooms": {"blue": {"name": "Blue", "capacity": 4,
                                                                         "mailbox": "blue@"}}}}}},
     "booking.locations.hq.rooms.blue.mailbox", "'blue@' is not an email address"),
    ({"people": {"sam": {"name": "Sam", "slack_user_id": "@sam"}}}, "people.sam.slack_user_id",
     "not a Slack user id"),
    ({"people": PEOPLE, "management_units": {"mu-1": {"teams": {"t1": {"slack_channel": "#ops"}}}}},
     "management_units.mu-1.teams.t1.slack_channel", "use the channel id, e.g. C0123ABCD"),
    ({"people": PEOPLE, "management_units": {"mu-1": {"teams": {"t1": {"slack_channel": "ops"}}}}},
     "management_units.mu-1.teams.t1.slack_channel", "use the channel id, e.g. C0123ABCD"),
    ({"monitor": {"tick": "30s", "stale_after": "20s"}}, "monitor", "stale_after (20s) is shorter than tick (30s)"),
    ({"monitor": {"clear_after": "0s"}}, "monitor.clear_after", "must be longer than 0s"),
    ({"management_units": {"mu-1": {"clear_after": "0s"}}}, "management_units.mu-1.clear_after",
     "must be longer than 0s"),
    ({"monitor": {"ack_timeout": "0s"}}, "monitor.ack_timeout", "must be longer than 0s"),
    ({"coaching": {"length": "20m"}}, "coaching.length", "whole number of 15-minute grid steps"),
    ({"coaching": {"length": "0s"}}, "coaching.length", "whole number of 15-minute grid steps"),
    ({"booking": {"horizon": "10d5m"}}, "booking.horizon", "whole number of 15-minute grid steps"),
])
def test_nonsense_is_refused_naming_the_key(data: dict[str, object], key: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_org_config(data, "bot.toml")
    text = str(error.value)
    assert f"{key}: " in text and message in text, text
    assert "Traceback" not in text and "bot.toml" in text


@pytest.mark.parametrize("data", [
    {"people": {"sam": {"name": "Sam", "email": "sam@localhost", "slack_user_id": "U0123ABCD"}}},
    {"people": PEOPLE, "management_units": {"mu-1": {"teams": {"t1": {"slack_channel": "C0123ABCD",
                                                                      "supervisors": ["sam"]}}}}},
    {"monitor": {"tick": "15s", "stale_after": "15s"}},
    {"coaching": {"length": "45m"}, "booking": {"horizon": "14d"}},
    {"tiers": [{"after": "5m", "action": "chat_card"}]},
])
def test_sensible_values_still_pass(data: dict[str, object]) -> None:
    parse_org_config(data)
