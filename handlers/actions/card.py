"""Card buttons: Acknowledge, Approve exception (opens the modal), Escalate now, Mark as outage; the
other controls are in ``controls``, the agent's nudge answers in ``nudge``.

Each listener acks at once, parses the button value, makes one use-case call and answers the
clicker ephemerally; refusals are answered by ``handlers.errors``. The card itself is
re-rendered by the outbox dispatcher, so every replica and every path updates it the same way.

Every button says what its card showed (``presentation.payloads``); a replay, a double click or a
stale card changes nothing and is answered "Already ... by ... at ...".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.actions.card_click import IncidentCall, answer_card_click, ephemeral
from handlers.actor import ActorNames
from handlers.deps import HandlerDeps
from handlers.errors import answering_errors
from presentation.blocks import replies
from presentation.blocks.exception_modal import exception_modal
from presentation.payloads import (
    ExceptionModalMeta,
    IncidentRef,
    StormRef,
    tiers_shown_by_block,
)
from services.domain.escalation import Incident
from services.incident_actions import Actor


def _incident_ref(action: dict[str, Any]) -> IncidentRef:
    """The button's incident, with the tiers its card showed (from the block id on older cards)."""
    ref = IncidentRef.load(action.get("value"))
    if ref.shown is None:
        ref = ref.model_copy(update={"shown": tiers_shown_by_block(action.get("block_id"))})
    return ref


def _channel_of(body: dict[str, Any]) -> str | None:
    channel = body.get("channel") or {}
    container = body.get("container") or {}
    found = channel.get("id") or container.get("channel_id")
    return str(found) if found else None


async def _incident_action(deps: HandlerDeps, actors: ActorNames, body: dict[str, Any], action: dict[str, Any],
                           respond: AsyncRespond, client: AsyncWebClient, act: IncidentCall,
                           reply: Callable[[Incident], str]) -> None:
    """Acknowledge and Escalate: the tiers the card showed may come from the block id of older cards."""
    await answer_card_click(deps, actors, body, action, respond, client, parse=_incident_ref, act=act, reply=reply)


async def acknowledge(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                      client: AsyncWebClient, deps: HandlerDeps, actors: ActorNames) -> None:
    await ack()

    async def act(ref: IncidentRef, actor: Actor) -> Incident:
        # Acknowledging means the same whatever tier the card showed; a second one is refused.
        return await deps.actions.acknowledge(ref.mu_id, ref.agent_id, ref.incident_id, actor, shown_acks=ref.acks)

    await _incident_action(deps, actors, body, action, respond, client, act, replies.acknowledged)


async def escalate(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                   client: AsyncWebClient, deps: HandlerDeps, actors: ActorNames) -> None:
    await ack()

    async def act(ref: IncidentRef, actor: Actor) -> Incident:
        return await deps.actions.escalate(ref.mu_id, ref.agent_id, ref.incident_id, actor, shown=ref.shown)

    await _incident_action(deps, actors, body, action, respond, client, act, replies.escalated)


async def approve_exception(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                            client: AsyncWebClient, deps: HandlerDeps) -> None:
    await ack()
    async with answering_errors(body, respond):
        ref = _incident_ref(action)
        # Refuse a stranger or a closed alert now, not after they filled in the form (two fast reads).
        await deps.actions.check_open(ref.mu_id, ref.agent_id, ref.incident_id, str(body["user"]["id"]))
        meta = ExceptionModalMeta(incident=ref, channel_id=_channel_of(body))
        # The trigger id expires 3 s after the click: open the modal before anything slow.
        await client.views_open(trigger_id=body["trigger_id"], view=exception_modal(meta))


async def mark_outage(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                      client: AsyncWebClient, deps: HandlerDeps, actors: ActorNames) -> None:
    await ack()
    async with answering_errors(body, respond):
        ref = StormRef.load(action.get("value"))
        actor = await actors.actor(body, client)
        count = await deps.actions.mark_outage(ref.mu_id, ref.storm_id, actor, marked=ref.marked)
        await deps.acted()
        await ephemeral(respond, replies.outage_marked(count))
