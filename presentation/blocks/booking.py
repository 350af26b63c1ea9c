"""Pure Block Kit builders for booking: the request modal, the manual work queue, progress notices.

Every builder returns plain dicts that pass ``slack_sdk.models`` validation (tests check it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from services.booking.commands import WORDS
from services.booking.display import local_span, slot_text
from services.booking.forms import FIELDS, FormValues
from services.booking.model import AttendanceMark, Booked, BookingRequest, Progress, Register, Status, WorkItem
from services.domain.slots import REASON_TEXT

MODAL_CALLBACK = "booking_submit"
ACTION_RETRY = "booking_retry"
ACTION_RETRY_RELAXED = "booking_retry_relaxed"
ACTION_CANCEL = "booking_cancel"
ACTION_HOLD_BOOK = "booking_hold_book"
ACTION_HOLD_ANOTHER = "booking_hold_another"
ACTION_HOLD_CANCEL = "booking_hold_cancel"
ACTION_CHANGE_CANCEL = "booking_change_cancel"
ACTION_CHANGE_RESCHEDULE = "booking_change_reschedule"
ACTION_ATTENDED = "booking_attended"
ACTION_NO_SHOW = "booking_no_show"
VALUE = "value"  # action_id of every input element; block_id is the form field name
MAX_OPTIONS = 100
REPEAT_CHOICES = (("none", "Does not repeat"), ("daily", "Daily"), ("weekly", "Weekly"), ("monthly", "Monthly"))

Block = dict[str, Any]


@dataclass(frozen=True)
class Choices:
    """What the modal offers, as (id, label) pairs."""

    unit: tuple[str, str]
    types: Sequence[tuple[str, str]]
    teams: Sequence[tuple[str, str]]
    people: Sequence[tuple[str, str]]
    facilitators: Sequence[tuple[str, str]]
    locations: Sequence[tuple[str, str]] = field(default_factory=tuple)


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:limit] or " ", "emoji": False}


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": _plain(label), "value": value[:150]}


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False,
           hint: str | None = None) -> Block:
    block: Block = {"type": "input", "block_id": block_id, "label": _plain(label, 2000), "element": element,
                    "optional": optional}
    if hint:
        block["hint"] = _plain(hint, 2000)
    return block


def _text_input(initial: str = "", placeholder: str = "", max_length: int | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": VALUE}
    if initial:
        element["initial_value"] = initial
    if placeholder:
        element["placeholder"] = _plain(placeholder, 150)
    if max_length:
        element["max_length"] = max_length
    return element


def _select(options: Sequence[tuple[str, str]], initial: str | None, placeholder: str) -> dict[str, Any]:
    listed = [_option(v, label) for v, label in options[:MAX_OPTIONS]]
    element: dict[str, Any] = {"type": "static_select", "action_id": VALUE, "options": listed,
                               "placeholder": _plain(placeholder, 150)}
    chosen = next((o for o in listed if o["value"] == initial), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return element


def _multi(options: Sequence[tuple[str, str]], initial: Sequence[str], placeholder: str) -> dict[str, Any]:
    listed = [_option(v, label) for v, label in options[:MAX_OPTIONS]]
    element: dict[str, Any] = {"type": "multi_static_select", "action_id": VALUE, "options": listed,
                               "placeholder": _plain(placeholder, 150)}
    chosen = [o for o in listed if o["value"] in set(initial)]
    if chosen:
        element["initial_options"] = chosen
    return element


def _date(initial: str, fallback: date) -> dict[str, Any]:
    try:
        value = date.fromisoformat(initial).isoformat() if initial else fallback.isoformat()
    except ValueError:
        value = fallback.isoformat()
    return {"type": "datepicker", "action_id": VALUE, "initial_date": value}


def _time(initial: str) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "timepicker", "action_id": VALUE}
    if len(initial) == 5 and initial[2] == ":":
        element["initial_time"] = initial
    return element


def understood(form: FormValues, choices: Choices) -> str:
    """What the command's text was read as, so a word taken as the type (or a title) is visible."""
    names = {**dict(choices.types), **dict(choices.teams), **dict(choices.people)}
    parts = []
    for field_name, label in (("type", "type"), ("title", "title"), ("duration", "duration"),
                              ("repeat", "repeat"), ("date_from", "from"), ("date_to", "to"),
                              ("earliest", "earliest"), ("latest", "latest end")):
        if form.get(field_name):
            parts.append(f"{label} *{_escape(names.get(form.get(field_name), form.get(field_name)))}*")
    if form.teams:
        parts.append("teams *" + _escape(", ".join(names.get(t, t) for t in form.teams)) + "*")
    if form.people:
        parts.append("people *" + _escape(", ".join(names.get(p, p) for p in form.people)) + "*")
    return ("From your text: " + ", ".join(parts) + ".") if parts else ""


