"""``ChatPort`` for running without Slack: the very same cards, drawn in the terminal with ``rich``.

The console renders the Block Kit the Slack adapter would send (header, fields in two columns,
status, buttons, context) as a rich panel, so the demo shows exactly what supervisors would see.
rich does the wrapping, the column widths of emoji and wide characters, and the colours (none
when the output is not a terminal, or when ``color=False``).
"""

from __future__ import annotations

import html
import itertools
import re
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TextIO

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from presentation.cards import CardRenderer, RenderedMessage
from services.domain.escalation import IncidentEvent
from services.ports import IncidentView, MessageRef, StormView

Printer = Callable[[str], None]
_DATE = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_USER = re.compile(r"<@([A-Z0-9]+)>")
_BOLD = re.compile(r"\*([^*\n]+)\*")
_CODE = re.compile(r"`([^`\n]+)`")
_ITALIC = re.compile(r"(?<!\w)_([^_\n]+)_(?!\w)")
_BUTTON = {"primary": "bold green", "danger": "bold red"}


def mrkdwn_to_text(text: str) -> Text:
    """Slack mrkdwn to rich text: date tokens to their fallback, links, mentions, bold."""
    text = _DATE.sub(r"\1", text)
    text = _LINK.sub(r"\2 (\1)", text)
    text = _USER.sub(r"@\1", text)
    text = _CODE.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    out, end = Text(), 0
    for match in _BOLD.finditer(text):
        out.append(html.unescape(text[end:match.start()]))
        out.append(html.unescape(match.group(1)), style="bold")
        end = match.end()
    out.append(html.unescape(text[end:]))
    return out


def _text_of(obj: Mapping[str, Any] | None) -> Text:
    if not obj:
        return Text()
    raw = str(obj.get("text", ""))
    return mrkdwn_to_text(raw) if obj.get("type") == "mrkdwn" else Text(raw)


def _fields(fields: list[Text]) -> Table:
    grid = Table.grid(expand=True, padding=(0, 2))
    grid.add_column(ratio=1)
    grid.add_column(ratio=1)
    for left, right in itertools.zip_longest(fields[::2], fields[1::2], fillvalue=Text()):
        grid.add_row(left, right)
    return grid


def blocks_to_renderables(blocks: Iterable[Mapping[str, Any]]) -> list[RenderableType]:
    """Block Kit blocks as rich renderables, one per block (a section with fields gives two)."""
    out: list[RenderableType] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            header = _text_of(block.get("text"))
            header.stylize("bold")
            out.append(header)
        elif kind == "section":
            if block.get("text"):
                out.append(_text_of(block["text"]))
            if block.get("fields"):
                out.append(_fields([_text_of(f) for f in block["fields"]]))
        elif kind == "context":
            out.append(Text(" · ", style="dim").join(_text_of(e) for e in block.get("elements", [])))
        elif kind == "actions":
            out.append(Text("  ").join(
                Text(f"[ {_text_of(e.get('text') or e.get('placeholder')).plain} ]",
                     style=_BUTTON.get(e.get("style") or "", "bold cyan"))
                for e in block.get("elements", [])))
        elif kind == "divider":
            out.append(Rule(style="dim"))
    return out


def card(message: RenderedMessage, title: str = "") -> Panel:
    """One card as a rounded panel with its title in the top border."""
    body = blocks_to_renderables(message.blocks) if message.blocks else [Text(message.text)]
    return Panel(Group(*body), title=title or None, title_align="left", box=box.ROUNDED, border_style="dim")


def thread_line(prefix: str, text: str) -> Table:
    """``prefix`` then the line, wrapped with a hanging indent under the text."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    grid.add_row(Text(prefix, style="dim"), mrkdwn_to_text(text))
    return grid


class ConsoleChat:
    """Prints every card and thread line; refs are ``console``/``N`` so updates can name their card."""

    def __init__(self, renderer: CardRenderer, out: TextIO | None = None, *, printer: Printer | None = None,
                 color: bool | None = None, width: int | None = None) -> None:
        self.renderer = renderer
        self.printer = printer  # e.g. the demo's narrator; otherwise lines go to ``out``
        self.width = width or min(96, max(60, shutil.get_terminal_size((88, 24)).columns - 4))
        if color is None and printer is not None:
            color = False  # the narrator's text goes through print(): plain unless asked
        self.console = Console(file=out or sys.stdout, width=self.width, highlight=False, markup=False, emoji=False,
                               force_terminal=color, color_system=None if color is False else "auto")
        self._numbers = itertools.count(1)

    async def post_incident_card(self, view: IncidentView) -> MessageRef:
        ref = MessageRef("console", str(next(self._numbers)))
        self._write(card(self.renderer.incident_card(view), f"card {ref.ts} posted"))
        return ref

    async def update_incident_card(self, ref: MessageRef, view: IncidentView, event: IncidentEvent) -> None:
        self._write(card(self.renderer.incident_card(view), f"card {ref.ts} updated"))
        line = self.renderer.incident_history_line(view, event)
        if line:
            self._write(thread_line(f"  ↳ thread of card {ref.ts}:", line))

    async def post_storm_card(self, view: StormView) -> MessageRef:
        ref = MessageRef("console", str(next(self._numbers)))
        self._write(card(self.renderer.storm_card(view), f"card {ref.ts} posted"))
        return ref

    async def update_storm_card(self, ref: MessageRef, view: StormView) -> None:
        self._write(card(self.renderer.storm_card(view), f"card {ref.ts} updated"))

    async def post_storm_history_line(self, ref: MessageRef, view: IncidentView, event: IncidentEvent) -> None:
        line = self.renderer.incident_history_line(view, event)
        if line:
            await self.post_storm_note(ref, f"{line} ({view.agent_name})")

    async def post_storm_note(self, ref: MessageRef, text: str) -> None:
        self._write(thread_line(f"  ↳ thread of card {ref.ts}:", text))

    async def post_agent_nudge(self, view: IncidentView) -> MessageRef:
        ref = MessageRef("console", str(next(self._numbers)))
        self._write(card(self.renderer.agent_nudge(view), f"DM {ref.ts} to {view.agent_name}"))
        return ref

    async def update_agent_nudge(self, ref: MessageRef, view: IncidentView) -> None:
        self._write(card(self.renderer.agent_nudge(view), f"DM {ref.ts} to {view.agent_name} updated"))

    def _write(self, renderable: RenderableType) -> None:
        if self.printer is None:
            self.console.print(renderable)
            return
        with self.console.capture() as captured:
            self.console.print(renderable)
        self.printer(captured.get().rstrip("\n"))
