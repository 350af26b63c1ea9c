"""Neutral-window buttons: **Cancel** (in the ``/adherence neutral`` reply and App Home) and
**Plan a neutral window** (App Home, opens the form).

Cancel is idempotent: a second one (a double click, an old list) is answered "Already cancelled by X
at T". A click in App Home has no ``response_url``, so its answer is a small modal and the tab is
redrawn; a click in a message is answered ephemerally.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.actor import ActorNames, user_id_of
from handlers.deps import HandlerDeps
from handlers.errors import answering_errors, user_message
from handlers.events.home import publish_home
from presentation.blocks.exception_modal import notice_modal
from presentation.blocks.neutral import cancelled, plan_modal
from presentation.neutral_payloads import NeutralRef
from services.domain.neutral import NeutralInputError, zone


def _in_home(body: dict[str, Any]) -> bool:
    return (body.get("container") or {}).get("type") == "view" or not body.get("response_url")


async def cancel(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                 client: AsyncWebClient, deps: HandlerDeps, actors: ActorNames) -> None:
    await ack()
    if not _in_home(body):
        async with answering_errors(body, respond):
            text = await _cancel(deps, actors, action, body, client)
            await respond(text=text, response_type="ephemeral", replace_original=False)
        return
    try:
        text = await _cancel(deps, actors, action, body, client)
    except Exception as error:
        text = user_message(error) or ""
        if not text:
            raise
    await client.views_open(trigger_id=body["trigger_id"], view=notice_modal("Neutral window", text))
    await publish_home(deps, client, user_id_of(body))


async def _cancel(deps: HandlerDeps, actors: ActorNames, action: dict[str, Any], body: dict[str, Any],
                  client: AsyncWebClient) -> str:
    if deps.neutral is None:
        raise NeutralInputError("Neutral windows are not set up on this bot")
    ref = NeutralRef.load(action.get("value"))
    window = await deps.neutral.cancel(ref.mu_id, ref.window_id, await actors.actor(body, client))
    await deps.acted()
    return cancelled(window)


async def plan_open(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, deps: HandlerDeps) -> None:
    await ack()
    user_id = user_id_of(body)
    scopes = await deps.neutral.scopes_for(user_id) if deps.neutral else []
    if not scopes:
        text = "Only a unit's ops managers may plan neutral windows, and you are not one in the configuration."
        await client.views_open(trigger_id=body["trigger_id"], view=notice_modal("Neutral window", text))
        return
    today = deps.clock.now().astimezone(zone(scopes[0].time_zone)).date()
    # The trigger id expires 3 s after the click: the form opens before anything slow.
    await client.views_open(trigger_id=body["trigger_id"], view=plan_modal(scopes, today))
