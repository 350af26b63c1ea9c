"""Training in surplus in Slack: what its buttons need (``SurplusPort``) and the agents' DMs.

The Start now / Not now listeners are in ``handlers/actions/surplus.py``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from slack_sdk.web.async_client import AsyncWebClient

from presentation.blocks.surplus import offer_message, recall_message
from services.ports import WorkforceSource
from services.surplus import Decision, SurplusStatus, Trainee
from services.surplus.ports import Offer

log = logging.getLogger(__name__)


class SurplusPort(Protocol):
    async def start(self, mu_id: str, offer_id: str, by: str) -> Decision: ...

    async def decline(self, mu_id: str, offer_id: str, by: str) -> Decision: ...

    async def status(self) -> list[SurplusStatus]: ...

    async def in_training(self) -> list[Trainee]: ...


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
