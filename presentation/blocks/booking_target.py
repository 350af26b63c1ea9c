"""The training target in the ``/book-training`` modal: its inputs, the Preview button, and who it selects.

Pure builders (plain dicts that pass ``slack_sdk.models`` validation). The block ids are the target's
form fields (``services.booking.targeting.TEAMS``/``BELOW``/``DAYS``) so a submission's errors land
next to them; the preview section is rebuilt on every Preview click (``views.update``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.booking.forms import FormValues
from services.booking.targeting import BELOW, DAYS, DEFAULT_DAYS, MAX_DAYS, TEAMS, Selection

ACTION_TARGET_PREVIEW = "booking_target_preview"
PREVIEW_BLOCK = "target_preview"
VALUE = "value"  # as in presentation.blocks.booking: every input's action_id
LISTED = 40  # names in the preview; the rest are counted

Block = dict[str, Any]


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:limit] or " ", "emoji": False}


def _text(block_id: str, label: str, initial: str, placeholder: str, hint: str) -> Block:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": VALUE, "max_length": 6,
                               "placeholder": _plain(placeholder, 150)}
    if initial:
        element["initial_value"] = initial[:6]
    return {"type": "input", "block_id": block_id, "label": _plain(label), "element": element, "optional": True,
            "hint": _plain(hint, 2000)}


def preview_text(selection: Selection | None, problem: str = "") -> str:
    """What the target selects (names and adherence %), or why it selects nobody."""
    if problem:
        return f":warning: {_escape(problem)}"[:3000]
    if selection is None:
        return "Press *Preview* to see who the target selects before you queue it."
    if selection.problem:
        return f":warning: {_escape(selection.problem)}"[:3000]
    shown = [f"• {_escape(c.name)} — {c.adherence:.1f} %" for c in selection.selected[:LISTED]]
    more = len(selection.selected) - LISTED
    lines = [f"*{len(selection.selected)} selected*: {_escape(selection.describe())} ({selection.coverage}).",
             *shown]
    if more > 0:
        lines.append(f"… and {more} more")
    if selection.without_data:
        lines.append(f"_{len(selection.without_data)} agent(s) of these teams have no scheduled time in the "
                     "record and are not selected._")
    return "\n".join(lines)[:3000]


def target_blocks(teams: Sequence[tuple[str, str]], form: FormValues, *, selection: Selection | None = None,
                  problem: str = "") -> list[Block]:
    """The target inputs, the Preview button and the preview (``selection``, or ``problem`` when invalid)."""
    if not teams:
        return []
    options = [{"text": _plain(label), "value": value[:150]} for value, label in teams[:100]]
    multi: dict[str, Any] = {"type": "multi_static_select", "action_id": VALUE, "options": options,
                             "placeholder": _plain("Teams to target", 150)}
    chosen = [o for o in options if o["value"] in set(form.target_teams)]
    if chosen:
        multi["initial_options"] = chosen
    return [
        {"type": "section", "block_id": "target_intro",
         "text": {"type": "mrkdwn", "text": "*Or target by adherence* (instead of teams and people): the agents "
                                            "of these teams whose adherence over the last days is below a threshold, "
                                            "from the monitor's own record."}},
        {"type": "input", "block_id": TEAMS, "label": _plain("Target teams"), "element": multi, "optional": True},
        _text(BELOW, "Adherence below (%)", form.get(BELOW), "e.g. 85", "Agents strictly below this percentage."),
        _text(DAYS, "Over the last (days)", form.get(DAYS), str(DEFAULT_DAYS),
              f"1 to {MAX_DAYS} days, today included (default {DEFAULT_DAYS})."),
        {"type": "actions", "block_id": "target_actions", "elements": [
            {"type": "button", "action_id": ACTION_TARGET_PREVIEW, "value": "preview",
             "text": _plain("Preview who this selects")}]},
        {"type": "section", "block_id": PREVIEW_BLOCK,
         "text": {"type": "mrkdwn", "text": preview_text(selection, problem)}},
    ]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
