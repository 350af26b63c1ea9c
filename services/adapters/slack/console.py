"""``ChatPort`` for running without Slack: the very same cards, drawn as text in the terminal.

The console renders the Block Kit the Slack adapter would send (header, fields in two columns,
status, buttons, context), so the demo shows exactly what supervisors would see.
"""

from __future__ import annotations

import html
import itertools
import re
import shutil
import sys
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from textwrap import wrap
from typing import Any, TextIO

from presentation.cards import CardRenderer, RenderedMessage
from services.domain.escalation import IncidentEvent
from services.ports import IncidentView, MessageRef, StormView

Printer = Callable[[str], None]
_DATE = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_USER = re.compile(r"<@([A-Z0-9]+)>")
_BOLD = re.compile(r"\*([^*\n]+)\*")
_CODE = re.compile(r"`([^`\n]+)`")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ITALIC = re.compile(r"(?<!\w)_([^_\n]+)_(?!\w)")


class Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def button(self, text: str, style: str | None) -> str:
        codes = {"primary": "1;32", "danger": "1;31"}
        return self._wrap(codes.get(style or "", "1;36"), f"[ {text} ]")


def mrkdwn_to_text(text: str, style: Style) -> str:
    """Slack mrkdwn to terminal text: date tokens to their fallback, links, mentions, bold."""
    text = _DATE.sub(r"\1", text)
    text = _LINK.sub(r"\2 (\1)", text)
    text = _USER.sub(r"@\1", text)
    text = _BOLD.sub(lambda m: style.bold(m.group(1)), text)
    text = _CODE.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    return html.unescape(text)


def _visible_len(text: str) -> int:
    """Terminal columns: ANSI codes take none, wide characters and emoji (incl. VS16) take two."""
    width = 0
    for char in _ANSI.sub("", text):
        if char == "\ufe0f":
            width += 1  # emoji presentation selector: the previous symbol is drawn two columns wide
        elif unicodedata.combining(char) or char in "\u200d":
            continue
        else:
            width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _text_of(obj: Mapping[str, Any] | None, style: Style) -> str:
    if not obj:
        return ""
    raw = str(obj.get("text", ""))
    return mrkdwn_to_text(raw, style) if obj.get("type") == "mrkdwn" else raw


def blocks_to_lines(blocks: Iterable[Mapping[str, Any]], style: Style, width: int) -> list[str]:
    """Lay Block Kit blocks out as lines of at most ``width`` visible characters (ANSI excluded)."""
    lines: list[str] = []

    def add(text: str, indent: str = "") -> None:
        for paragraph in _field_lines(text, width - len(indent)):
            lines.append(indent + paragraph)

    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            add(style.bold(_text_of(block.get("text"), style)))
        elif kind == "section":
            if block.get("text"):
                add(_text_of(block["text"], style))
            fields = [_text_of(f, style) for f in block.get("fields", [])]
            column = (width - 2) // 2
            for left, right in itertools.zip_longest(fields[::2], fields[1::2], fillvalue=""):
                left_lines, right_lines = _field_lines(left, column), _field_lines(right, column)
                for a, b in itertools.zip_longest(left_lines, right_lines, fillvalue=""):
                    lines.append(a + " " * max(1, column + 2 - _visible_len(a)) + b)
        elif kind == "context":
            add(style.dim(" · ".join(_text_of(e, style) for e in block.get("elements", []))))
        elif kind == "actions":
            add("  ".join(style.button(_text_of(e.get("text") or e.get("placeholder"), style), e.get("style"))
                          for e in block.get("elements", [])))
        elif kind == "divider":
            lines.append(style.dim("─" * width))
    return lines


def _field_lines(text: str, width: int) -> list[str]:
    out: list[str] = []
    for paragraph in text.split("\n"):
        out.extend(wrap(paragraph, width, break_long_words=False) if _visible_len(paragraph) > width else [paragraph])
    return out


