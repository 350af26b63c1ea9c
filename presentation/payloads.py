"""Action ids and the small typed values carried by buttons and modals.

Button values and ``private_metadata`` round-trip through Slack as strings; each is a compact
pydantic model so a handler gets validated ids back, never a half-parsed dict.

Every value also says what the card showed (tiers fired, outage marked), so a replayed payload, a
double click or a click on a stale card is recognised and changes nothing. Cards posted before
that field existed still work: the tiers shown are read from the actions block id
(``actions.<tiers fired>.<status>``), which every card has always carried.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ACKNOWLEDGE = "incident_acknowledge"
APPROVE_EXCEPTION = "incident_approve_exception"
ESCALATE = "incident_escalate"
MARK_OUTAGE = "storm_mark_outage"
EXCEPTION_MODAL = "incident_exception_submit"
SNOOZE = "incident_snooze"
UNSNOOZE = "incident_unsnooze"
UNACKNOWLEDGE = "incident_unacknowledge"
APPROVE_EXPLANATION = "incident_approve_explanation"
STORM_ACK_ALL = "storm_acknowledge_all"
STORM_ESCALATE_ALL = "storm_escalate_all"
AGENT_ON_MY_WAY = "agent_on_my_way"
AGENT_ON_A_CALL = "agent_on_a_call"
AGENT_EXPLAIN = "agent_explain"
EXPLAIN_MODAL = "agent_explain_submit"
#: The snooze menu's block id starts with this; the rest is the card's IncidentRef (option values are short).
SNOOZE_BLOCK = "snooze|"


class BadPayload(ValueError):
    """A button value or modal metadata that is not ours (or was tampered with)."""


class _Compact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def dump(self) -> str:
        return self.model_dump_json(by_alias=True)

    @classmethod
    def load(cls, raw: str | None) -> Self:
        try:
            return cls.model_validate_json(raw or "")
        except ValidationError as error:
            raise BadPayload(f"unreadable {cls.__name__}: {error.errors()[0]['msg']}") from None


class IncidentRef(_Compact):
    """Which incident a card button acts on (value of every incident button)."""

    mu_id: str = Field(alias="m", min_length=1, max_length=200)
    agent_id: str = Field(alias="a", min_length=1, max_length=200)
    incident_id: str = Field(alias="i", min_length=1, max_length=400)
    #: How many tiers had fired when the card was drawn (None: a card from before this field).
    shown: int | None = Field(default=None, alias="t", ge=0, le=100)
    #: Acknowledgements when drawn (None: a card from before Unacknowledge existed).
    acks: int | None = Field(default=None, alias="k", ge=0, le=1000)
    #: Snooze state when drawn (``Incident.snooze_seq``).
    snooze: int | None = Field(default=None, alias="z", ge=0, le=10_000)
    #: The agent's answer the card showed (``Incident.reply_seq``), for Approve explanation.
    reply: int | None = Field(default=None, alias="r", ge=0, le=10_000)


class AgentRef(_Compact):
    """The nudge DM's buttons: the agent's own incident and the answers their message showed."""

    mu_id: str = Field(alias="m", min_length=1, max_length=200)
    agent_id: str = Field(alias="a", min_length=1, max_length=200)
    incident_id: str = Field(alias="i", min_length=1, max_length=400)
    reply: int = Field(default=0, alias="r", ge=0, le=10_000)


class ExplainModalMeta(_Compact):
    """``private_metadata`` of the explain modal."""

    ref: AgentRef = Field(alias="r")


class StormRef(_Compact):
    """Which storm the grouped card's button acts on."""

    mu_id: str = Field(alias="m", min_length=1, max_length=200)
    storm_id: str = Field(alias="s", min_length=1, max_length=400)
    #: Whether the card already showed the storm marked as outage (None: a card from before this field).
    marked: bool | None = Field(default=None, alias="o")
    #: Tiers fired of the least escalated open member when drawn (for Escalate all).
    shown: int | None = Field(default=None, alias="t", ge=0, le=100)


class ExceptionModalMeta(_Compact):
    """``private_metadata`` of the approve-exception modal: the incident plus where the card is."""

    incident: IncidentRef = Field(alias="r")
    channel_id: str | None = Field(default=None, alias="c", max_length=100)


def tiers_shown_by_block(block_id: str | None) -> int | None:
    """Tiers fired on the card that sent ``block_id`` (``actions.1.open`` -> 1); None if not ours."""
    parts = (block_id or "").split(".")
    if len(parts) == 3 and parts[0] == "actions" and parts[1].isdigit() and len(parts[1]) <= 3:
        return int(parts[1])
    return None
