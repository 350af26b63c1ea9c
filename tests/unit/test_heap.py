"""Freezing the long-lived heap: what is alive is frozen, what comes later is still collected."""

from __future__ import annotations

import gc
import weakref

from services.heap import freeze_long_lived


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_live_objects_are_frozen_and_later_cycles_are_still_collected() -> None:
    kept = Node()
    try:
        frozen = freeze_long_lived()
        assert frozen == gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())  # frozen: out of every generation the collector walks
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle made after the freeze: only the collector can free it
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()  # the rest of the test session collects as usual
