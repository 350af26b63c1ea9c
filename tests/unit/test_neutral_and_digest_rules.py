"""Pure rules of neutral windows (the command's grammar, time zones) and of the weekly digest."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.domain.digest import last_due, team_figures
from services.domain.model import Agent
from services.domain.neutral import NeutralInputError, NeutralWindow, exceptions_for, parse_range, split_command

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday


def test_the_scope_may_have_several_words_and_the_reason_is_the_rest() -> None:
    assert split_command("Billing East 14:00 - 15:30 system  maintenance") == (
        "Billing East", "14:00 - 15:30", "system maintenance")


def test_times_are_read_in_the_units_zone_and_a_date_may_be_given_for_each_end() -> None:
    start, end = parse_range("14:00-15:30", NOW, "Europe/Berlin")
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (NOW.replace(hour=13), NOW.replace(hour=14, minute=30))
    start, end = parse_range("2026-12-02 22:00-2026-12-03 02:00", NOW)
    assert end - start == timedelta(hours=4)


@pytest.mark.parametrize(("text", "message"), [
    ("22:00-02:00", "give both dates"), ("2026-12-02 14:00-2026-12-10 15:00", "at most 7 days"),
    ("2026-13-02 14:00-15:00", "is not a date"), ("07:00-08:00", "ended already")])
def test_bad_ranges_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(NeutralInputError, match=message):
        parse_range(text, NOW)


def test_a_team_window_covers_its_agents_only_and_a_cancelled_one_nobody() -> None:
    window = NeutralWindow("w", "mu", "t1", "Billing", NOW, NOW + timedelta(hours=1), "maintenance", "Olga", NOW)
    agents = {"a": Agent("a", "A", "t1", "mu"), "b": Agent("b", "B", "t2", "mu"), "c": Agent("c", "C", "t1", "other")}
    covered = exceptions_for([window], agents, NOW)
    assert list(covered) == ["a"] and covered["a"][0].source == "neutral"
    assert exceptions_for([window.cancel("Olga", NOW)], agents, NOW) == {}


def test_the_digest_is_due_at_the_last_weekday_and_time_in_the_units_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    monday_morning = datetime(2026, 11, 30, 7, 30, tzinfo=UTC)  # 08:30 in Berlin
    assert last_due(monday_morning, 0, "08:00", berlin) == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    before = datetime(2026, 11, 30, 6, 30, tzinfo=UTC)  # 07:30 in Berlin: still last week's
    assert last_due(before, 0, "08:00", berlin) == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def _entry(kind: str, at: datetime, *, card_at: datetime | None = None, actor: str | None = None,
           close_reason: str | None = None, agent: str = "a1") -> dict[str, str]:
    fired = [{"index": 0, "action": "chat_card", "at": card_at.isoformat()}] if card_at else []
    incident: dict[str, object] = {"id": f"{agent}:1", "agent_id": agent, "team_id": "t1", "fired": fired,
                                   "close_reason": close_reason}
    event = {"kind": kind, "at": at.isoformat(), "actor": actor, "tier": None, "incident": incident}
    return {"kind": kind, "incident": f"{agent}:1", "agent": agent, "event": json.dumps(event)}


def test_digest_rules_replies_after_the_card_outages_and_entries_outside_the_period() -> None:
    card = NOW + timedelta(minutes=5)
    entries = [
        {"kind": "neutral_planned", "neutral": "w1", "actor": "Olga", "event": "{}"},  # not an incident's
        _entry("opened", NOW - timedelta(days=8), agent="old"),  # before the period
        _entry("opened", NOW), _entry("agent_replied", NOW + timedelta(minutes=6), card_at=card),
        _entry("excused", NOW + timedelta(minutes=7), card_at=card, actor="Sam", close_reason="outage"),
        _entry("opened", NOW, agent="a2"), _entry("agent_replied", NOW + timedelta(minutes=1), agent="a2"),
        _entry("excused", NOW + timedelta(minutes=3), actor="wfm", agent="a2"),
    ]
    (figures,) = team_figures(entries, NOW - timedelta(days=7), NOW + timedelta(days=1)).values()
    assert figures.incidents == 2
    assert figures.approvals == {}  # an outage mark and the WFM's own exception are not approvals
    assert figures.explained_before_card == ("a2",)  # a1 replied after its card; a2 never got one
