"""Slack-specific text helpers for the Block Kit builders: escaping, date tokens, text objects.

Times are shown with Slack's ``<!date^…>`` token so each reader sees their own time zone; the
fallback after ``|`` (UTC) is what clients that cannot format dates show.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from presentation.wording import clock_time

Block = dict[str, Any]


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_time(when: datetime) -> str:
    """A Slack date token showing the reader's local time, with a UTC fallback."""
    return f"<!date^{int(when.timestamp())}^{{time}}|{clock_time(when)}>"


def plain(text: str) -> Block:
    return {"type": "plain_text", "text": text, "emoji": True}


def mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text}


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def chunk_lines(lines: Iterable[str], limit: int = 2900) -> list[str]:
    """Join lines into chunks that each fit one section block's text limit."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = truncate(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def state_lost_block(when: datetime, version: str) -> Block:
    """Said on a card posted after Redis lost its state: the earlier card could not be found."""
    return {"type": "context", "block_id": f"lost.{version}", "elements": [mrkdwn(
        f":warning: State was lost at {slack_time(when)}; this may repeat an earlier alert.")]}
