"""``/adherence neutral``: nothing or ``list`` lists the windows the caller sees; anything else plans one."""

from __future__ import annotations

from handlers.deps import HandlerDeps
from presentation.blocks.neutral import input_error, listed, planned
from presentation.cards import RenderedMessage
from services.domain.neutral import NeutralInputError
from services.incident_actions import Actor

NOT_WIRED = "Neutral windows are not set up on this bot."


async def answer_neutral(deps: HandlerDeps, text: str, actor: Actor) -> RenderedMessage:
    desk = deps.neutral
    if desk is None:
        return input_error(NOT_WIRED)
    now = deps.clock.now()
    if text.lower() in ("", "list"):
        return listed(await desk.listed_for(actor.slack_user_id), now)
    try:
        window = await desk.plan_from_text(text, actor)
    except NeutralInputError as error:  # bad input: say what is wrong and how to write it; nothing saved
        return input_error(str(error))
    await deps.acted()
    return planned(window, now)
