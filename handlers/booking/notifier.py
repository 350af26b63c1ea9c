"""Booking progress in Slack: a direct message to the requester (or the channel they asked from)."""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from presentation.blocks.booking import progress_message, register_message
from services.booking.attendance import RegisterView, register_csv
from services.booking.model import BookingRequest, Progress

log = logging.getLogger(__name__)


class SlackProgressNotifier:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._dm: dict[str, str] = {}

    async def _channel(self, request: BookingRequest) -> str | None:
        if request.notify_channel:
            return request.notify_channel
        user = request.requester
        if user[:1] not in ("U", "W"):
            return None  # not a Slack user (e.g. the terminal): nobody to tell in Slack
        if user not in self._dm:
            opened = await self.client.conversations_open(users=user)
            self._dm[user] = str(opened["channel"]["id"])
        return self._dm[user]

    async def notify(self, request: BookingRequest, progress: Progress) -> None:
        channel = await self._channel(request)
        if channel is None:
            log.info("booking %s: %s (no Slack requester)", request.id, progress.text)
            return
        text, blocks = progress_message(request, progress)
        await self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)


class SlackAttendancePrompt:
    """After a session: a DM to its facilitator with the register and Attended / No-show per attendee."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def ask(self, user_id: str, view: RegisterView) -> None:
        opened = await self.client.conversations_open(users=user_id)
        text, blocks = register_message(view.register, register_csv(view.register, view.marks), marks=view.marks,
                                        now=view.now, time_zone=view.time_zone,
                                        note="The session is over: please mark who attended.")
        await self.client.chat_postMessage(channel=str(opened["channel"]["id"]), text=text, blocks=blocks)
