"""The console cards drawn by rich: one rounded panel per card, lines of one width, mrkdwn as styles."""

from __future__ import annotations

import io
from datetime import timedelta

from rich.cells import cell_len
from rich.text import Text

from presentation.blocks.renderer import BlockKitRenderer
from services.adapters.slack.console import ConsoleChat, mrkdwn_to_text
from services.domain.escalation import EventKind, IncidentEvent
from tests.slack.samples import T0, every_state


async def _drawn(*, color: bool, width: int = 72) -> str:
    out = io.StringIO()
    console = ConsoleChat(BlockKitRenderer(), out, color=color, width=width)
    states = every_state()
    ref = await console.post_incident_card(states["card"])
    acked = states["acknowledged"]
    await console.update_incident_card(ref, acked, IncidentEvent(EventKind.ACKNOWLEDGED, acked.incident,
                                                                 T0 + timedelta(minutes=6), actor="Sam Supervisor"))
    return out.getvalue()


async def test_a_card_is_a_closed_panel_of_the_console_width_emoji_included() -> None:
    lines = (await _drawn(color=False)).splitlines()
    card = lines[:lines.index(next(line for line in lines if line.startswith("╰"))) + 1]
    assert card[0].startswith("╭─ card 1 posted ") and card[0].endswith("╮")
    assert card[-1] == "╰" + "─" * 70 + "╯"
    assert all(line.startswith("│ ") and line.endswith(" │") for line in card[1:-1])
    assert "⚠️" in card[1]  # two columns wide: the right border still lines up
    assert {cell_len(line) for line in card} == {72}


async def test_fields_sit_in_two_columns_and_the_thread_line_hangs_under_its_text() -> None:
    text = await _drawn(color=False, width=60)
    actual = next(line for line in text.splitlines() if "Away · Off queue" in line)
    assert actual.index("09:00 UTC") >= 60 // 2 - 2  # the right-hand field starts halfway
    thread = text[text.index("  ↳ thread of card 1:"):].splitlines()
    indent = len("  ↳ thread of card 1: ")
    assert len(thread) > 1 and all(line.startswith(" " * indent) and line[indent] != " " for line in thread[1:])
    assert max(cell_len(line) for line in text.splitlines()) <= 60


async def test_colour_is_rich_styles_over_the_same_text() -> None:
    plain, coloured = await _drawn(color=False), await _drawn(color=True)
    assert "\x1b[" not in plain
    assert "\x1b[1m" in coloured  # the header and the buttons are bold
    assert Text.from_ansi(coloured).plain.splitlines() == plain.splitlines()


def test_mrkdwn_becomes_plain_text_with_bold_spans() -> None:
    text = mrkdwn_to_text("*Alex* <@U0SUP> since <!date^1779094800^{time}|09:00 UTC>: "
                          "<https://example.com/x|the runbook> &amp; `code` _note_")
    assert text.plain == "Alex @U0SUP since 09:00 UTC: the runbook (https://example.com/x) & code note"
    assert [(text.plain[s.start:s.end], str(s.style)) for s in text.spans] == [("Alex", "bold")]
