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


class StormRef(_Compact):
    """Which storm the grouped card's button acts on."""

    mu_id: str = Field(alias="m", min_length=1, max_length=200)
    storm_id: str = Field(alias="s", min_length=1, max_length=400)
    #: Whether the card already showed the storm marked as outage (None: a card from before this field).
    marked: bool | None = Field(default=None, alias="o")


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
