"""Slack listeners for booking: /book-meeting, /book-training, the modal, and the work-queue buttons.

Thin: parse what Slack sent, call the booking use cases, answer. The modal is opened right after
``ack()`` (the trigger id expires in 3 s); invalid input is answered with ``response_action=errors``
and nothing is queued; a valid request is queued after the modal closes.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.blocks.format import slack_time
from handlers.booking.blocks import (
    ACTION_CANCEL,
    ACTION_RETRY,
    ACTION_RETRY_RELAXED,
    MODAL_CALLBACK,
    Choices,
    booking_modal,
    form_from_state,
    help_message,
    queue_message,
    register_message,
)
from services.booking.attendance import register_csv
from services.booking.config import BookingConfig
from services.booking.forms import FIELDS, parse_form, prefill
from services.booking.model import BookingRequest, Register, WorkAction, WorkItem, WorkOutcome
from services.booking.service import WorkDone
from services.domain.model import ManagementUnit, Roster
from services.ports import Clock

log = logging.getLogger(__name__)
BOOK_MEETING, BOOK_TRAINING = "/book-meeting", "/book-training"


class BookingUseCases(Protocol):
    async def submit(self, request: BookingRequest) -> bool: ...

    async def work_items(self) -> Sequence[WorkItem]: ...

    async def retry(self, request_id: str, *, relaxed: bool = False, by: str | None = None) -> WorkDone | None: ...

    async def cancel(self, request_id: str, *, by: str | None = None) -> WorkDone | None: ...


class Rosters(Protocol):
    async def roster(self, mu_id: str) -> Roster: ...


class Registers(Protocol):
    async def get(self, request_id: str) -> Register | None: ...


@dataclass(frozen=True)
class BookingHandlerDeps:
    service: BookingUseCases
    rosters: Rosters
    units: Callable[[], Awaitable[Sequence[ManagementUnit]]]
    config: BookingConfig
    clock: Clock
    registers: Registers | None = None
    #: Slack user ids allowed to work the manual queue; empty means anyone who can see it.
    schedulers: frozenset[str] = field(default_factory=frozenset)
    trainers: dict[str, str] = field(default_factory=dict)  # person id -> name


async def _unit(deps: BookingHandlerDeps, text: str) -> tuple[ManagementUnit | None, str]:
    """The unit named by ``unit:ID`` in the text (removed from it), else the first one."""
    units = list(await deps.units())
    rest = []
    wanted = None
    for word in text.split():
        if word.lower().startswith("unit:"):
            wanted = word.split(":", 1)[1]
        else:
            rest.append(word)
    chosen = next((u for u in units if u.id == wanted or u.name.lower() == (wanted or "").lower()), None)
    if wanted is None and units:
        chosen = units[0]
    return chosen, " ".join(rest)


def _choices(deps: BookingHandlerDeps, unit: ManagementUnit, roster: Roster, training: bool) -> Choices:
    config = deps.config
    facilitators: dict[str, str] = {}
    if training:
        facilitators.update(deps.trainers)
    for team in roster.teams.values():
        for person in team.supervisor_ids:
            facilitators.setdefault(person, roster.people[person].name if person in roster.people else person)
    return Choices(
        unit=(unit.id, unit.name),
        types=[(type_id, meeting.name) for type_id, meeting in config.types.items()],
        teams=[(t.id, t.name) for t in roster.teams.values()],
        people=[(a.id, a.name) for a in sorted(roster.agents.values(), key=lambda a: a.name)],
        facilitators=sorted(facilitators.items(), key=lambda kv: kv[1]),
        locations=[(loc_id, loc.name) for loc_id, loc in config.locations.items()],
    )


_HOW = {WorkAction.RETRIED: "", WorkAction.RETRIED_RELAXED: " without the service limits"}


def _work_note(request_id: str, done: WorkDone | None) -> str:
    """The line above the refreshed queue: what this click did, or what had already been done and by whom."""
    if done is None:
        return f"{request_id} is no longer in the queue."
    outcome: WorkOutcome = done.outcome
    if outcome.action is WorkAction.CANCELLED:
        did, already = f"cancelled {request_id}", f"{request_id} was already cancelled"
    else:
        as_new = f" as {outcome.new_request_id}" if outcome.new_request_id else ""
        did = f"queued {request_id} again{_HOW[outcome.action]}{as_new}"
        already = f"{request_id} was already queued again{_HOW[outcome.action]}{as_new}"
    if done.now:
        return f"<@{outcome.by}> {did}."
    who = f" by <@{outcome.by}>" if outcome.by else ""
    when = f" at {slack_time(outcome.at)}" if outcome.at else ""
    return f"{already}{who}{when}. Nothing changed."


def register(app: AsyncApp, deps: BookingHandlerDeps) -> None:
    async def open_form(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond,
                        training: bool) -> None:
        await ack()
        text = (command.get("text") or "").strip()
        user_id = str(command.get("user_id", ""))
        head, _, rest = text.partition(" ")
        if not training and head.lower() in ("queue", "review"):
            message, blocks = queue_message(await deps.service.work_items())
            await respond(text=message, blocks=blocks, response_type="ephemeral")
            return
        if head.lower() in ("help", "?"):
            message, blocks = help_message()
            await respond(text=message, blocks=blocks, response_type="ephemeral")
            return
        if head.lower() == "register":
            await _show_register(respond, rest.strip())
            return
        unit, text = await _unit(deps, text)
        if unit is None:
            await respond(text="There is no management unit to book in (check unit:NAME).", response_type="ephemeral")
            return
        roster = await deps.rosters.roster(unit.id)
        config = deps.config
        form = prefill(text, teams={**{t.id.lower(): t.id for t in roster.teams.values()},
                                    **{t.name.lower(): t.id for t in roster.teams.values()}},
                       people={**{a.id.lower(): a.id for a in roster.agents.values()},
                               **{a.name.lower().replace(" ", "."): a.id for a in roster.agents.values()}},
                       types={**{k.lower(): k for k in config.types}, **{v.name.lower(): k
                                                                        for k, v in config.types.items()}})
        default_type = config.training_type if training and config.training_type in config.types \
            else config.default_type
        today = deps.clock.now().date()
        metadata = {"unit": unit.id, "rid": f"slack-{uuid.uuid4().hex[:16]}", "user": user_id}
        span = config.types[form.get("type") or default_type].window if (form.get("type") or default_type) \
            in config.types else timedelta(days=14)
        view = booking_modal(choices=_choices(deps, unit, roster, training), form=form, metadata=metadata,
                             training=training, default_type=default_type, first_day=today + timedelta(days=1),
                             last_day=today + span)
        await client.views_open(trigger_id=command["trigger_id"], view=view)

    async def _show_register(respond: AsyncRespond, request_id: str) -> None:
        register = await deps.registers.get(request_id) if deps.registers and request_id else None
        if register is None:
            await respond(text=f"No attendance register for {request_id or '(no request id)'}.",
                          response_type="ephemeral")
            return
        message, blocks = register_message(register, register_csv(register))
        await respond(text=message, blocks=blocks, response_type="ephemeral")

    @app.command(BOOK_MEETING)
    async def book_meeting(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient,
                           respond: AsyncRespond) -> None:
        await open_form(ack, command, client, respond, training=False)

    @app.command(BOOK_TRAINING)
    async def book_training(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient,
                            respond: AsyncRespond) -> None:
        await open_form(ack, command, client, respond, training=True)

    @app.view(MODAL_CALLBACK)
    async def submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
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
        request, errors = parse_form(form, config=deps.config, request_id=str(request_id), requester=user_id,
                                     mu_id=str(unit_id), now=deps.clock.now())
        if request is None:
            shown = {name: message[:150] for name, message in errors.items() if name in FIELDS}
            await ack(response_action="errors", errors=shown or {"type": "Please check the form."})
            return
        await ack()
        queued = await deps.service.submit(request)
        log.info("booking request %s from %s %s", request.id, user_id, "queued" if queued else "was a duplicate")

    async def work(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                   kind: str) -> None:
        await ack()
        user_id = str(body.get("user", {}).get("id", ""))
        if deps.schedulers and user_id not in deps.schedulers:
            await respond(text="Only schedulers can work the booking queue.", response_type="ephemeral",
                          replace_original=False)
            return
        request_id = str(action.get("value", ""))
        if kind == "cancel":
            done = await deps.service.cancel(request_id, by=user_id)
        else:
            done = await deps.service.retry(request_id, relaxed=kind == "relaxed", by=user_id)
        note = _work_note(request_id, done)
        message, blocks = queue_message(await deps.service.work_items(), note=note)
        await respond(text=message, blocks=blocks, replace_original=True)

    @app.action(ACTION_RETRY)
    async def retry(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await work(ack, body, action, respond, "retry")

    @app.action(ACTION_RETRY_RELAXED)
    async def retry_relaxed(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                            respond: AsyncRespond) -> None:
        await work(ack, body, action, respond, "relaxed")

    @app.action(ACTION_CANCEL)
    async def cancel(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await work(ack, body, action, respond, "cancel")