def booking_modal(*, choices: Choices, form: FormValues, metadata: dict[str, str], training: bool,
                  default_type: str, first_day: date, last_day: date,
                  target_blocks: Sequence[Block] = ()) -> dict[str, Any]:
    """The ``/book-meeting`` (or ``/book-training``) modal, prefilled from ``form``; ``target_blocks``
    (a training target instead of a list, ``presentation.blocks.booking_target``) follow the people."""
    get = form.get
    read = understood(form, choices)
    blocks: list[Block] = [
        {"type": "context", "block_id": "unit",
         "elements": [{"type": "mrkdwn", "text": (f"Management unit: *{_escape(choices.unit[1][:200])}*. I'll find "
                                                  "the time that hurts service least and tell you where it landed."
                                                  + (f"\n{read}" if read else ""))[:2000]}]},
        _input("type", "Type", _select(choices.types, get("type") or default_type, "Choose a type")),
        _input("title", "Title", _text_input(get("title"), "e.g. Weekly team sync", 150), optional=True),
    ]
    # Selects need at least one option: a list with nothing to offer is left out.
    if choices.teams:
        blocks.append(_input("teams", "Teams", _multi(choices.teams, form.teams, "Whole teams"), optional=True,
                             hint="Choose teams, people, or both."))
    if choices.people:
        blocks.append(_input("people", "People", _multi(choices.people, form.people, "Individual agents"),
                             optional=True))
    blocks += target_blocks
    if choices.facilitators:
        blocks.append(_input("facilitator", "Trainer" if training else "Facilitator",
                             _select(choices.facilitators, get("facilitator") or None,
                                     "Default: the team's supervisor"), optional=True))
    if choices.locations:
        blocks.append(_input("location", "Location", _select(choices.locations, get("location") or None,
                                                             "Any location"), optional=True))
    blocks += [
        _input("date_from", "From", _date(get("date_from"), first_day)),
        _input("date_to", "To", _date(get("date_to"), last_day)),
        _input("earliest", "Earliest start", _time(get("earliest")), optional=True),
        _input("latest", "Latest end", _time(get("latest")), optional=True),
        _input("duration", "Duration", _text_input(get("duration"), "e.g. 45m or 1h30m (default: the type's)", 10),
               optional=True),
        _input("repeat", "Repeat", _select(REPEAT_CHOICES, get("repeat") or "none", "Repeat")),
        _input("every", "Every (days / weeks / months)", _text_input(get("every"), "1", 3), optional=True),
        _input("min_gap", "Minimum days between occurrences", _text_input(get("min_gap"), "0", 3), optional=True),
        _input("count", "Number of occurrences", _text_input(get("count"), "until the end date", 3), optional=True),
    ]
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK,
        "private_metadata": json.dumps(metadata, separators=(",", ":"))[:3000],
        "title": _plain("Book training" if training else "Book a meeting", 24),
        "submit": _plain("Queue it", 24),
        "close": _plain("Cancel", 24),
        "blocks": blocks,
    }


