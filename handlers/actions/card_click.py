"""What every incident-card button does once acked: parse the button, one use-case call, wake the
outbox, answer the clicker ephemerally (errors answered by :func:`answering_errors`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.actor import ActorNames
from handlers.deps import HandlerDeps
from handlers.errors import answering_errors
from presentation.payloads import IncidentRef
from services.domain.escalation import Incident
from services.incident_actions import Actor

IncidentCall = Callable[[IncidentRef, Actor], Awaitable[Incident]]


def ephemeral(respond: AsyncRespond, text: str) -> Any:
    return respond(text=text, response_type="ephemeral", replace_original=False)


async def answer_card_click(deps: HandlerDeps, actors: ActorNames, body: dict[str, Any], action: dict[str, Any],
                            respond: AsyncRespond, client: AsyncWebClient, *,
                            parse: Callable[[dict[str, Any]], IncidentRef], act: IncidentCall,
                            reply: Callable[[Incident], str]) -> None:
    async with answering_errors(body, respond):
        ref = parse(action)
        actor = await actors.actor(body, client)
        incident = await act(ref, actor)
        await deps.acted()
        await ephemeral(respond, reply(incident))
