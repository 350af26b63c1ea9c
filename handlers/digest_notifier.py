"""The weekly digest by Slack direct message to an ops manager."""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from presentation.blocks.digest import digest_message
from services.digest import UnitDigest
from services.domain.model import Person
from services.ports import ChatDirectory

log = logging.getLogger(__name__)


class SlackDigestNotifier:
    channel = "slack"

    def __init__(self, client: AsyncWebClient, directory: ChatDirectory) -> None:
        self.client, self.directory = client, directory

    async def send_digest(self, person: Person, digest: UnitDigest) -> None:
        user_id = await self.directory.user_id_for(person)
        if user_id is None:  # nobody to write to; retrying every run would not find them either
            log.warning("weekly digest: %s has no Slack user (set slack_user_id or their email)", person.id)
            return
        opened = await self.client.conversations_open(users=user_id)
        message = digest_message(digest)
        await self.client.chat_postMessage(channel=str(opened["channel"]["id"]), text=message.text,
                                           blocks=message.blocks)
