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
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from presentation.blocks.booking import (
    ACTION_ATTENDED,
    ACTION_CANCEL,
    ACTION_CHANGE_CANCEL,
    ACTION_CHANGE_RESCHEDULE,
    ACTION_HOLD_ANOTHER,
    ACTION_HOLD_BOOK,
    ACTION_HOLD_CANCEL,
    ACTION_NO_SHOW,
    ACTION_RETRY,
    ACTION_RETRY_RELAXED,
    MODAL_CALLBACK,
    Block,
    Choices,
    booking_modal,
    bookings_message,
    form_from_state,
    help_message,
    note_message,
    queue_message,
    read_change_value,
    register_message,
)
from presentation.blocks.booking_notes import change_note, hold_note, mark_note, optimise_placeholder
from presentation.blocks.booking_target import ACTION_TARGET_PREVIEW, target_blocks
from presentation.blocks.format import slack_time
from services.booking.attendance import Marked, RegisterView, register_csv
from services.booking.changes import ChangeDone
from services.booking.commands import read_command
from services.booking.config import BookingConfig
from services.booking.forms import FIELDS, FormValues, parse_form, prefill, resolve_names
from services.booking.holds import HoldDone
from services.booking.model import Booked, BookingRequest, Hold, Register, WorkAction, WorkItem, WorkOutcome
from services.booking.service import WorkDone
from services.booking.targeting import BELOW, DAYS, TEAMS, Selection, Target, parse_target
from services.domain.model import ManagementUnit, Roster
from services.ports import Clock

log = logging.getLogger(__name__)
BOOK_MEETING, BOOK_TRAINING = "/book-meeting", "/book-training"


class BookingUseCases(Protocol):
    async def submit(self, request: BookingRequest) -> bool: ...

    async def work_items(self) -> Sequence[WorkItem]: ...

    async def retry(self, request_id: str, *, relaxed: bool = False, by: str | None = None) -> WorkDone | None: ...

    async def cancel(self, request_id: str, *, by: str | None = None) -> WorkDone | None: ...

    async def work_item(self, request_id: str) -> WorkItem | None: ...


class HoldUseCases(Protocol):
    def may_act(self, hold_requester: str, user: str) -> bool: ...

    async def hold(self, request_id: str) -> Hold | None: ...

    async def book(self, request_id: str, *, by: str) -> HoldDone | None: ...

    async def another_time(self, request_id: str, *, by: str) -> HoldDone | None: ...

    async def cancel(self, request_id: str, *, by: str) -> HoldDone | None: ...


class ChangeUseCases(Protocol):
    async def upcoming(self, requester: str) -> list[Booked]: ...

    async def cancel(self, request_id: str, revision: int, *, by: str) -> ChangeDone: ...

    async def reschedule(self, request_id: str, revision: int, *, by: str) -> ChangeDone: ...


class AttendanceUseCases(Protocol):
    async def view(self, request_id: str) -> RegisterView | None: ...

    async def mark(self, request_id: str, agent_id: str, *, attended: bool, by: str) -> Marked: ...


#: ``/book-meeting optimise [days]``: (Slack user id, days) -> the message to answer with.
Optimise = Callable[[str, int], Awaitable[tuple[str, list[Block]]]]


class TargetingUseCase(Protocol):
    async def select(self, roster: Roster, target: Target) -> Selection: ...


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
    #: Slack user ids allowed to work the manual queue. Empty: it fails closed (only a requester may
    #: cancel their own request; nobody may retry).
    schedulers: frozenset[str] = field(default_factory=frozenset)
    trainers: dict[str, str] = field(default_factory=dict)  # person id -> name
    holds: HoldUseCases | None = None
    changes: ChangeUseCases | None = None
    optimise: Optimise | None = None  # filled by the batch planner; without it the command says what it will do
    attendance: AttendanceUseCases | None = None  # Attended / No-show from the register
    targeting: TargetingUseCase | None = None  # /book-training targets from the adherence history


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


async def _target(deps: BookingHandlerDeps, roster: Roster,
                  form: FormValues) -> tuple[Selection | None, dict[str, str]]:
    """Who the form's training target selects, or its errors by field; (None, {}) without a target."""
    if deps.targeting is None or not form.has_target:
        return None, {}
    if form.teams or form.people:
        return None, {TEAMS: "a target replaces the list: clear Teams and People above, or the target"}
    target, errors = parse_target(form.target_teams, form.get(BELOW), form.get(DAYS),
                                  known_teams={t.id: t.name for t in roster.teams.values()}, unit_name=roster.mu.name)
    if target is None:
        return None, errors
    selection = await deps.targeting.select(roster, target)
    if selection.problem:
        return selection, {TEAMS if not selection.days_with_data else BELOW: selection.problem}
    return selection, {}


