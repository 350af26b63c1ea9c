"""Optimise upcoming: Apply / Discard on the proposal (``handlers.booking.optimise`` builds it).

Thin: the use case checks who may decide and does the work; a refusal is answered ephemerally, a
decision replaces the proposal.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond

from handlers.booking.optimise import Optimiser, decision_message
from services.booking.optimise import NotAllowed


async def apply_proposal(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                         optimiser: Optimiser) -> None:
    await _decide(optimiser, ack, body, action, respond, apply=True)


async def discard_proposal(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                           optimiser: Optimiser) -> None:
    await _decide(optimiser, ack, body, action, respond, apply=False)


async def _decide(optimiser: Optimiser, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                  respond: AsyncRespond, *, apply: bool) -> None:
    await ack()
    user_id = str(body.get("user", {}).get("id", ""))
    proposal_id = str(action.get("value", ""))
    try:
        decision = await (optimiser.apply if apply else optimiser.discard)(proposal_id, user_id)
    except NotAllowed as refused:
        await respond(text=str(refused).capitalize() + ".", response_type="ephemeral", replace_original=False)
        return
    text, blocks = decision_message(decision, proposal_id)
    await respond(text=text, blocks=blocks, replace_original=True)
