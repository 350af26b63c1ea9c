"""What a hold or change click did, or what had already happened (and by whom), as one line of text."""

from __future__ import annotations

from datetime import datetime

from presentation.blocks.booking import Block, note_message, register_message
from presentation.blocks.format import slack_time
from services.booking.attendance import Marked, RegisterView, register_csv
from services.booking.changes import ChangeDone
from services.booking.holds import HoldDone
from services.booking.model import ChangeAction, Hold, HoldAction, Status, WorkAction, WorkOutcome
from services.booking.service import WorkDone

_HOLD_DID = {HoldAction.BOOKED: "booked", HoldAction.ANOTHER_TIME: "asked for another time for",
             HoldAction.CANCELLED: "cancelled"}
_HOLD_WAS = {HoldAction.BOOKED: "was already booked", HoldAction.ANOTHER_TIME: "was already let go for another time",
             HoldAction.CANCELLED: "was already cancelled", HoldAction.EXPIRED: "was not booked in time: the hold "
                                                                                 "expired and the time is free again"}


def _who_when(by: str | None, at: datetime | None) -> str:
    who = f" by <@{by}>" if by else ""
    when = f" at {slack_time(at)}" if at else ""
    return f"{who}{when}"


def hold_note(request_id: str, done: HoldDone | None, hold: Hold | None) -> str:
    title = hold.title if hold else (done.title if done and done.title else request_id)
    if done is None:
        return f"There is no held time for {request_id} any more."
    outcome = done.outcome
    if done.now:
        line = f"<@{outcome.by}> {_HOLD_DID.get(outcome.action, str(outcome.action))} {title}."
        if outcome.action is HoldAction.BOOKED and done.status == Status.NEEDS_REVIEW:
            line += " The room was taken meanwhile, so it went to a scheduler for review."
        elif outcome.action is HoldAction.ANOTHER_TIME and outcome.new_request_id:
            line += f" Looking again (as {outcome.new_request_id}), without that time."
        return line
    if outcome.action is HoldAction.EXPIRED:
        return f"{title} {_HOLD_WAS[outcome.action]} (at {slack_time(outcome.at)}). Nothing changed."
    return f"{title} {_HOLD_WAS[outcome.action]}{_who_when(outcome.by, outcome.at)}. Nothing changed."


def change_note(request_id: str, done: ChangeDone) -> str:
    if done.refused:
        return done.refused
    outcome = done.outcome
    if outcome is None:
        return f"{request_id}: nothing changed."
    if done.now:
        if outcome.action is ChangeAction.CANCELLED:
            return f"<@{outcome.by}> cancelled {request_id}: the activity, the room and the invites are cancelled."
        return f"<@{outcome.by}> moved {request_id}; the attendees get an updated invite."
    did = "cancelled" if outcome.action is ChangeAction.CANCELLED else "rescheduled"
    return f"{request_id} was already {did}{_who_when(outcome.by, outcome.at)}. Nothing changed."


def optimise_placeholder(days: int) -> tuple[str, list[Block]]:
    """Until the batch planner is wired in: say what the command will do."""
    return note_message(
        f"`/book-meeting optimise {days}` re-plans the bookings of the next {days} days that have not started, "
        "together, shows how many agent-hours of understaffing that saves and which bookings would move, and "
        "applies the moves when you confirm (moved attendees get updated invites). It is not enabled here yet.",
        block_id="optimise")


def mark_note(marked: Marked, view: RegisterView) -> str:
    mark = marked.mark
    if mark is None:
        return marked.refused
    name = dict(view.register.attendees).get(mark.agent_id, mark.agent_id)
    said = "attended" if mark.attended else "a no-show"
    if not marked.changed:
        return f"{name} was already marked {said}{_who_when(mark.by, mark.at)}. Nothing changed."
    if marked.previous is not None:
        was = "attended" if marked.previous.attended else "a no-show"
        return f"<@{mark.by}> changed {name} from {was} to {said}."
    return f"<@{mark.by}> marked {name} {said}."


_HOW = {WorkAction.RETRIED: "", WorkAction.RETRIED_RELAXED: " without the service limits"}


def work_note(request_id: str, done: WorkDone | None) -> str:
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


def register_view_message(view: RegisterView, note: str = "") -> tuple[str, list[Block]]:
    """The register with its marks, as a message (the CSV attached as a snippet of text)."""
    return register_message(view.register, register_csv(view.register, view.marks), marks=view.marks,
                            now=view.now, time_zone=view.time_zone, note=note)
