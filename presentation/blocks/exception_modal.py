"""The approve-exception modal (window, reason code, note) and the one-line notice modal."""

from __future__ import annotations

from presentation.blocks.format import Block, escape, mrkdwn, plain, truncate
from presentation.payloads import EXCEPTION_MODAL, ExceptionModalMeta
from presentation.wording import OUTAGE_REASON, REASONS

#: (minutes, label) offered for the exception window; the first entry is the default.
WINDOWS: tuple[tuple[int, str], ...] = (
    (30, "30 minutes"), (15, "15 minutes"), (60, "1 hour"), (120, "2 hours"), (240, "4 hours"), (480, "8 hours"),
)
#: Reason codes a supervisor may pick (the outage code is set only by "Mark as outage").
CHOOSABLE_REASONS: tuple[str, ...] = tuple(code for code in REASONS if code != OUTAGE_REASON)
WINDOW_BLOCK, REASON_BLOCK, NOTE_BLOCK, FIELD = "window", "reason", "note", "value"
NOTE_MAX = 500


def _option(value: str, label: str) -> Block:
    return {"text": plain(label), "value": value}


def exception_modal(meta: ExceptionModalMeta, agent_name: str | None = None) -> Block:
    """The modal opened by **Approve exception**; ``private_metadata`` carries the incident ids."""
    who = f" for *{escape(agent_name)}*" if agent_name else ""
    windows = [_option(str(m), label) for m, label in WINDOWS]
    return {
        "type": "modal",
        "callback_id": EXCEPTION_MODAL,
        "private_metadata": meta.dump(),
        "title": plain("Approve exception"),
        "submit": plain("Approve"),
        "close": plain("Cancel"),
        "blocks": [
            {"type": "section", "block_id": "intro", "text": mrkdwn(truncate(
                f"Approving an exception{who} closes this incident as excused and stops escalation "
                "for the window you choose. It is recorded with your name and reason.", 3000))},
            {"type": "input", "block_id": WINDOW_BLOCK, "label": plain("Excuse for"),
             "element": {"type": "static_select", "action_id": FIELD, "options": windows,
                         "initial_option": windows[0]}},
            {"type": "input", "block_id": REASON_BLOCK, "label": plain("Reason"),
             "element": {"type": "static_select", "action_id": FIELD,
                         "placeholder": plain("Choose a reason"),
                         "options": [_option(code, REASONS[code] + (" (add a note)" if code == "other" else ""))
                                     for code in CHOOSABLE_REASONS]}},
            {"type": "input", "block_id": NOTE_BLOCK, "optional": True, "label": plain("Note"),
             "hint": plain("Required when the reason is Other."),
             "element": {"type": "plain_text_input", "action_id": FIELD, "multiline": True,
                         "max_length": NOTE_MAX}},
        ],
    }


def notice_modal(title: str, text: str) -> Block:
    """A read-only modal replacing a submitted one (e.g. to explain why nothing was approved)."""
    return {
        "type": "modal",
        "title": plain(truncate(title, 24)),
        "close": plain("Close"),
        "blocks": [{"type": "section", "block_id": "notice", "text": mrkdwn(truncate(text, 3000))}],
    }
