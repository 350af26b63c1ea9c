"""Card controls beyond the first three: Snooze / Unsnooze, Unacknowledge, Approve explanation, and the
storm card's Acknowledge all / Escalate all.

Like every card button each carries what its card showed (``presentation.payloads``), so a replay, a
double click or a stale card changes nothing and is answered "Already ... by ... at/until ...".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.actions.card_click import IncidentCall, answer_card_click, ephemeral
from handlers.actor import ActorNames
from handlers.deps import HandlerDeps
from handlers.errors import answering_errors
from presentation.blocks import replies
from presentation.payloads import (
    SNOOZE_BLOCK,
    BadPayload,
    IncidentRef,
    StormRef,
)
from services.domain.escalation import Incident
from services.incident_actions import Actor


def snooze_ref(action: dict[str, Any]) -> tuple[IncidentRef, str]:
    """The snooze menu: the card's state is in its block id, the choice in the selected option."""
    block_id = str(action.get("block_id") or "")
    if not block_id.startswith(SNOOZE_BLOCK):
        raise BadPayload("not a snooze menu of this bot")
    choice = (action.get("selected_option") or {}).get("value")
    if not isinstance(choice, str) or not choice:
        raise BadPayload("no snooze length chosen")
    return IncidentRef.load(block_id.removeprefix(SNOOZE_BLOCK)), choice


async def _on_card(deps: HandlerDeps, actors: ActorNames, body: dict[str, Any], action: dict[str, Any],
                   respond: AsyncRespond, client: AsyncWebClient, act: IncidentCall,
                   reply: Callable[[Incident], str]) -> None:
    await answer_card_click(deps, actors, body, action, respond, client,
                            parse=lambda a: IncidentRef.load(a.get("value")), act=act, reply=reply)


async def snooze(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                 client: AsyncWebClient, deps: HandlerDeps, actors: ActorNames) -> None:
    await ack()
    async with answering_errors(body, respond):
        ref, choice = snooze_ref(action)
        actor = await actors.actor(body, client)
        incident = await deps.actions.snooze(ref.mu_id, ref.agent_id, ref.incident_id, actor, choice=choice,
                                             shown=ref.snooze)
        await deps.acted()
        await ephemeral(respond, replies.snoozed(incident))


async def unsnooze(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                   client: AsyncWebClient, deps: HandlerDeps, actors: ActorNames) -> None:
    await ack()

    async def act(ref: IncidentRef, actor: Actor) -> Incident:
        return await deps.actions.unsnooze(ref.mu_id, ref.agent_id, ref.incident_id, actor, shown=ref.snooze)

    await _on_card(deps, actors, body, action, respond, client, act, replies.unsnoozed)


async def unacknowledge(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                        client: AsyncWebClient, deps: HandlerDeps, actors: ActorNames) -> None:
    await ack()

    async def act(ref: IncidentRef, actor: Actor) -> Incident:
        return await deps.actions.unacknowledge(ref.mu_id, ref.agent_id, ref.incident_id, actor,
                                                shown_acks=ref.acks)

    await _on_card(deps, actors, body, action, respond, client, act, replies.unacknowledged)


async def approve_explanation(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                              client: AsyncWebClient, deps: HandlerDeps, actors: ActorNames) -> None:
    await ack()

    async def act(ref: IncidentRef, actor: Actor) -> Incident:
        return await deps.actions.approve_explanation(ref.mu_id, ref.agent_id, ref.incident_id, actor,
                                                      shown=ref.reply)

    await _on_card(deps, actors, body, action, respond, client, act, replies.explanation_approved)


async def _on_storm(deps: HandlerDeps, actors: ActorNames, body: dict[str, Any], action: dict[str, Any],
                    respond: AsyncRespond, client: AsyncWebClient, act: Callable[[StormRef, Actor], Awaitable[int]],
                    what: str) -> None:
    async with answering_errors(body, respond):
        ref = StormRef.load(action.get("value"))
        actor = await actors.actor(body, client)
        count = await act(ref, actor)
        await deps.acted()
        await ephemeral(respond, replies.group_done(what, count))


async def acknowledge_all(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                          client: AsyncWebClient, deps: HandlerDeps, actors: ActorNames) -> None:
    await ack()

    async def act(ref: StormRef, actor: Actor) -> int:
        return await deps.actions.acknowledge_all(ref.mu_id, ref.storm_id, actor)

    await _on_storm(deps, actors, body, action, respond, client, act, "Acknowledged")


async def escalate_all(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                       client: AsyncWebClient, deps: HandlerDeps, actors: ActorNames) -> None:
    await ack()

    async def act(ref: StormRef, actor: Actor) -> int:
        return await deps.actions.escalate_all(ref.mu_id, ref.storm_id, actor, shown=ref.shown)

    await _on_storm(deps, actors, body, action, respond, client, act, "Escalated now")