def form_from_state(values: dict[str, Any]) -> FormValues:
    """Read a view_submission's ``state.values`` back into form values (every field optional)."""
    form = FormValues()
    for name in FIELDS:
        element = values.get(name, {}).get(VALUE)
        if not isinstance(element, dict):
            continue
        kind = element.get("type")
        if kind == "multi_static_select":
            chosen = [str(o.get("value", "")) for o in element.get("selected_options") or []]
            if name == "teams":
                form.teams = chosen
            elif name == "people":
                form.people = chosen
            elif name == "target_teams":
                form.target_teams = chosen
        elif kind == "static_select":
            option = element.get("selected_option") or {}
            form.values[name] = str(option.get("value", ""))
        elif kind == "datepicker":
            form.values[name] = str(element.get("selected_date") or "")
        elif kind == "timepicker":
            form.values[name] = str(element.get("selected_time") or "")
        else:
            form.values[name] = str(element.get("value") or "")
    return form


def _when(start: datetime, end: datetime) -> str:
    return f"{start:%a %d %b %H:%M}-{end:%H:%M}"


def queue_message(items: Sequence[WorkItem], *, note: str = "", can_retry: bool = True) -> tuple[str, list[Block]]:
    """The manual work queue, one section per item with Retry / Retry relaxed / Cancel.

    ``can_retry`` False (not a scheduler): Cancel only, for the caller's own requests.
    """
    text = f"{len(items)} booking request(s) need review" if items else "The manual work queue is empty."
    blocks: list[Block] = [{"type": "header", "block_id": "queue_head", "text": _plain("Booking work queue", 150)}]
    if note:
        blocks.append({"type": "context", "block_id": "queue_note",
                       "elements": [{"type": "mrkdwn", "text": note[:2000]}]})
    if not items:
        blocks.append({"type": "section", "block_id": "queue_empty",
                       "text": {"type": "mrkdwn", "text": "Nothing waits for a scheduler. :tada:"}})
        return text, blocks
    shown = items[:15]  # 3 blocks each: stays under the 50-block message limit
    for i, item in enumerate(shown):
        request = item.request
        who = f"<@{request.requester}>" if request.requester[:1] in ("U", "W") else request.requester
        blocks.append({"type": "section", "block_id": f"item.{i}", "text": {"type": "mrkdwn", "text": (
            f"*{_escape(request.title)}* ({request.type_id}) for {who}\n"
            f"{request.date_from:%d %b}-{request.date_to:%d %b}, attempt {item.attempts}\n"
            f"*{REASON_TEXT[item.reason].capitalize()}*: {_escape(item.detail)}")[:3000]}})
        retry: list[Block] = [
            {"type": "button", "action_id": ACTION_RETRY, "value": request.id[:2000], "text": _plain("Retry"),
             "style": "primary"},
            {"type": "button", "action_id": ACTION_RETRY_RELAXED, "value": request.id[:2000],
             "text": _plain("Retry relaxed")}] if can_retry else []
        blocks.append({"type": "actions", "block_id": f"item.{i}.actions", "elements": [*retry,
            {"type": "button", "action_id": ACTION_CANCEL, "value": request.id[:2000], "text": _plain("Cancel"),
             "style": "danger", "confirm": {"title": _plain("Cancel this request?", 100),
                                            "text": _plain("The requester is told it was cancelled.", 300),
                                            "confirm": _plain("Cancel it", 30), "deny": _plain("Keep it", 30)}}]})
        blocks.append({"type": "divider", "block_id": f"item.{i}.end"})
    if len(items) > len(shown):
        blocks.append({"type": "context", "block_id": "queue_more",
                       "elements": [{"type": "mrkdwn", "text": f"...and {len(items) - len(shown)} more."}]})
    return text, blocks


_STATUS_EMOJI = {Status.QUEUED: ":inbox_tray:", Status.SEARCHING: ":mag:", Status.BOOKED: ":white_check_mark:",
                 Status.NEEDS_REVIEW: ":warning:", Status.CANCELLED: ":x:", Status.HELD: ":hourglass:",
                 Status.RELEASED: ":leftwards_arrow_with_hook:"}


