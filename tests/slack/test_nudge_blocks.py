"""The new messages and views pass slack_sdk's Block Kit validation and carry what they showed: the nudge
DM in each state, the explain modal, the card with an agent's answer, snoozed, unacknowledged, with a
long (Genesys-sized) id, and the storm card's group buttons; plus the grouped email's table."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from presentation.blocks.incident_card import SNOOZE_CHOICES, history_line, incident_card
from presentation.blocks.nudge import agent_nudge, explain_modal
from presentation.blocks.storm_card import storm_card
from presentation.email import storm_email
from presentation.payloads import (
    AGENT_EXPLAIN,
    AGENT_ON_A_CALL,
    AGENT_ON_MY_WAY,
    APPROVE_EXPLANATION,
    SNOOZE,
    SNOOZE_BLOCK,
    STORM_ACK_ALL,
    STORM_ESCALATE_ALL,
    UNSNOOZE,
    AgentRef,
    ExplainModalMeta,
    IncidentRef,
    StormRef,
)
from services.config import DEFAULT_EXPLANATION_REASONS
from services.domain.escalation import (
    IncidentStatus,
    ReplyKind,
    acknowledge,
    agent_replies,
    close,
    snooze,
    unacknowledge,
)
from services.ports import IncidentView
from tests.slack.blockkit import assert_valid_blocks, assert_valid_view
from tests.slack.samples import T0, incident, storm, view, with_card


def minutes(n: float) -> Any:
    return T0 + timedelta(minutes=n)


def elements(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def states() -> dict[str, IncidentView]:
    carded = with_card(incident())
    on_way, _ = agent_replies(carded, ReplyKind.ON_MY_WAY, "Alex", minutes(3), shown=0)
    explained, _ = agent_replies(carded, ReplyKind.EXPLANATION, "Alex", minutes(4), shown=0,
                                 reason_code="system_issue", note="VPN <down> & out")
    snoozed, _ = snooze(carded, "Sam Supervisor", minutes(66), minutes(6), shown=0)
    acked, _ = acknowledge(carded, "Sam Supervisor", minutes(6))
    unacked, _ = unacknowledge(acked, "Olga Ops", minutes(7))
    excused, _ = close(explained, IncidentStatus.EXCUSED, minutes(8), by="Sam Supervisor", reason="system_issue")
    return {"on_my_way": view(on_way, minutes(5)), "explained": view(explained, minutes(5)),
            "snoozed": view(snoozed, minutes(7)), "unacked": view(unacked, minutes(7)),
            "excused": view(excused, minutes(8)), "open": view(carded, minutes(5))}


STATES = states()


@pytest.mark.parametrize("state", sorted(STATES))
def test_the_nudge_dm_and_the_card_are_valid_block_kit_in_every_state(state: str) -> None:
    for message in (agent_nudge(STATES[state]), incident_card(STATES[state])):
        assert_valid_blocks(message.blocks)
        assert message.text and "<!date" not in message.text


def test_the_nudge_offers_three_answers_carrying_the_answers_it_showed_and_nothing_after_it_closed() -> None:
    found = elements(agent_nudge(STATES["open"]).blocks)
    assert list(found) == [AGENT_ON_MY_WAY, AGENT_ON_A_CALL, AGENT_EXPLAIN]
    assert AgentRef.load(found[AGENT_EXPLAIN]["value"]).reply == 0
    again = elements(agent_nudge(STATES["on_my_way"]).blocks)
    assert AgentRef.load(again[AGENT_ON_MY_WAY]["value"]).reply == 1
    assert "You said: on my way" in json.dumps(agent_nudge(STATES["on_my_way"]).blocks)
    closed = agent_nudge(STATES["excused"])
    assert elements(closed.blocks) == {} and "Excused by Sam Supervisor" in json.dumps(closed.blocks)


def test_the_card_shows_the_agents_answer_and_offers_approve_explanation_only_for_an_explanation() -> None:
    card = incident_card(STATES["explained"])
    text = json.dumps(card.blocks, ensure_ascii=False)
    assert "Agent says: explanation: System or phone issue (VPN &lt;down&gt; &amp; out)" in text
    button = elements(card.blocks)[APPROVE_EXPLANATION]
    assert IncidentRef.load(button["value"]).reply == 1
    assert APPROVE_EXPLANATION not in elements(incident_card(STATES["on_my_way"]).blocks)
    assert "Agent says: on my way, <!date^" in json.dumps(incident_card(STATES["on_my_way"]).blocks)


def test_the_snooze_menu_carries_the_card_state_in_its_block_id_and_unsnooze_replaces_it() -> None:
    card = incident_card(STATES["open"])
    (block,) = [b for b in card.blocks if b["block_id"].startswith(SNOOZE_BLOCK)]
    ref = IncidentRef.load(block["block_id"].removeprefix(SNOOZE_BLOCK))
    assert (ref.incident_id, ref.snooze, ref.acks) == (STATES["open"].incident.id, 0, 0)
    assert [o["value"] for o in block["elements"][0]["options"]] == [v for v, _ in SNOOZE_CHOICES]
    snoozed = incident_card(STATES["snoozed"])
    assert SNOOZE not in elements(snoozed.blocks) and UNSNOOZE in elements(snoozed.blocks)
    assert "Snoozed by Sam Supervisor until" in json.dumps(snoozed.blocks)
    assert "next: email to the ops manager at <!date^" + str(int(minutes(66).timestamp())) in json.dumps(
        snoozed.blocks)


def test_genesys_sized_ids_still_fit_the_snooze_block_id() -> None:
    uuid = "0b7f3c2e-8a41-4c55-9d0e-3f6a2b1c9d8e"
    long = with_card(incident()).model_copy(update={"mu_id": uuid, "agent_id": uuid, "id": f"{uuid}.{uuid}.1779094875"})
    card = incident_card(view(long, minutes(5)))
    assert_valid_blocks(card.blocks)
    assert any(b["block_id"].startswith(SNOOZE_BLOCK) for b in card.blocks)


def test_history_lines_for_the_new_transitions() -> None:
    carded = with_card(incident())
    snoozed, event = snooze(carded, "Sam", minutes(66), minutes(6), shown=0)
    assert "Snoozed by Sam until <!date^" in (history_line(view(snoozed, minutes(6)), event) or "")
    replied, event = agent_replies(carded, ReplyKind.ON_A_CALL, "Alex", minutes(3), shown=0)
    assert (history_line(view(replied, minutes(3)), event) or "").endswith("Agent says: I'm on a call.")


def test_the_explain_modal_offers_the_units_reasons() -> None:
    meta = ExplainModalMeta(ref=AgentRef(mu_id="mu-1", agent_id="a1", incident_id="i", reply=0))
    modal = explain_modal(meta, DEFAULT_EXPLANATION_REASONS)
    assert_valid_view(modal)
    reasons = next(b for b in modal["blocks"] if b["block_id"] == "reason")["element"]["options"]
    assert [o["value"] for o in reasons] == DEFAULT_EXPLANATION_REASONS
    assert ExplainModalMeta.load(modal["private_metadata"]) == meta


def test_the_storm_card_has_acknowledge_all_escalate_all_and_mark_as_outage() -> None:
    card = storm_card(storm(3))
    assert_valid_blocks(card.blocks)
    found = elements(card.blocks)
    assert list(found) == [STORM_ACK_ALL, STORM_ESCALATE_ALL, "storm_mark_outage"]
    assert StormRef.load(found[STORM_ESCALATE_ALL]["value"]).shown == 1
    assert elements(storm_card(storm(3, closed_by_outage=True)).blocks) == {}


def test_the_grouped_email_lists_every_agent_in_a_table() -> None:
    message = storm_email(storm(3), sender="bot@example.com", recipients=["olga@example.com"], tier=1)
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert all(f"Agent <{i}> & co" in plain.get_content() for i in range(3))
    assert html.get_content().count("<tr>") == 4 and "Agent &lt;0&gt; &amp; co" in html.get_content()
    assert message["Message-ID"] == "<storm-1.storm.1@example.com>"
