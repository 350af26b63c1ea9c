"""Every Block Kit payload the bot builds passes slack_sdk's model validation, and says the right thing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from presentation.blocks.adherence import help_message, team_snapshot, unknown_team, your_teams
from presentation.blocks.exception_modal import exception_modal, notice_modal
from presentation.blocks.home import home_view
from presentation.blocks.incident_card import history_line, incident_card
from presentation.blocks.storm_card import storm_card
from presentation.payloads import (
    ACKNOWLEDGE,
    APPROVE_EXCEPTION,
    ESCALATE,
    MARK_OUTAGE,
    SNOOZE,
    UNACKNOWLEDGE,
    BadPayload,
    ExceptionModalMeta,
    IncidentRef,
    StormRef,
    tiers_shown_by_block,
)
from services.domain.escalation import EventKind, FiredTier, IncidentEvent, TierAction
from services.queries import AgentRow, TeamRef, TeamSnapshot
from tests.slack.blockkit import assert_valid_blocks, assert_valid_view
from tests.slack.samples import T0, every_state, incident, storm, view, with_card

STATES = every_state()


def buttons(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def all_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def mrkdwn_texts(node: Any) -> list[str]:
    """Every mrkdwn string (plain_text is shown literally by Slack, so it cannot mention anyone)."""
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" else []
        return own + [t for value in node.values() for t in mrkdwn_texts(value)]
    if isinstance(node, list):
        return [t for item in node for t in mrkdwn_texts(item)]
    return []


@pytest.mark.parametrize("state", sorted(STATES))
def test_every_incident_card_state_is_valid_block_kit(state: str) -> None:
    message = incident_card(STATES[state], mentions=["U0SUP0001"])
    assert_valid_blocks(message.blocks)
    assert message.text and "<!date" not in message.text


def test_open_card_shows_the_facts_and_three_buttons_carrying_the_ids() -> None:
    card = incident_card(STATES["card"])
    text = all_text(card.blocks)
    for fact in ("Alex Agent", "Billing · North", "On-queue work", "Away · Off queue", "5 min",
                 "Negative", "1 of 3", "next: email to the ops manager"):
        assert fact in text, fact
    found = buttons(card.blocks)
    assert list(found) == [ACKNOWLEDGE, APPROVE_EXCEPTION, ESCALATE, SNOOZE]
    ref = IncidentRef.load(found[ACKNOWLEDGE]["value"])
    assert (ref.mu_id, ref.agent_id, ref.incident_id) == ("mu-1", "a1", STATES["card"].incident.id)
    assert found[ESCALATE]["confirm"]["confirm"]["text"] == "Escalate"


def test_acknowledged_card_drops_acknowledge_and_says_who_and_until_when() -> None:
    card = incident_card(STATES["acknowledged"])
    assert list(buttons(card.blocks)) == [UNACKNOWLEDGE, APPROVE_EXCEPTION, ESCALATE, SNOOZE]
    text = all_text(card.blocks)
    assert "Acknowledged by Sam Supervisor" in text
    assert "Escalation paused until" in text and "09:21 UTC" in text  # 09:06 + 15 min ack_timeout
    expired = all_text(incident_card(STATES["ack_expired"]).blocks)
    assert "escalation has resumed" in expired


@pytest.mark.parametrize("state", ["card", "acknowledged", "escalated"])
def test_every_button_says_how_many_tiers_its_card_showed(state: str) -> None:
    card = incident_card(STATES[state])
    fired = len(STATES[state].incident.fired)
    actions = next(b for b in card.blocks if b["type"] == "actions")
    assert tiers_shown_by_block(actions["block_id"]) == fired  # what older cards fall back on
    for button in buttons(card.blocks).values():
        if "value" in button:  # the snooze menu carries the card's state in its block id
            assert IncidentRef.load(button["value"]).shown == fired


def test_block_ids_that_are_not_ours_show_no_tiers() -> None:
    assert [tiers_shown_by_block(b) for b in ("actions.2.open", "actions.x.open", "head.1.open", None, "")] == [
        2, None, None, None, None]


def test_escalate_now_disappears_when_every_tier_has_fired() -> None:
    assert ESCALATE not in buttons(incident_card(STATES["all_fired"]).blocks)
    assert "3 of 3" in all_text(incident_card(STATES["all_fired"]).blocks)


@pytest.mark.parametrize("state", ["excused", "resolved", "outage"])
def test_closed_cards_have_no_buttons_and_say_how_it_ended(state: str) -> None:
    card = incident_card(STATES[state])
    assert buttons(card.blocks) == {}
    expected = {"excused": "Exception approved by Sam Supervisor",
                "resolved": "Resolved: back in adherence after 26 min",
                "outage": "Marked as outage by Olga Ops"}[state]
    assert expected in all_text(card.blocks)
    if state == "excused":
        assert "System or phone issue (VPN down)" in all_text(card.blocks)


def test_block_ids_change_at_every_transition() -> None:
    ids = {state: {b["block_id"] for b in incident_card(v).blocks} for state, v in STATES.items()}
    assert not ids["card"] & ids["acknowledged"]
    assert not ids["acknowledged"] & ids["resolved"]


def test_mentions_only_where_asked_and_free_text_is_escaped() -> None:
    tricky = view(with_card(incident()), T0 + timedelta(minutes=5), name="<!channel> & <@U999>")
    card = incident_card(tricky)
    text = "\n".join(mrkdwn_texts(card.blocks))
    assert "<@" not in text and "<!channel>" not in text
    assert "&lt;!channel&gt; &amp; &lt;@U999&gt;" in text
    assert "<@U0SUP0001>" in all_text(incident_card(tricky, mentions=["U0SUP0001"]).blocks)


def test_history_lines_never_mention_anyone_and_describe_the_transition() -> None:
    v = STATES["escalated"]
    carded = with_card(incident())
    events = {
        "ack": IncidentEvent(EventKind.ACKNOWLEDGED, STATES["acknowledged"].incident, T0 + timedelta(minutes=6),
                             actor="Sam <@U1>"),
        "email": IncidentEvent(EventKind.TIER_FIRED, carded, T0 + timedelta(minutes=15),
                               tier=FiredTier(index=1, action=TierAction.EMAIL, at=T0 + timedelta(minutes=15))),
        "coaching": IncidentEvent(EventKind.TIER_FIRED, carded, T0 + timedelta(minutes=30),
                                  tier=FiredTier(index=2, action=TierAction.COACHING, at=T0 + timedelta(minutes=30))),
        "excused": IncidentEvent(EventKind.EXCUSED, STATES["excused"].incident, T0 + timedelta(minutes=8),
                                 actor="Sam Supervisor", note="coaching: 1:1 ran over"),
        "resolved": IncidentEvent(EventKind.RESOLVED, STATES["resolved"].incident, T0 + timedelta(minutes=27)),
    }
    lines = {name: history_line(v, event) for name, event in events.items()}
    assert all(line is not None and "<@" not in line and "<!channel" not in line for line in lines.values())
    assert "Acknowledged by Sam &lt;@U1&gt;" in str(lines["ack"])
    assert "Email sent to Olga Ops" in str(lines["email"])
    assert "Coaching session booked for Alex Agent" in str(lines["coaching"])
    assert "Coaching or 1:1 (1:1 ran over)" in str(lines["excused"])
    assert "after 26 min" in str(lines["resolved"])
    card_tier = IncidentEvent(EventKind.TIER_FIRED, carded, T0, tier=carded.fired[0])
    assert history_line(v, card_tier) is None  # the card itself is the news


def test_exception_modal_is_valid_and_carries_the_ids() -> None:
    meta = ExceptionModalMeta(incident=IncidentRef(mu_id="mu-1", agent_id="a1", incident_id="mu-1.a1.1"),
                              channel_id="D0CARD001")
    modal = exception_modal(meta, "Alex <Agent>")
    assert_valid_view(modal)
    assert ExceptionModalMeta.load(modal["private_metadata"]) == meta
    assert [b["block_id"] for b in modal["blocks"] if b["type"] == "input"] == ["window", "reason", "note"]
    reasons = [o["value"] for o in modal["blocks"][2]["element"]["options"]]
    assert "outage" not in reasons and "other" in reasons
    assert_valid_view(notice_modal("Not approved, and this title is long", "🚫 Already resolved."))


def test_payload_models_reject_tampered_values() -> None:
    with pytest.raises(BadPayload):
        IncidentRef.load('{"m": "mu-1"}')
    with pytest.raises(BadPayload):
        StormRef.load("not json")
    assert len(IncidentRef(mu_id="m" * 200, agent_id="a" * 200, incident_id="i" * 400).dump()) <= 2000


def test_storm_card_groups_agents_and_offers_mark_as_outage() -> None:
    open_storm = storm(4)
    card = storm_card(open_storm, mentions=["U0SUP0001"])
    assert_valid_blocks(card.blocks)
    text = all_text(card.blocks)
    assert "4 agents out at once: Billing" in text
    assert "Agent &lt;0&gt; &amp; co" in text
    ref = StormRef.load(buttons(card.blocks)[MARK_OUTAGE]["value"])
    assert (ref.mu_id, ref.storm_id, ref.marked) == ("mu-1", "storm-1", False)
    marked = storm_card(storm(4, closed_by_outage=True))
    assert_valid_blocks(marked.blocks)
    assert buttons(marked.blocks) == {}
    assert "Marked as outage by Olga Ops" in all_text(marked.blocks)


def test_huge_storm_stays_within_slack_limits() -> None:
    card = storm_card(storm(300))
    assert_valid_blocks(card.blocks)
    assert "…and 260 more" in all_text(card.blocks)


def rows(count: int) -> list[AgentRow]:
    statuses = ["ADHERENT", "NON_ADHERENT", "OFF_SHIFT", "UNKNOWN", ""]
    out = []
    for i in range(count):
        status = statuses[i % len(statuses)]
        out.append(AgentRow(
            agent_id=f"a{i}", agent_name=f"Agent {i:03d}", status=status,
            scheduled="off shift" if status == "OFF_SHIFT" else "OnQueueWork",
            presence="AWAY" if status == "NON_ADHERENT" else "ON_QUEUE", routing="OFF_QUEUE",
            reason="rule", minutes_in_state=12.4, adherence_pct=None if status == "" else 93.6,
            incident_id=f"inc-{i}" if status == "NON_ADHERENT" else None,
            incident_status="acknowledged" if status == "NON_ADHERENT" else None,
            minutes_out=12.4 if status == "NON_ADHERENT" else None))
    return out


TEAM = TeamRef("mu-1", "North", "t1", "Billing")


def test_team_snapshot_lists_every_agent_with_the_facts() -> None:
    message = team_snapshot(TeamSnapshot(TEAM, T0, rows(5)))
    assert_valid_blocks(message.blocks)
    text = all_text(message.blocks)
    assert "Billing · North" in text
    assert "🔴 *Agent 001* · scheduled On-queue work · actually Away · Off queue · out of adherence for 12 min" \
           " · 94% today · incident acknowledged, 12 min out" in text
    assert "⚪ *Agent 002* · scheduled nothing scheduled · off shift" in text
    assert "1 in · 1 out · 1 off shift · 1 without live state" in text


def test_team_snapshot_of_a_huge_team_stays_within_50_blocks() -> None:
    message = team_snapshot(TeamSnapshot(TEAM, T0, rows(2000)))
    assert_valid_blocks(message.blocks)
    assert "more agents than fit" in all_text(message.blocks)


def test_teams_unknown_team_and_help_messages() -> None:
    teams = [TEAM, TeamRef("mu-1", "North", "t2", "Sales")]
    for message in (your_teams(teams), your_teams([]), unknown_team("Bil<ling", teams), unknown_team("", []),
                    help_message(), help_message(note="I don't know “x”")):
        assert_valid_blocks(message.blocks)
    assert "/adherence team Sales" in all_text(your_teams(teams).blocks)
    unknown = all_text(unknown_team("Bil<ling", teams).blocks)
    assert "Bil&lt;ling" in unknown and "Billing" in unknown and "Sales" in unknown


def test_home_view_is_valid_with_nothing_and_with_many_incidents() -> None:
    assert_valid_view(home_view([], []))
    many = [view(with_card(incident(f"a{i}")), T0 + timedelta(minutes=9), link="https://x.slack.com/p1")
            for i in range(400)]
    home = home_view(many, [TEAM])
    assert_valid_view(home)
    assert "Your open incidents* (400)" in all_text(home["blocks"])
    assert "<https://x.slack.com/p1|open card>" in all_text(home["blocks"])
