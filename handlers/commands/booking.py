"""``/book-meeting`` and ``/book-training``: open the booking form, or answer a command word
(``help``, ``queue``, ``list``, ``register ID``, ``optimise [days]``) ephemerally.

The modal is opened right after ``ack()`` (the trigger id expires in 3 s); the submission is read by
``handlers.views.booking``.
"""

from __future__ import annotations

import uuid
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.booking.deps import BookingHandlerDeps
from handlers.booking.form import modal, unit_named
from presentation.blocks.booking import (
    Block,
    bookings_message,
    help_message,
    note_message,
    queue_message,
    register_message,
)
from presentation.blocks.booking_notes import optimise_placeholder, register_view_message
from services.booking.attendance import register_csv
from services.booking.commands import read_command
from services.booking.forms import prefill, resolve_names

BOOK_MEETING, BOOK_TRAINING = "/book-meeting", "/book-training"


async def book_meeting(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond,
                       booking: BookingHandlerDeps) -> None:
    await _open_form(booking, ack, command, client, respond, training=False)


async def book_training(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond,
                        booking: BookingHandlerDeps) -> None:
    await _open_form(booking, ack, command, client, respond, training=True)


async def _open_form(deps: BookingHandlerDeps, ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient,
                     respond: AsyncRespond, training: bool) -> None:
    await ack()
    text = (command.get("text") or "").strip()
    user_id = str(command.get("user_id", ""))
    read = read_command(text)
    if read.did_you_mean:
        await respond(text=(f"I read `{read.rest}` as the title of a new booking, but it looks like a command. "
                            f"Did you mean `{BOOK_MEETING} {read.did_you_mean}`? To book a meeting with that "
                            f"title, quote it: `{BOOK_MEETING} \"{read.rest}\"`."), response_type="ephemeral")
        return
    if read.word is not None:
        await _answer_word(deps, respond, read.word, read.rest, user_id)
        return
    unit, text = await unit_named(deps, text)
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
    _, unknown = resolve_names([*form.teams, *form.target_teams], {t.id: t.name for t in roster.teams.values()},
                               "team", unit.name)
    if unknown:
        await respond(text=f"Nothing opened: {unknown}.", response_type="ephemeral")
        return
    metadata = {"unit": unit.id, "rid": f"slack-{uuid.uuid4().hex[:16]}", "user": user_id}
    view = await modal(deps, unit, roster, form, metadata, training)
    await client.views_open(trigger_id=command["trigger_id"], view=view)


async def _answer_word(deps: BookingHandlerDeps, respond: AsyncRespond, word: str, rest: str, user_id: str) -> None:
    message: str
    blocks: list[Block]
    if word == "help":
        message, blocks = help_message()
    elif word == "register":
        await _show_register(deps, respond, rest.strip())
        return
    elif word == "queue":
        items = list(await deps.service.work_items())
        scheduler = user_id in deps.schedulers
        if not scheduler:
            items = [i for i in items if i.request.requester == user_id]
        message, blocks = queue_message(items, can_retry=scheduler, note="" if scheduler else (
            "Only schedulers work this queue; you see your own requests and may cancel them."))
    elif word == "list":
        booked = await deps.changes.upcoming(user_id) if deps.changes else []
        message, blocks = bookings_message(booked)
    else:  # optimise
        days = int(rest) if rest.isdigit() else 7
        if user_id not in deps.schedulers:
            message, blocks = note_message("Only schedulers can optimise upcoming bookings.")
        elif deps.optimise is None:
            message, blocks = optimise_placeholder(days)
        else:
            message, blocks = await deps.optimise(user_id, days)
    await respond(text=message, blocks=blocks, response_type="ephemeral")


async def _show_register(deps: BookingHandlerDeps, respond: AsyncRespond, request_id: str) -> None:
    if deps.attendance is not None and request_id:
        view = await deps.attendance.view(request_id)
        if view is not None:
            message, blocks = register_view_message(view)
            await respond(text=message, blocks=blocks, response_type="ephemeral")
            return
    register = await deps.registers.get(request_id) if deps.registers and request_id else None
    if register is None:
        await respond(text=f"No attendance register for {request_id or '(no request id)'}.",
                      response_type="ephemeral")
        return
    message, blocks = register_message(register, register_csv(register))
    await respond(text=message, blocks=blocks, response_type="ephemeral")
