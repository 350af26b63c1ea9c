"""Events API listeners: the App Home tab."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from handlers.deps import HandlerDeps
from handlers.errors import answering_errors
from presentation.blocks.home import home_view
from presentation.blocks.neutral import home_section
from presentation.blocks.surplus import in_training_blocks

APP_HOME_OPENED = "app_home_opened"


async def app_home_opened(body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient,
                          deps: HandlerDeps) -> None:
    if event.get("tab", "home") != "home":
        return  # the Messages tab needs nothing from us
    async with answering_errors(body, None):  # events are acked already; failures are logged
        await publish_home(deps, client, str(event["user"]))


async def publish_home(deps: HandlerDeps, client: AsyncWebClient, user_id: str) -> None:
    """Draw the caller's App Home (also after a neutral window is planned or cancelled from it)."""
    incidents = await deps.queries.open_incidents_for(user_id)
    teams = await deps.queries.teams_for(user_id)
    extra = []
    if deps.neutral is not None:
        windows = await deps.neutral.listed_for(user_id)
        can_plan = bool(await deps.neutral.scopes_for(user_id))
        extra = home_section(windows, deps.clock.now(), can_plan=can_plan)
    if deps.surplus is not None and teams:  # supervisors see who is in training now
        extra = [*extra, *in_training_blocks(await deps.surplus.in_training(), deps.clock.now())]
    await client.views_publish(user_id=user_id, view=home_view(incidents, teams, extra))
