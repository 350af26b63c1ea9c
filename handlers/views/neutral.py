"""The "Plan a neutral window" form (App Home): validated before ``ack`` so errors show in the form."""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from handlers.actor import ActorNames, user_id_of
from handlers.deps import HandlerDeps
from handlers.errors import user_message
from handlers.events.home import publish_home
from presentation.blocks.exception_modal import notice_modal
from presentation.neutral_payloads import (
    DAY_BLOCK,
    END_BLOCK,
    REASON_BLOCK,
    SCOPE_BLOCK,
    START_BLOCK,
)
from services.domain.neutral import NeutralInputError
from services.incident_actions import NotAllowed
from services.neutral import UnknownScope


def _field(values: dict[str, Any], block: str) -> dict[str, Any]:
    return dict((values.get(block) or {}).get("value") or {})


def read_form(values: dict[str, Any]) -> tuple[str, date, str, str, str]:
    """(scope key, day, start, end, reason), or :class:`FormProblem` naming each block that is wrong."""
    problems: dict[str, str] = {}
    scope = str((_field(values, SCOPE_BLOCK).get("selected_option") or {}).get("value") or "")
    if not scope:
        problems[SCOPE_BLOCK] = "Choose a team or a unit."
    raw_day = str(_field(values, DAY_BLOCK).get("selected_date") or "")
    try:
        day = date.fromisoformat(raw_day)
    except ValueError:
        problems[DAY_BLOCK] = "Choose a date."
        day = date.min
    start = str(_field(values, START_BLOCK).get("selected_time") or "")
    end = str(_field(values, END_BLOCK).get("selected_time") or "")
    if not start:
        problems[START_BLOCK] = "Choose when it starts."
    if not end:
        problems[END_BLOCK] = "Choose when it ends."
    reason = str(_field(values, REASON_BLOCK).get("value") or "").strip()
    if not reason:
        problems[REASON_BLOCK] = "Say why, e.g. system maintenance."
    if problems:
        raise FormProblem(problems)
    return scope, day, start, end, reason


class FormProblem(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors.values()))
        self.errors = errors


async def plan(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
               deps: HandlerDeps, actors: ActorNames) -> None:
    try:
        scope, day, start, end, reason = read_form(view.get("state", {}).get("values", {}))
    except FormProblem as problem:
        await ack(response_action="errors", errors=problem.errors)
        return
    if deps.neutral is None:
        await ack(response_action="update", view=notice_modal("Not planned", "Neutral windows are not set up."))
        return
    try:
        await deps.neutral.plan(scope, day, start, end, reason, await actors.actor(body, client))
    except (NotAllowed, UnknownScope) as error:
        await ack(response_action="update", view=notice_modal("Not planned", user_message(error) or ""))
        return
    except NeutralInputError as error:  # the times: shown under the end time, the form stays filled in
        await ack(response_action="errors", errors={END_BLOCK: str(error)[:150]})
        return
    await ack()
    await deps.acted()
    await publish_home(deps, client, user_id_of(body))
