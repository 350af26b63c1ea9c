"""Block Kit for training in surplus: the agent's offer and recall DMs, the click answers, the
``/adherence surplus`` figures and the App Home "in training now" section (pure builders)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from presentation.blocks.format import Block, chunk_lines, escape, mrkdwn, plain, slack_time
from presentation.cards import RenderedMessage
from services.surplus.desk import SurplusStatus
from services.surplus.ports import Offer, Trainee

SURPLUS_START = "surplus_start"
SURPLUS_DECLINE = "surplus_decline"
MAX_LINES = 30


def offer_value(offer: Offer) -> str:
    return f"{offer.mu_id}|{offer.offer_id}"


def parse_offer_value(value: str | None) -> tuple[str, str]:
    """``(mu_id, offer_id)`` from a button value; ValueError when it is not one of ours."""
    mu_id, sep, offer_id = (value or "").partition("|")
    if not sep or not mu_id or not offer_id:
        raise ValueError(f"not a surplus offer button value: {value!r}")
    return mu_id, offer_id


def offer_message(offer: Offer) -> RenderedMessage:
    text = (f"The floor is quiet: you can take {offer.item_name} ({offer.minutes} min) now. "
            "Start now or Not now?")
    blocks: list[Block] = [
        {"type": "section", "block_id": "offer",
         "text": mrkdwn(f"*The floor is quiet right now.* You can take *{escape(offer.item_name)}* "
                        f"({offer.minutes} min) now; it goes into your schedule and counts as adherent.")},
        {"type": "context", "block_id": "why",
         "elements": [mrkdwn(f"Offered at {slack_time(offer.at)}, open until {slack_time(offer.expires)}. "
                             f"Why: {escape(offer.why)}. If the queue needs you, I'll ask you back.")]},
        {"type": "actions", "block_id": f"offer.{offer.offer_id}", "elements": [
            {"type": "button", "action_id": SURPLUS_START, "style": "primary", "text": plain("Start now"),
             "value": offer_value(offer)},
            {"type": "button", "action_id": SURPLUS_DECLINE, "text": plain("Not now"), "value": offer_value(offer)},
        ]},
    ]
    return RenderedMessage(text, blocks)


def recall_message(trainee: Trainee, back_by: datetime) -> RenderedMessage:
    text = f"Back to queue please: the queue needs you by {back_by:%H:%M}."
    blocks: list[Block] = [
        {"type": "section", "block_id": "recall",
         "text": mrkdwn(f"*Back to queue please.* Calls are picking up: please pause "
                        f"*{escape(trainee.item_name)}* and be on queue by {slack_time(back_by)}.")},
        {"type": "context", "block_id": "recall.why",
         "elements": [mrkdwn("You had the least time left of the agents in training, so you lose the least. "
                             "Your schedule has been updated.")]},
    ]
    return RenderedMessage(text, blocks)


def decision_reply(outcome: str, item_name: str, *, repeated: bool = False, by: str = "", at: str = "",
                   ends: datetime | None = None) -> str:
    """The ephemeral answer to Start now / Not now."""
    if repeated:
        when = f" at {at[11:16]}" if len(at) >= 16 else ""
        who = f" by <@{by}>" if by else ""
        word = {"started": "started", "declined": "declined"}.get(outcome, outcome)
        return f"This offer was already {word}{who}{when}. Nothing changed."
    if outcome == "started":
        until = f" until {ends:%H:%M}" if ends else ""
        return f"Enjoy {item_name}: it's in your schedule{until}."
    if outcome == "declined":
        return "No problem, maybe another time."
    if outcome == "full":
        return f"Sorry, the quiet moment was taken by others: {item_name} stays for another time."
    return "This offer has expired."


def _history_line(event: Mapping[str, str]) -> str:
    at = event.get("at", "")[11:16]
    kind, agent, item = event.get("event", ""), escape(event.get("agent", "")), escape(event.get("item", ""))
    if kind == "offered":
        return f"• {at} offered {item} to {agent}: {escape(event.get('why', ''))}"
    if kind == "recalled":
        return f"• {at} recalled {agent} from {item} ({escape(event.get('left', ''))} left)"
    if kind == "sudden_loss":
        return (f"• {at} sudden loss between evaluations: {escape(event.get('on_queue', '?'))} on queue "
                f"(+{escape(event.get('back_soon', '0'))} recalled, due back) for {escape(event.get('required', '?'))} "
                "required: evaluated at once")
    return f"• {at} {escape(kind.replace('_', ' '))} {agent} {item}".rstrip()


def surplus_status(units: Sequence[SurplusStatus]) -> RenderedMessage:
    if not units:
        return RenderedMessage("Training in surplus is off.", [
            {"type": "section", "block_id": "surplus.off",
             "text": mrkdwn("Training in surplus is off for every unit (`[surplus] enabled`).")}])
    blocks: list[Block] = [{"type": "header", "block_id": "surplus.title", "text": plain("Training in surplus")}]
    for n, unit in enumerate(units):
        f = unit.figures
        figures = (f"{f.get('available', '?')} on queue, {f.get('in_training', '?')} in training; required "
                   f"{f.get('required', '?')} (this interval and the look-ahead), margin {f.get('margin', '?')}: "
                   f"{f.get('free', '0')} seat(s) free, short by {f.get('shortfall', '0')}"
                   if f else "not measured yet")
        blocks.append({"type": "section", "block_id": f"unit.{n}",
                       "text": mrkdwn(f"*{escape(unit.mu_name)}*: {figures}")})
        lines = [f"• {escape(t.agent_id)}: {escape(t.item_name)} until {t.end:%H:%M}"
                 + (" (recalled)" if t.recalled_at else "") for t in unit.trainees]
        lines += [_history_line(e) for e in unit.history][-MAX_LINES:]
        for m, chunk in enumerate(chunk_lines(lines or ["No offers yet."])[:8]):
            blocks.append({"type": "section", "block_id": f"unit.{n}.{m}", "text": mrkdwn(chunk)})
    return RenderedMessage("Training in surplus: live figures, offers and decisions.", blocks[:50])


def in_training_blocks(trainees: Sequence[Trainee], now: datetime) -> list[Block]:
    """The App Home section: who is in training the bot delivered, now."""
    lines = [f"• {escape(t.agent_id)}: {escape(t.item_name)}, {max(0, int((t.end - now).total_seconds() // 60))} "
             f"min left" + (" (recalled)" if t.recalled_at else "") for t in trainees] or ["Nobody right now."]
    blocks: list[Block] = [{"type": "section", "block_id": "surplus.head",
                            "text": mrkdwn(f"*In training now (surplus)* ({len(trainees)})")}]
    blocks += [{"type": "section", "block_id": f"surplus.{n}", "text": mrkdwn(c)}
               for n, c in enumerate(chunk_lines(lines)[:10])]
    return blocks