class ConsoleChat:
    """Prints every card and thread line; refs are ``console``/``N`` so updates can name their card."""

    def __init__(self, renderer: CardRenderer, out: TextIO | None = None, *, printer: Printer | None = None,
                 color: bool | None = None, width: int | None = None) -> None:
        self.renderer = renderer
        self.out = out or sys.stdout
        self.printer = printer  # e.g. the demo's narrator; otherwise lines go to ``out``
        is_tty = printer is None and hasattr(self.out, "isatty") and self.out.isatty()
        self.style = Style(is_tty if color is None else color)
        self.width = width or min(96, max(60, shutil.get_terminal_size((88, 24)).columns - 4))
        self._numbers = itertools.count(1)

    async def post_incident_card(self, view: IncidentView) -> MessageRef:
        ref = MessageRef("console", str(next(self._numbers)))
        self._draw(f"card {ref.ts} posted", self.renderer.incident_card(view))
        return ref

    async def update_incident_card(self, ref: MessageRef, view: IncidentView, event: IncidentEvent) -> None:
        self._draw(f"card {ref.ts} updated", self.renderer.incident_card(view))
        line = self.renderer.incident_history_line(view, event)
        if line:
            prefix = f"  ↳ thread of card {ref.ts}: "
            text = _field_lines(mrkdwn_to_text(line, self.style), self.width - len(prefix))
            self._write("\n".join(self.style.dim(prefix if n == 0 else " " * len(prefix)) + part
                                   for n, part in enumerate(text)))

    async def post_storm_card(self, view: StormView) -> MessageRef:
        ref = MessageRef("console", str(next(self._numbers)))
        self._draw(f"card {ref.ts} posted", self.renderer.storm_card(view))
        return ref

    async def update_storm_card(self, ref: MessageRef, view: StormView) -> None:
        self._draw(f"card {ref.ts} updated", self.renderer.storm_card(view))

    async def post_storm_history_line(self, ref: MessageRef, view: IncidentView, event: IncidentEvent) -> None:
        line = self.renderer.incident_history_line(view, event)
        if line:
            await self.post_storm_note(ref, f"{line} ({view.agent_name})")

    async def post_storm_note(self, ref: MessageRef, text: str) -> None:
        self._write(self.style.dim(f"  ↳ thread of card {ref.ts}: ") + mrkdwn_to_text(text, self.style))

    async def post_agent_nudge(self, view: IncidentView) -> MessageRef:
        ref = MessageRef("console", str(next(self._numbers)))
        self._draw(f"DM {ref.ts} to {view.agent_name}", self.renderer.agent_nudge(view))
        return ref

    async def update_agent_nudge(self, ref: MessageRef, view: IncidentView) -> None:
        self._draw(f"DM {ref.ts} to {view.agent_name} updated", self.renderer.agent_nudge(view))

    def render(self, message: RenderedMessage, title: str = "") -> list[str]:
        inner = self.width - 4
        body = blocks_to_lines(message.blocks, self.style, inner) if message.blocks else [message.text]
        top = f"╭─ {title} " if title else "╭"
        out = [self.style.dim(top + "─" * max(0, self.width - _visible_len(top) - 1) + "╮")]
        for line in body:
            pad = " " * max(0, inner - _visible_len(line))
            out.append(self.style.dim("│ ") + line + pad + self.style.dim(" │"))
        out.append(self.style.dim("╰" + "─" * (self.width - 2) + "╯"))
        return out

    def _draw(self, title: str, message: RenderedMessage) -> None:
        self._write("\n".join(self.render(message, title)))

    def _write(self, text: str) -> None:
        if self.printer is not None:
            self.printer(text)
            return
        self.out.write(text + "\n")
        self.out.flush()


def render_lines(message: RenderedMessage, *, width: int = 88) -> Sequence[str]:
    """Plain (uncoloured) rendering, for logs and tests."""
    return blocks_to_lines(message.blocks, Style(False), width)
