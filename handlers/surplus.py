"""Training in surplus in Slack: the agents' Start now / Not now buttons, and their DMs.

Each button acks at once, makes one desk call and answers the clicker ephemerally. A repeated
click (double click, replay, another replica) gets the first decision back; the seat itself is
taken atomically by the store, so the first to accept wins.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.errors import answering_errors
from presentation.blocks.surplus import (
    SURPLUS_DECLINE,
    SURPLUS_START,
    decision_reply,
    offer_message,
    parse_offer_value,
    recall_message,
)
from services.ports import WorkforceSource
from services.surplus import Decision, SurplusStatus, Trainee
from services.surplus.ports import Offer

log = logging.getLogger(__name__)


class SurplusPort(Protocol):
    async def start(self, mu_id: str, offer_id: str, by: str) -> Decision: ...

    async def decline(self, mu_id: str, offer_id: str, by: str) -> Decision: ...

    async def status(self) -> list[SurplusStatus]: ...

    async def in_training(self) -> list[Trainee]: ...


def _reply(decision: Decision) -> str:
    name = decision.offer.item_name if decision.offer else "the training"
    return decision_reply(decision.outcome, name, repeated=decision.repeated, by=decision.by, at=decision.at,
                          ends=decision.ends)


def register(app: AsyncApp, desk: SurplusPort) -> None:
    async def clicked(body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, start: bool) -> None:
        async with answering_errors(body, respond):
            mu_id, offer_id = parse_offer_value(action.get("value"))
            user = str(body["user"]["id"])
            decision = await (desk.start if start else desk.decline)(mu_id, offer_id, user)
            await respond(text=_reply(decision), response_type="ephemeral", replace_original=False)

    @app.action(SURPLUS_START)
    async def surplus_start(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                            respond: AsyncRespond) -> None:
        await ack()
        await clicked(body, action, respond, True)

    @app.action(SURPLUS_DECLINE)
    async def surplus_decline(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                              respond: AsyncRespond) -> None:
        await ack()
        await clicked(body, action, respond, False)


class SlackSurplusNotifier:
    """The agent's DMs: found by the roster's email (``users.lookupByEmail``), cached per agent."""

    def __init__(self, client: AsyncWebClient, source: WorkforceSource) -> None:
        self.client, self.source = client, source
        self._channels: dict[str, str | None] = {}

    async def _channel(self, mu_id: str, agent_id: str) -> str | None:
        if agent_id not in self._channels:
            agent = (await self.source.roster(mu_id)).agents.get(agent_id)
            channel = None
            if agent is not None and agent.email:
                found = await self.client.users_lookupByEmail(email=agent.email)
                opened = await self.client.conversations_open(users=str(found["user"]["id"]))
                channel = str(opened["channel"]["id"])
            self._channels[agent_id] = channel
        return self._channels[agent_id]

    async def offer(self, offer: Offer) -> None:
        channel = await self._channel(offer.mu_id, offer.agent_id)
        if channel is None:
            log.warning("surplus %s: no Slack user for %s; offer %s not sent", offer.mu_id, offer.agent_id,
                        offer.offer_id)
            return
        message = offer_message(offer)
        await self.client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks)

    async def recall(self, mu_id: str, trainee: Trainee, back_by: datetime) -> None:
        channel = await self._channel(mu_id, trainee.agent_id)
        if channel is None:
            log.warning("surplus %s: no Slack user for %s; recall not sent", mu_id, trainee.agent_id)
            return
        message = recall_message(trainee, back_by)
        await self.client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks)