def progress_message(request: BookingRequest, progress: Progress) -> tuple[str, list[Block]]:
    """A notice to the requester: queued, searching, booked (where and why) or needs review."""
    emoji = _STATUS_EMOJI.get(progress.status, "")
    blocks: list[Block] = [{"type": "section", "block_id": "progress",
                            "text": {"type": "mrkdwn", "text": f"{emoji} {_escape(progress.text)}"[:3000]}}]
    for i, slot in enumerate(progress.slots[:20]):
        why = progress.why[i] if i < len(progress.why) else ""
        where = f" in {_escape(slot.room_name or slot.room_id)}" if slot.room_id else ""
        blocks.append({"type": "context", "block_id": f"slot.{i}", "elements": [
            {"type": "mrkdwn", "text": f"*{local_span(slot.start, slot.end, progress.time_zone)}*{where}: "
                                       f"{_escape(why)}"[:3000]}]})
    if progress.status is Status.HELD:
        until = f" until <!date^{int(progress.hold_until.timestamp())}^{{time}}|{progress.hold_until:%H:%M} UTC>" \
            if progress.hold_until else ""
        blocks.append({"type": "context", "block_id": "hold_until", "elements": [
            {"type": "mrkdwn", "text": f"Nothing is booked yet; the time is kept for you{until}."}]})
        blocks.append(hold_actions(request.id))
    return progress.text[:3000], blocks


def hold_actions(request_id: str) -> Block:
    value = request_id[:2000]
    return {"type": "actions", "block_id": "hold_actions", "elements": [
        {"type": "button", "action_id": ACTION_HOLD_BOOK, "value": value, "text": _plain("Book"), "style": "primary"},
        {"type": "button", "action_id": ACTION_HOLD_ANOTHER, "value": value, "text": _plain("Another time")},
        {"type": "button", "action_id": ACTION_HOLD_CANCEL, "value": value, "text": _plain("Cancel"),
         "style": "danger"}]}


def note_message(note: str, *, block_id: str = "note") -> tuple[str, list[Block]]:
    """A one-section answer (what a click did, or why it was refused)."""
    return note[:3000], [{"type": "section", "block_id": block_id, "text": {"type": "mrkdwn", "text": note[:3000]}}]


def change_value(request_id: str, revision: int) -> str:
    return f"{request_id[:1990]}|{revision}"


def read_change_value(value: str) -> tuple[str, int]:
    """``id|revision`` -> (id, revision); a value without a revision is revision 0."""
    request_id, _, revision = value.rpartition("|")
    if not request_id or not revision.isdigit():
        return value, 0
    return request_id, int(revision)


def bookings_message(bookings: Sequence[Booked], *, note: str = "") -> tuple[str, list[Block]]:
    """``/book-meeting list``: the caller's upcoming bookings with Cancel / Reschedule."""
    text = f"You have {len(bookings)} upcoming booking(s)" if bookings else "You have no upcoming bookings."
    blocks: list[Block] = [{"type": "header", "block_id": "list_head", "text": _plain("Your bookings", 150)}]
    if note:
        blocks.append({"type": "context", "block_id": "list_note", "elements": [{"type": "mrkdwn",
                                                                                 "text": note[:2000]}]})
    if not bookings:
        blocks.append({"type": "section", "block_id": "list_empty", "text": {"type": "mrkdwn", "text": (
            "Nothing booked ahead. `/book-meeting` books one.")}})
        return text, blocks
    shown = bookings[:15]
    for i, booked in enumerate(shown):
        request = booked.request
        times = "\n".join(_escape(slot_text(s, booked.time_zone)) for s in booked.slots[:8])
        more = f"\n...and {len(booked.slots) - 8} more" if len(booked.slots) > 8 else ""
        blocks.append({"type": "section", "block_id": f"booked.{i}", "text": {"type": "mrkdwn", "text": (
            f"*{_escape(request.title)}* ({request.type_id})\n{times}{more}")[:3000]}})
        value = change_value(request.id, booked.revision)
        blocks.append({"type": "actions", "block_id": f"booked.{i}.actions", "elements": [
            {"type": "button", "action_id": ACTION_CHANGE_RESCHEDULE, "value": value, "text": _plain("Reschedule")},
            {"type": "button", "action_id": ACTION_CHANGE_CANCEL, "value": value, "text": _plain("Cancel"),
             "style": "danger", "confirm": {"title": _plain("Cancel this booking?", 100),
                                            "text": _plain("The activity, the room and the invites are cancelled.",
                                                           300),
                                            "confirm": _plain("Cancel it", 30), "deny": _plain("Keep it", 30)}}]})
        blocks.append({"type": "divider", "block_id": f"booked.{i}.end"})
    if len(bookings) > len(shown):
        blocks.append({"type": "context", "block_id": "list_more",
                       "elements": [{"type": "mrkdwn", "text": f"...and {len(bookings) - len(shown)} more."}]})
    return text, blocks


