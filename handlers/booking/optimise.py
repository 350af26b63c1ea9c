"""Slack side of "Optimise upcoming": the proposal (gain and moves, Apply / Discard) and its buttons.

``/book-meeting optimise [days]`` is read by the booking command parser, which calls
:func:`optimise_command`'s answer with (user, days); the two buttons' listeners are in
``handlers/actions/optimise.py``. Thin: the use case (:mod:`services.booking.optimise`) checks who may optimise and does
the work; this module only builds messages.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from presentation.blocks.booking import Block
from services.booking.optimise import Decision, NotAllowed, Proposal
from services.domain.model import ManagementUnit

log = logging.getLogger(__name__)
ACTION_APPLY, ACTION_DISCARD = "booking_optimise_apply", "booking_optimise_discard"
_SHOWN = 20  # moves listed in the message (one line each)


class Optimiser(Protocol):
    async def propose(self, mu_id: str, days: int, by: str) -> Proposal: ...

    async def apply(self, proposal_id: str, by: str) -> Decision | None: ...

    async def discard(self, proposal_id: str, by: str) -> Decision | None: ...


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:limit] or " ", "emoji": False}


def _when(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%a %d %b %H:%M}"


def proposal_message(proposal: Proposal, time_zone: str = "UTC") -> tuple[str, list[Block]]:
    """The gain and the moves; Apply / Discard only when something would move."""
    zone = ZoneInfo(time_zone)
    span = f"{_when(proposal.start, zone)} to {_when(proposal.end, zone)} ({time_zone})"
    blocks: list[Block] = [{"type": "header", "block_id": "opt_head", "text": _plain("Optimise upcoming", 150)}]
    if not proposal.moves:
        text = (f"Nothing to gain: the {proposal.bookings} booking(s) from {span} already add the least "
                f"understaffing I can find ({proposal.before_hours:g} agent-hours). Nothing was moved.")
        blocks.append({"type": "section", "block_id": "opt_none", "text": {"type": "mrkdwn", "text": text[:3000]}})
        return text, blocks
    moved = len({m.request_id for m in proposal.moves})
    text = (f"Moving {moved} of {proposal.bookings} booking(s) from {span} saves {proposal.gain_hours:g} "
            f"agent-hours of understaffing ({proposal.before_hours:g} -> {proposal.after_hours:g}).")
    lines = [f"- *{_escape(m.title)}*: {_when(m.old.start, zone)} -> {_when(m.new.start, zone)}"
             + (f" in {m.new.room_id}" if m.new.room_id and m.new.room_id != m.old.room_id else "")
             for m in proposal.moves[:_SHOWN]]
    if len(proposal.moves) > _SHOWN:
        lines.append(f"...and {len(proposal.moves) - _SHOWN} more.")
    blocks += [
        {"type": "section", "block_id": "opt_gain", "text": {"type": "mrkdwn", "text": text[:3000]}},
        {"type": "section", "block_id": "opt_moves", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}},
        {"type": "context", "block_id": "opt_note", "elements": [{"type": "mrkdwn", "text": (
            "Nothing changes until you apply. Moved attendees get an updated invite.")}]},
        {"type": "actions", "block_id": "opt_actions", "elements": [
            {"type": "button", "action_id": ACTION_APPLY, "value": proposal.id[:2000], "text": _plain("Apply"),
             "style": "primary"},
            {"type": "button", "action_id": ACTION_DISCARD, "value": proposal.id[:2000], "text": _plain("Discard")}]},
    ]
    return text, blocks


def decision_message(decision: Decision | None, proposal_id: str) -> tuple[str, list[Block]]:
    if decision is None:
        text = f"The proposal {proposal_id} is no longer known; ask again with /book-meeting optimise."
    elif decision.action == "applied":
        text = f"<@{decision.by}> applied the proposal: {len(decision.moved)} booking(s) moved, invites updated."
        if decision.failed:
            text += f" {len(decision.failed)} stayed where they were (their new room was taken meanwhile)."
    elif decision.action == "discarded":
        text = f"<@{decision.by}> discarded the proposal. Nothing was moved."
    else:
        text = "This proposal is too old to apply (schedules may have changed); ask again. Nothing was moved."
    return text, [{"type": "section", "block_id": "opt_done", "text": {"type": "mrkdwn", "text": text[:3000]}}]


def optimise_command(optimiser: Optimiser, units: Callable[[], Awaitable[Sequence[ManagementUnit]]]
                     ) -> Callable[[str, int], Awaitable[tuple[str, list[Block]]]]:
    """The answer to ``/book-meeting optimise [days]`` (the first unit's bookings)."""
    async def answer(user_id: str, days: int) -> tuple[str, list[Block]]:
        found = list(await units())
        if not found:
            return "There is no management unit to optimise.", []
        unit = found[0]
        try:
            proposal = await optimiser.propose(unit.id, days, user_id)
        except (NotAllowed, ValueError) as refused:
            return str(refused), []
        return proposal_message(proposal, unit.time_zone)
    return answer


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
