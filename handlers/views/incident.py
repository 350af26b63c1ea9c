"""Modal submissions: the approve-exception form and the agent's explain form.

The use case runs before ``ack`` so the modal can show why nothing was approved (refused, already
closed) instead of closing silently; it is one Redis round trip, well inside Slack's 3 seconds.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from handlers.actor import ActorNames
from handlers.deps import HandlerDeps
from handlers.errors import EXPECTED, user_message
from handlers.forms import ExceptionForm, ExplainForm, FormErrors
from presentation.blocks import replies
from presentation.blocks.exception_modal import notice_modal
from presentation.payloads import BadPayload, ExceptionModalMeta, ExplainModalMeta
from services.domain.escalation import ReplyKind

log = logging.getLogger(__name__)


async def approve_exception(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
                            deps: HandlerDeps, actors: ActorNames) -> None:
    try:
        meta = ExceptionModalMeta.load(view.get("private_metadata"))
    except BadPayload as error:
        await ack(response_action="update", view=notice_modal("Not approved", user_message(error) or ""))
        return
    try:
        form = ExceptionForm.from_state(view.get("state", {}).get("values", {}))
    except FormErrors as error:
        await ack(response_action="errors", errors=error.errors)
        return
    actor = await actors.actor(body, client)
    ref = meta.incident
    until = deps.clock.now() + form.window
    try:
        incident = await deps.actions.approve_exception(
            ref.mu_id, ref.agent_id, ref.incident_id, actor,
            until=until, reason_code=form.reason_code, note=form.note)
    except EXPECTED as error:
        await ack(response_action="update", view=notice_modal("Not approved", user_message(error) or ""))
        return
    await ack()
    await deps.acted()
    if meta.channel_id:
        try:
            await client.chat_postEphemeral(channel=meta.channel_id, user=actor.slack_user_id,
                                            text=replies.exception_approved(incident, until))
        except Exception:  # the card update says it too; a lost confirmation is harmless
            log.info("could not confirm the exception to %s", actor.slack_user_id, exc_info=True)

async def explain(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
                  deps: HandlerDeps, actors: ActorNames) -> None:
    """The agent's explanation: recorded on the incident (the supervisor approves it from the card)."""
    try:
        ref = ExplainModalMeta.load(view.get("private_metadata")).ref
    except BadPayload as error:
        await ack(response_action="update", view=notice_modal("Not sent", user_message(error) or ""))
        return
    try:
        form = ExplainForm.from_state(view.get("state", {}).get("values", {}),
                                      deps.actions.explanation_reasons(ref.mu_id))
    except FormErrors as error:
        await ack(response_action="errors", errors=error.errors)
        return
    actor = await actors.actor(body, client)
    try:
        await deps.actions.agent_reply(ref.mu_id, ref.agent_id, ref.incident_id, actor,
                                       kind=ReplyKind.EXPLANATION, shown=ref.reply,
                                       reason_code=form.reason_code, note=form.note)
    except EXPECTED as error:
        await ack(response_action="update", view=notice_modal("Not sent", user_message(error) or ""))
        return
    await ack()
    await deps.acted()
