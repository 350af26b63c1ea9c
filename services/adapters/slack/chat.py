"""``ChatPort`` over the Slack Web API: one card per incident, updated in place, history in its thread.

Where a card goes: the team's channel when one is configured (mentioning the supervisors once, on
the first post), otherwise a DM with the supervisors (a group DM when there are several), otherwise
the unit's ops managers. Updates never mention anyone, so nobody is pinged on resolve.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from presentation.cards import CardRenderer, RenderedMessage
from services.adapters.slack.errors import PERMANENT_ERRORS, ChatDeliveryError
from services.domain.escalation import IncidentEvent
from services.domain.model import Person
from services.ports import ChatDirectory, IncidentView, MessageRef, StormView

log = logging.getLogger(__name__)


def team_channel(view: IncidentView | StormView) -> str | None:
    """The team's channel when one is configured (else cards go to the supervisors' DM)."""
    return view.team_channel or None


class SlackChat:
    def __init__(self, client: AsyncWebClient, directory: ChatDirectory, renderer: CardRenderer) -> None:
        self.client, self.directory, self.renderer = client, directory, renderer
        self._dm_channels: dict[tuple[str, ...], str] = {}

    # ---- ChatPort ----------------------------------------------------------------------------
    async def post_incident_card(self, view: IncidentView) -> MessageRef:
        channel, mentions = await self._destination(view.supervisors, view.ops_managers, team_channel(view),
                                                    what=f"incident {view.incident.id}")
        return await self._post(channel, self.renderer.incident_card(view, mentions=mentions))

    async def update_incident_card(self, ref: MessageRef, view: IncidentView, event: IncidentEvent) -> None:
        await self._update(ref, self.renderer.incident_card(view))
        line = self.renderer.incident_history_line(view, event)
        if line:
            await self._call("chat.postMessage", self.client.chat_postMessage, channel=ref.channel,
                             thread_ts=ref.ts, text=line, unfurl_links=False, unfurl_media=False)

    async def post_storm_card(self, view: StormView) -> MessageRef:
        channel, mentions = await self._destination(view.supervisors, (), team_channel(view),
                                                    what=f"storm {view.storm_id}")
        return await self._post(channel, self.renderer.storm_card(view, mentions=mentions))

    async def update_storm_card(self, ref: MessageRef, view: StormView) -> None:
        await self._update(ref, self.renderer.storm_card(view))

    # ---- StormThread -------------------------------------------------------------------------
    async def post_storm_history_line(self, ref: MessageRef, view: IncidentView, event: IncidentEvent) -> None:
        line = self.renderer.incident_history_line(view, event)
        if line:  # the same line as on an incident card, naming the agent (the thread is the group's)
            await self.post_storm_note(ref, f"{line} ({view.agent_name})")

    async def post_storm_note(self, ref: MessageRef, text: str) -> None:
        await self._call("chat.postMessage", self.client.chat_postMessage, channel=ref.channel,
                         thread_ts=ref.ts, text=text, unfurl_links=False, unfurl_media=False)

    # ---- AgentChat ---------------------------------------------------------------------------
    async def post_agent_nudge(self, view: IncidentView) -> MessageRef:
        """A DM to the agent alone (found by email, or ``slack_user_id``), never a shared conversation."""
        agent = view.agent
        user_id = await self.directory.user_id_for(agent) if agent is not None else None
        if not user_id:
            raise ChatDeliveryError(f"no Slack user for agent {view.incident.agent_id} (looked up by email)",
                                    retryable=False)
        return await self._post(await self._open_dm([user_id]), self.renderer.agent_nudge(view))

    async def update_agent_nudge(self, ref: MessageRef, view: IncidentView) -> None:
        await self._update(ref, self.renderer.agent_nudge(view))

    # ---- internals ---------------------------------------------------------------------------
    async def _post(self, channel: str, message: RenderedMessage) -> MessageRef:
        response = await self._call("chat.postMessage", self.client.chat_postMessage, channel=channel,
                                    text=message.text, blocks=message.blocks, unfurl_links=False,
                                    unfurl_media=False)
        posted_channel, ts = str(response["channel"]), str(response["ts"])
        return MessageRef(posted_channel, ts, await self._permalink(posted_channel, ts))

    async def _update(self, ref: MessageRef, message: RenderedMessage) -> None:
        await self._call("chat.update", self.client.chat_update, channel=ref.channel, ts=ref.ts,
                         text=message.text, blocks=message.blocks)

    async def _permalink(self, channel: str, ts: str) -> str | None:
        """Best effort: the card is already posted, so a failure here must not make the outbox re-post."""
        try:
            response = await self.client.chat_getPermalink(channel=channel, message_ts=ts)
            return str(response["permalink"])
        except Exception:
            log.warning("could not get a permalink for %s/%s", channel, ts, exc_info=True)
            return None

    async def _destination(self, supervisors: Sequence[Person], ops_managers: Sequence[Person],
                           channel: str | None, *, what: str) -> tuple[str, list[str]]:
        """(channel to post in, users to mention in it)."""
        supervisor_ids = await self._user_ids(supervisors)
        if channel:
            return channel, supervisor_ids
        if supervisor_ids:
            return await self._open_dm(supervisor_ids), []
        ops_ids = await self._user_ids(ops_managers)
        if ops_ids:
            return await self._open_dm(ops_ids), []
        raise ChatDeliveryError(
            f"nowhere to post {what}: no team channel and no supervisor or ops manager with a Slack user",
            retryable=False)

    async def _user_ids(self, people: Sequence[Person]) -> list[str]:
        ids: list[str] = []
        for person in people:
            user_id = await self.directory.user_id_for(person)
            if user_id and user_id not in ids:
                ids.append(user_id)
        return ids

    async def _open_dm(self, user_ids: Sequence[str]) -> str:
        key = tuple(sorted(user_ids))
        if key not in self._dm_channels:
            response = await self._call("conversations.open", self.client.conversations_open, users=",".join(key))
            self._dm_channels[key] = str(response["channel"]["id"])
        return self._dm_channels[key]

    async def _call(self, method: str, call: Any, **kwargs: Any) -> Any:
        """One Web API call (the client retries 429/5xx/connection errors); failures become ChatDeliveryError."""
        try:
            return await call(**kwargs)
        except SlackApiError as error:
            code = error.response.get("error") if isinstance(error.response.data, dict) else None
            status = error.response.status_code
            raise ChatDeliveryError(f"{method} failed: {code or f'HTTP {status}'}",
                                    retryable=code not in PERMANENT_ERRORS, slack_error=code) from error
        except (OSError, TimeoutError, ClientError) as error:
            raise ChatDeliveryError(f"{method} failed: {error!r}") from error
