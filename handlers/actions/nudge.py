"""The agent's answers to the nudge DM: On my way, I'm on a call, Explain… (opens the explain modal).

Only the agent the DM was sent to may answer (the use case checks the clicker against the agent's
chat user); a replayed or second click on the same message changes nothing.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.actor import ActorNames
from handlers.deps import HandlerDeps
from handlers.errors import answering_errors
from presentation.blocks import replies
from presentation.blocks.nudge import explain_modal
from presentation.payloads import AgentRef, ExplainModalMeta
from services.domain.escalation import ReplyKind


async def _answer(deps: HandlerDeps, actors: ActorNames, body: dict[str, Any], action: dict[str, Any],
                  respond: AsyncRespond, client: AsyncWebClient, kind: ReplyKind) -> None:
    async with answering_errors(body, respond):
        ref = AgentRef.load(action.get("value"))
        actor = await actors.actor(body, client)
        await deps.actions.agent_reply(ref.mu_id, ref.agent_id, ref.incident_id, actor, kind=kind, shown=ref.reply)
        await deps.acted()
        await respond(text=replies.agent_answered(kind), response_type="ephemeral", replace_original=False)


async def on_my_way(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                    client: AsyncWebClient, deps: HandlerDeps, actors: ActorNames) -> None:
    await ack()
    await _answer(deps, actors, body, action, respond, client, ReplyKind.ON_MY_WAY)


async def on_a_call(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                    client: AsyncWebClient, deps: HandlerDeps, actors: ActorNames) -> None:
    await ack()
    await _answer(deps, actors, body, action, respond, client, ReplyKind.ON_A_CALL)


async def explain(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                  client: AsyncWebClient, deps: HandlerDeps) -> None:
    await ack()
    async with answering_errors(body, respond):
        ref = AgentRef.load(action.get("value"))
        # Only the agent, and only while the alert is open: refused now, not after the form.
        await deps.actions.check_agent(ref.mu_id, ref.agent_id, ref.incident_id, str(body["user"]["id"]))
        modal = explain_modal(ExplainModalMeta(ref=ref), deps.actions.explanation_reasons(ref.mu_id))
        await client.views_open(trigger_id=body["trigger_id"], view=modal)