MAX_MARKED = 20  # attendees with Attended / No-show buttons per message (2 blocks each, under 50)


def register_message(register: Register, csv_text: str, *, marks: Mapping[str, AttendanceMark] | None = None,
                     now: datetime | None = None, time_zone: str | None = None,
                     note: str = "") -> tuple[str, list[Block]]:
    """The register; once a session has ended, Attended / No-show per attendee of it (the facilitator marks)."""
    marks = marks or {}
    attended = set(register.attended) | {a for a, m in marks.items() if m.attended}
    names = ", ".join(f"{name}{' (attended)' if agent in attended else ''}" for agent, name in register.attendees)
    times = "; ".join(slot_text(s, time_zone) for s in register.sessions[:6])
    state = " *Cancelled.*" if register.cancelled_at else ""
    blocks: list[Block] = [
        {"type": "header", "block_id": "register_head", "text": _plain(f"Register: {register.title}", 150)},
        {"type": "section", "block_id": "register_people", "text": {"type": "mrkdwn", "text": (
            f"*{_escape(register.type_name)}*, {len(register.sessions)} session(s): {_escape(times)}, facilitator "
            f"{register.facilitator or 'none'}.{state}\n{_escape(names)}")[:3000]}},
    ]
    if note:
        blocks.append({"type": "context", "block_id": "register_note",
                       "elements": [{"type": "mrkdwn", "text": note[:2000]}]})
    ended = [] if now is None or register.cancelled_at else [
        (agent, name) for agent, name in register.attendees
        if any(agent in s.attendees and s.end <= now for s in register.sessions)]
    for i, (agent, name) in enumerate(ended[:MAX_MARKED]):
        mark = marks.get(agent)
        said = (f"{'attended' if mark.attended else 'no-show'} (marked by <@{mark.by}>)" if mark
                else "not marked yet")
        blocks.append({"type": "section", "block_id": f"mark.{i}",
                       "text": {"type": "mrkdwn", "text": f"*{_escape(name)}*: {said}"[:3000]}})
        value = f"{register.request_id[:1900]}|{agent[:90]}"
        blocks.append({"type": "actions", "block_id": f"mark.{i}.actions", "elements": [
            {"type": "button", "action_id": ACTION_ATTENDED, "value": value, "text": _plain("Attended"),
             **({"style": "primary"} if mark and mark.attended else {})},
            {"type": "button", "action_id": ACTION_NO_SHOW, "value": value, "text": _plain("No-show"),
             **({"style": "danger"} if mark and not mark.attended else {})}]})
    if len(ended) > MAX_MARKED:
        blocks.append({"type": "context", "block_id": "mark_more", "elements": [{"type": "mrkdwn", "text": (
            f"...and {len(ended) - MAX_MARKED} more; `python -m bot book --register` exports them all.")}]})
    blocks.append({"type": "section", "block_id": "register_csv",
                   "text": {"type": "mrkdwn", "text": f"```{csv_text[:2900]}```"}})
    return f"Attendance register of {register.title}", blocks


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def help_message() -> tuple[str, list[Block]]:
    words = "\n".join(f"`/book-meeting {word}`: {what}" for word, what in WORDS.items())
    text = ("/book-meeting [team:NAME] [with:AGENT] [45m] [09:00-12:00] [2026-06-01..2026-06-05] [weekly] "
            "[\"title\"] opens the booking form prefilled; /book-training opens the training form.\n" + words
            + "\nTo use one of these words as a title, quote it: `/book-meeting \"list\"`.")
    return text, [{"type": "section", "block_id": "help", "text": {"type": "mrkdwn", "text": text}}]
