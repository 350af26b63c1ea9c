"""Day plans as labelled minute ranges, and the one edit the simulator needs: paint a range over them.

A plan is what WFM publishes for one agent; the same shape, labelled with behaviour modes, is what the
agent actually does. Scenarios are written as paints ("AWAY from 09:30 to 10:05") over either.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")
P = TypeVar("P", int, float)  # minutes of a plan, or epoch seconds of a behaviour timeline

Span = tuple[int, int, T]
"""``(start, end, label)``: minutes from the simulated day start, end exclusive."""

Plan = tuple[tuple[int, int, int], ...]
"""A published day: contiguous ``(start minute, end minute, activity-code index)`` spans of one shift."""


def merge(spans: Iterable[tuple[P, P, T]]) -> list[tuple[P, P, T]]:
    """Sort, drop empty spans and join neighbours that touch and carry the same label."""
    out: list[tuple[P, P, T]] = []
    for start, end, label in sorted((s for s in spans if s[1] > s[0]), key=lambda s: s[0]):
        if out and out[-1][1] == start and out[-1][2] == label:
            out[-1] = (out[-1][0], end, label)
        else:
            out.append((start, end, label))
    return out


def paint(spans: Sequence[tuple[P, P, T]], start: P, end: P, label: T) -> list[tuple[P, P, T]]:
    """``spans`` with ``[start, end)`` overwritten by ``label`` (spans it cuts are clipped, not moved)."""
    out: list[tuple[P, P, T]] = []
    for s, e, old in spans:
        if e <= start or s >= end:
            out.append((s, e, old))
            continue
        if s < start:
            out.append((s, start, old))
        if e > end:
            out.append((end, e, old))
    out.append((start, end, label))
    return merge(out)


def fill(shift_start: int, shift_end: int, blocks: Iterable[tuple[int, int, int]], filler: int) -> Plan:
    """A shift from ``shift_start`` to ``shift_end``: the given blocks, ``filler`` in every gap."""
    spans: list[tuple[int, int, int]] = [(shift_start, shift_end, filler)]
    for start, end, code in sorted(blocks):
        if not shift_start <= start < end <= shift_end:
            raise ValueError(f"block {start}-{end} is outside the shift {shift_start}-{shift_end}")
        spans = paint(spans, start, end, code)
    return tuple(spans)