async def _modal(deps: BookingHandlerDeps, unit: ManagementUnit, roster: Roster, form: FormValues,
                 metadata: dict[str, str], training: bool) -> dict[str, Any]:
    config = deps.config
    default_type = config.training_type if training and config.training_type in config.types \
        else config.default_type
    today = deps.clock.now().date()
    span = config.types[form.get("type") or default_type].window if (form.get("type") or default_type) \
        in config.types else timedelta(days=14)
    choices = _choices(deps, unit, roster, training)
    extra: list[Block] = []
    if training and deps.targeting is not None:
        selection, errors = await _target(deps, roster, form)
        extra = target_blocks(choices.teams, form, selection=selection,
                              problem="" if selection is not None else " ".join(errors.values()))
    return booking_modal(choices=choices, form=form, metadata=metadata, training=training,
                         default_type=default_type, first_day=today + timedelta(days=1), last_day=today + span,
                         target_blocks=extra)


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


def _register_view(view: RegisterView, note: str = "") -> tuple[str, list[Block]]:
    return register_message(view.register, register_csv(view.register, view.marks), marks=view.marks,
                            now=view.now, time_zone=view.time_zone, note=note)


def register(app: AsyncApp, deps: BookingHandlerDeps) -> None:
    async def open_form(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond,
                        training: bool) -> None:
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
            await answer_word(respond, read.word, read.rest, user_id)
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
        _, unknown = resolve_names([*form.teams, *form.target_teams], {t.id: t.name for t in roster.teams.values()},
                                   "team", unit.name)
        if unknown:
            await respond(text=f"Nothing opened: {unknown}.", response_type="ephemeral")
            return
        metadata = {"unit": unit.id, "rid": f"slack-{uuid.uuid4().hex[:16]}", "user": user_id}
        view = await _modal(deps, unit, roster, form, metadata, training)
        await client.views_open(trigger_id=command["trigger_id"], view=view)

    @app.action(ACTION_TARGET_PREVIEW)
    async def target_preview(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
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
        roster = await deps.rosters.roster(str(metadata["unit"]))
        form = form_from_state(view.get("state", {}).get("values", {}))
        updated = await _modal(deps, roster.mu, roster, form, {k: str(v) for k, v in metadata.items()}, True)
        try:
            await client.views_update(view_id=str(view["id"]), hash=view.get("hash"), view=updated)
        except SlackApiError as error:  # e.g. hash_conflict: the modal changed meanwhile; the next click retries
            log.warning("target preview not shown: views.update failed (%s)", error.response.get("error"))

    async def answer_word(respond: AsyncRespond, word: str, rest: str, user_id: str) -> None:
        message: str
        blocks: list[Block]
        if word == "help":
            message, blocks = help_message()
        elif word == "register":
            await _show_register(respond, rest.strip())
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

    async def _show_register(respond: AsyncRespond, request_id: str) -> None:
        if deps.attendance is not None and request_id:
            view = await deps.attendance.view(request_id)
            if view is not None:
                message, blocks = _register_view(view)
                await respond(text=message, blocks=blocks, response_type="ephemeral")
                return
        register = await deps.registers.get(request_id) if deps.registers and request_id else None
        if register is None:
            await respond(text=f"No attendance register for {request_id or '(no request id)'}.",
                          response_type="ephemeral")
            return
        message, blocks = register_message(register, register_csv(register))
        await respond(text=message, blocks=blocks, response_type="ephemeral")

    async def on_mark(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                      attended: bool) -> None:
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
        message, blocks = _register_view(view, note=mark_note(marked, view))
        await respond(text=message, blocks=blocks, replace_original=True)

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
        roster = await deps.rosters.roster(str(unit_id))
        selection, target_errors = await _target(deps, roster, form)
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

    async def work(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                   kind: str) -> None:
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
        note = _work_note(request_id, done)
        items = list(await deps.service.work_items())
        scheduler = user_id in deps.schedulers
        if not scheduler:
            items = [i for i in items if i.request.requester == user_id]
        message, blocks = queue_message(items, note=note, can_retry=scheduler)
        await respond(text=message, blocks=blocks, replace_original=True)

    async def on_hold(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                      kind: str) -> None:
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

    async def on_change(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                        kind: str) -> None:
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

    @app.action(ACTION_HOLD_BOOK)
    async def hold_book(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await on_hold(ack, body, action, respond, "book")

    @app.action(ACTION_HOLD_ANOTHER)
    async def hold_another(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                           respond: AsyncRespond) -> None:
        await on_hold(ack, body, action, respond, "another")

    @app.action(ACTION_HOLD_CANCEL)
    async def hold_cancel(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                          respond: AsyncRespond) -> None:
        await on_hold(ack, body, action, respond, "cancel")

    @app.action(ACTION_CHANGE_CANCEL)
    async def change_cancel(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                            respond: AsyncRespond) -> None:
        await on_change(ack, body, action, respond, "cancel")

    @app.action(ACTION_CHANGE_RESCHEDULE)
    async def change_reschedule(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                                respond: AsyncRespond) -> None:
        await on_change(ack, body, action, respond, "reschedule")

    @app.action(ACTION_ATTENDED)
    async def mark_attended(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                            respond: AsyncRespond) -> None:
        await on_mark(ack, body, action, respond, True)

    @app.action(ACTION_NO_SHOW)
    async def mark_no_show(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                           respond: AsyncRespond) -> None:
        await on_mark(ack, body, action, respond, False)
