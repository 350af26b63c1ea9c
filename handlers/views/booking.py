"""The booking modal's submission: invalid input is answered with ``response_action=errors`` and
nothing is queued; a valid request is queued after the modal closes."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck

from handlers.booking.deps import BookingHandlerDeps
from handlers.booking.form import target_of
from presentation.blocks.booking import form_from_state
from services.booking.forms import FIELDS, parse_form

log = logging.getLogger(__name__)


async def submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], booking: BookingHandlerDeps) -> None:
    deps = booking
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        metadata = {}
    user_id = str(body.get("user", {}).get("id", ""))
    unit_id, request_id = metadata.get("unit"), metadata.get("rid")
    if not unit_id or not request_id:
        await ack(response_action="errors", errors={"type": "This form has expired; open it again."})
        return
    form = form_from_state(view.get("state", {}).get("values", {}))
    roster = await deps.rosters.roster(str(unit_id))
    selection, target_errors = await target_of(deps, roster, form)
    if target_errors:  # nobody selected, no history, a bad threshold: said next to the target, nothing queued
        await ack(response_action="errors", errors={k: v[:150] for k, v in target_errors.items()})
        return
    if selection is not None:
        form.people = [c.agent_id for c in selection.selected]
    request, errors = parse_form(form, config=deps.config, request_id=str(request_id), requester=user_id,
                                 mu_id=str(unit_id), now=deps.clock.now(),
                                 known_teams={t.id: t.name for t in roster.teams.values()},
                                 known_people={a.id: a.name for a in roster.agents.values()},
                                 unit_name=roster.mu.name)
    if request is None:
        shown = {name: message[:150] for name, message in errors.items() if name in FIELDS}
        await ack(response_action="errors", errors=shown or {"type": "Please check the form."})
        return
    await ack()
    if selection is not None:
        request = request.model_copy(update={"target": selection.reason()})
    queued = await deps.service.submit(request)
    log.info("booking request %s from %s %s", request.id, user_id, "queued" if queued else "was a duplicate")
