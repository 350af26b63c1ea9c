"""Booking buttons: the training target's Preview, the work queue (Retry, Retry relaxed, Cancel), a held
time (Book, Another time, Cancel), an upcoming booking (Cancel, Reschedule), the register (Attended,
No-show).

Thin: parse what Slack sent, call the booking use case, answer. Each button acks first; a repeated
click is answered with what had already been done, and by whom.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.booking.deps import BookingHandlerDeps
from handlers.booking.form import modal
from presentation.blocks.booking import (
    bookings_message,
    form_from_state,
    note_message,
    queue_message,
    read_change_value,
)
from presentation.blocks.booking_notes import change_note, hold_note, mark_note, register_view_message, work_note
from services.booking.holds import HoldDone

log = logging.getLogger(__name__)

Click = tuple[AsyncAck, dict[str, Any], dict[str, Any], AsyncRespond]


async def target_preview(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient,
                         booking: BookingHandlerDeps) -> None:
    """Preview: rebuild the training modal from what is typed, with who the target selects."""
    await ack()
    view = body.get("view") or {}
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        metadata = {}
    if not metadata.get("unit") or not view.get("id"):
        log.warning("target preview without a unit or view id; ignored")
        return
    roster = await booking.rosters.roster(str(metadata["unit"]))
    form = form_from_state(view.get("state", {}).get("values", {}))
    updated = await modal(booking, roster.mu, roster, form, {k: str(v) for k, v in metadata.items()}, True)
    try:
        await client.views_update(view_id=str(view["id"]), hash=view.get("hash"), view=updated)
    except SlackApiError as error:  # e.g. hash_conflict: the modal changed meanwhile; the next click retries
        log.warning("target preview not shown: views.update failed (%s)", error.response.get("error"))


async def retry(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                booking: BookingHandlerDeps) -> None:
    await _work(booking, (ack, body, action, respond), "retry")


async def retry_relaxed(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                        booking: BookingHandlerDeps) -> None:
    await _work(booking, (ack, body, action, respond), "relaxed")


async def cancel(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                 booking: BookingHandlerDeps) -> None:
    await _work(booking, (ack, body, action, respond), "cancel")


async def _work(deps: BookingHandlerDeps, click: Click, kind: str) -> None:
    ack, body, action, respond = click
    await ack()
    user_id = str(body.get("user", {}).get("id", ""))
    request_id = str(action.get("value", ""))
    if user_id not in deps.schedulers:
        # Fail closed: a non-scheduler may only cancel a request of their own.
        item = await deps.service.work_item(request_id) if kind == "cancel" else None
        if item is None or item.request.requester != user_id:
            why = "" if deps.schedulers else " (none are configured: `[booking] schedulers`), so only a " \
                                              "requester may cancel their own request"
            await respond(text=f"Only schedulers can work the booking queue{why}.", response_type="ephemeral",
                          replace_original=False)
            return
    if kind == "cancel":
        done = await deps.service.cancel(request_id, by=user_id)
    else:
        done = await deps.service.retry(request_id, relaxed=kind == "relaxed", by=user_id)
    note = work_note(request_id, done)
    items = list(await deps.service.work_items())
    scheduler = user_id in deps.schedulers
    if not scheduler:
        items = [i for i in items if i.request.requester == user_id]
    message, blocks = queue_message(items, note=note, can_retry=scheduler)
    await respond(text=message, blocks=blocks, replace_original=True)


async def hold_book(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                    booking: BookingHandlerDeps) -> None:
    await _on_hold(booking, (ack, body, action, respond), "book")


async def hold_another(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                       booking: BookingHandlerDeps) -> None:
    await _on_hold(booking, (ack, body, action, respond), "another")


async def hold_cancel(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                      booking: BookingHandlerDeps) -> None:
    await _on_hold(booking, (ack, body, action, respond), "cancel")


async def _on_hold(deps: BookingHandlerDeps, click: Click, kind: str) -> None:
    ack, body, action, respond = click
    await ack()
    user_id = str(body.get("user", {}).get("id", ""))
    request_id = str(action.get("value", ""))
    if deps.holds is None:
        await respond(text="Holds are not enabled here.", response_type="ephemeral", replace_original=False)
        return
    hold = await deps.holds.hold(request_id)
    if hold is not None and not deps.holds.may_act(hold.requester, user_id):
        await respond(text="Only the requester (or a scheduler) can decide about this held time.",
                      response_type="ephemeral", replace_original=False)
        return
    done: HoldDone | None
    if kind == "book":
        done = await deps.holds.book(request_id, by=user_id)
    elif kind == "another":
        done = await deps.holds.another_time(request_id, by=user_id)
    else:
        done = await deps.holds.cancel(request_id, by=user_id)
    message, blocks = note_message(hold_note(request_id, done, hold), block_id="hold_note")
    await respond(text=message, blocks=blocks, replace_original=True)


async def change_cancel(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                        booking: BookingHandlerDeps) -> None:
    await _on_change(booking, (ack, body, action, respond), "cancel")


async def change_reschedule(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                            booking: BookingHandlerDeps) -> None:
    await _on_change(booking, (ack, body, action, respond), "reschedule")


async def _on_change(deps: BookingHandlerDeps, click: Click, kind: str) -> None:
    ack, body, action, respond = click
    await ack()
    user_id = str(body.get("user", {}).get("id", ""))
    if deps.changes is None:
        await respond(text="Changing bookings is not enabled here.", response_type="ephemeral",
                      replace_original=False)
        return
    request_id, revision = read_change_value(str(action.get("value", "")))
    if kind == "cancel":
        done = await deps.changes.cancel(request_id, revision, by=user_id)
    else:
        done = await deps.changes.reschedule(request_id, revision, by=user_id)
    if done.refused and done.outcome is None and not done.slots:
        await respond(text=done.refused, response_type="ephemeral", replace_original=False)
        return
    message, blocks = bookings_message(await deps.changes.upcoming(user_id), note=change_note(request_id, done))
    await respond(text=message, blocks=blocks, replace_original=True)


async def mark_attended(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                        booking: BookingHandlerDeps) -> None:
    await _on_mark(booking, (ack, body, action, respond), attended=True)


async def mark_no_show(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                       booking: BookingHandlerDeps) -> None:
    await _on_mark(booking, (ack, body, action, respond), attended=False)


async def _on_mark(deps: BookingHandlerDeps, click: Click, *, attended: bool) -> None:
    ack, body, action, respond = click
    await ack()
    user_id = str(body.get("user", {}).get("id", ""))
    request_id, _, agent_id = str(action.get("value", "")).rpartition("|")
    if deps.attendance is None:
        await respond(text="Attendance marking is not enabled here.", response_type="ephemeral",
                      replace_original=False)
        return
    marked = await deps.attendance.mark(request_id, agent_id, attended=attended, by=user_id)
    if marked.refused or marked.mark is None:
        await respond(text=marked.refused or "Nothing to mark.", response_type="ephemeral",
                      replace_original=False)
        return
    view = await deps.attendance.view(request_id)
    if view is None:
        return
    message, blocks = register_view_message(view, note=mark_note(marked, view))
    await respond(text=message, blocks=blocks, replace_original=True)
