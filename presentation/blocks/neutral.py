"""Neutral windows in Slack: the reply to ``/adherence neutral``, the App Home section, the plan form."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from presentation.blocks.format import Block, escape, mrkdwn, plain, truncate
from presentation.cards import RenderedMessage
from presentation.neutral_payloads import (
    DAY_BLOCK,
    END_BLOCK,
    NEUTRAL_CANCEL,
    NEUTRAL_PLAN_MODAL,
    NEUTRAL_PLAN_OPEN,
    REASON_BLOCK,
    SCOPE_BLOCK,
    START_BLOCK,
    NeutralRef,
)
from services.domain.neutral import MAX_REASON, NeutralWindow
from services.neutral import ListedWindow, Scope

FIELD = "value"
MAX_LISTED = 20
USAGE = ("`/adherence neutral <team|unit> <from>-<to> <reason>`, e.g. "
         "`/adherence neutral Billing 14:00-15:30 system maintenance` or with a date "
         "`/adherence neutral Billing 2026-12-02 14:00-15:30 team event` (times in the unit's time zone)")


def when(moment: datetime) -> str:
    """Date and time in the reader's time zone (a Slack date token), UTC as the fallback."""
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{moment:%Y-%m-%d %H:%M} UTC>"


def window_line(window: NeutralWindow, now: datetime) -> str:
    state = "🔕 *now*" if window.active(now) else "🗓️"
    scope = f"team *{escape(window.scope_name)}*" if window.team_id else f"all of *{escape(window.scope_name)}*"
    return (f"{state} {scope}: {when(window.start)} to {when(window.end)}, {escape(window.reason)} "
            f"(planned by {escape(window.created_by)})")


def _cancel_button(window: NeutralWindow) -> Block:
    return {"type": "button", "action_id": NEUTRAL_CANCEL, "text": plain("Cancel"),
            "value": NeutralRef(mu_id=window.mu_id, window_id=window.id).dump(),
            "confirm": {"title": plain("Cancel this window?"),
                        "text": mrkdwn(truncate(f"Agents of {escape(window.scope_name)} are monitored again "
                                                "during this time.", 300)),
                        "confirm": plain("Cancel it"), "deny": plain("Keep it")}}


def _window_block(item: ListedWindow, now: datetime, prefix: str) -> Block:
    block: Block = {"type": "section", "block_id": f"{prefix}.{item.window.id}",
                    "text": mrkdwn(truncate(window_line(item.window, now), 3000))}
    if item.may_cancel:
        block["accessory"] = _cancel_button(item.window)
    return block


def planned(window: NeutralWindow, now: datetime) -> RenderedMessage:
    text = (f"🔕 Neutral window planned: {window_line(window, now)}. No incident opens for its agents "
            "inside it, and open ones are excused when it starts.")
    return RenderedMessage(text=f"Neutral window planned for {window.scope_name}", blocks=[
        _window_block(ListedWindow(window, True), now, "planned") | {"text": mrkdwn(truncate(text, 3000))}])


def listed(items: Sequence[ListedWindow], now: datetime) -> RenderedMessage:
    if not items:
        text = f"No neutral window is planned for your teams. To plan one: {USAGE}."
        return RenderedMessage(text="No neutral windows planned",
                               blocks=[{"type": "section", "block_id": "none", "text": mrkdwn(text)}])
    blocks: list[Block] = [{"type": "section", "block_id": "head",
                            "text": mrkdwn(f"*Neutral windows* ({len(items)})")}]
    blocks += [_window_block(item, now, "window") for item in items[:MAX_LISTED]]
    return RenderedMessage(text=f"{len(items)} neutral window(s) planned", blocks=blocks)


def input_error(message: str) -> RenderedMessage:
    text = f"🚫 {escape(message.rstrip('.'))}.\n{USAGE}."
    return RenderedMessage(text=truncate(f"Not planned: {message}", 3000),
                           blocks=[{"type": "section", "block_id": "error", "text": mrkdwn(truncate(text, 3000))}])


def cancelled(window: NeutralWindow) -> str:
    return (f"☑️ Cancelled the neutral window for {escape(window.scope_name)} ({when(window.start)} to "
            f"{when(window.end)}). Its agents are monitored as usual.")


def snapshot_note(windows: Sequence[NeutralWindow], now: datetime) -> str | None:
    """The line the ``/adherence team`` snapshot carries about active or upcoming windows."""
    if not windows:
        return None
    first = windows[0]
    lead = "🔕 Neutral window now" if first.active(now) else "🗓️ Neutral window planned"
    more = f" (+{len(windows) - 1} more)" if len(windows) > 1 else ""
    return f"{lead}: {when(first.start)} to {when(first.end)}, {escape(first.reason)}{more}"


def home_section(items: Sequence[ListedWindow], now: datetime, *, can_plan: bool) -> list[Block]:
    """App Home: the windows the caller sees (Cancel for ops managers) and "Plan a neutral window"."""
    blocks: list[Block] = [{"type": "divider", "block_id": "neutral.split"},
                           {"type": "section", "block_id": "neutral.head",
                            "text": mrkdwn(f"*Neutral windows* ({len(items)})")}]
    if not items:
        blocks.append({"type": "section", "block_id": "neutral.none", "text": mrkdwn("None planned.")})
    blocks += [_window_block(item, now, "neutral") for item in items[:MAX_LISTED]]
    if can_plan:
        blocks.append({"type": "actions", "block_id": "neutral.plan", "elements": [
            {"type": "button", "action_id": NEUTRAL_PLAN_OPEN, "text": plain("Plan a neutral window"),
             "value": "plan"}]})
    return blocks


def plan_modal(scopes: Sequence[Scope], today: date) -> Block:
    options = [{"text": plain(truncate(s.label, 75)), "value": s.key} for s in scopes[:100]]
    zones = sorted({s.time_zone for s in scopes})
    return {
        "type": "modal",
        "callback_id": NEUTRAL_PLAN_MODAL,
        "title": plain("Plan a neutral window"),
        "submit": plain("Plan"),
        "close": plain("Cancel"),
        "blocks": [
            {"type": "section", "block_id": "intro", "text": mrkdwn(truncate(
                "No incident opens inside a neutral window for the agents it covers, and open ones are excused "
                f"while it lasts. Times are in the unit's time zone ({', '.join(zones)}).", 3000))},
            {"type": "input", "block_id": SCOPE_BLOCK, "label": plain("Team or unit"),
             "element": {"type": "static_select", "action_id": FIELD, "options": options,
                         "placeholder": plain("Choose a team or a unit")}},
            {"type": "input", "block_id": DAY_BLOCK, "label": plain("Date"),
             "element": {"type": "datepicker", "action_id": FIELD, "initial_date": today.isoformat()}},
            {"type": "input", "block_id": START_BLOCK, "label": plain("From"),
             "element": {"type": "timepicker", "action_id": FIELD, "placeholder": plain("Start")}},
            {"type": "input", "block_id": END_BLOCK, "label": plain("To"),
             "element": {"type": "timepicker", "action_id": FIELD, "placeholder": plain("End")}},
            {"type": "input", "block_id": REASON_BLOCK, "label": plain("Reason"),
             "element": {"type": "plain_text_input", "action_id": FIELD, "max_length": MAX_REASON,
                         "placeholder": plain("e.g. system maintenance")}},
        ],
    }
