"""Training in surplus: the agent's Start now / Not now buttons.

Each acks at once, makes one desk call and answers the clicker ephemerally. A repeated click (double
click, replay, another replica) gets the first decision back; the seat itself is taken atomically by
the store, so the first to accept wins.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond

from handlers.errors import answering_errors
from handlers.surplus import SurplusPort
from presentation.blocks.surplus import decision_reply, parse_offer_value
from services.surplus import Decision


async def surplus_start(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                        surplus: SurplusPort) -> None:
    await ack()
    await _clicked(surplus, body, action, respond, start=True)


async def surplus_decline(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                          surplus: SurplusPort) -> None:
    await ack()
    await _clicked(surplus, body, action, respond, start=False)


async def _clicked(desk: SurplusPort, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, *,
                   start: bool) -> None:
    async with answering_errors(body, respond):
        mu_id, offer_id = parse_offer_value(action.get("value"))
        user = str(body["user"]["id"])
        decision = await (desk.start if start else desk.decline)(mu_id, offer_id, user)
        await respond(text=_reply(decision), response_type="ephemeral", replace_original=False)


def _reply(decision: Decision) -> str:
    name = decision.offer.item_name if decision.offer else "the training"
    return decision_reply(decision.outcome, name, repeated=decision.repeated, by=decision.by, at=decision.at,
                          ends=decision.ends)
