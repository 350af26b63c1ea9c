"""Keep the garbage collector off the long-lived heap.

After start (rosters, schedules, the first tick's tracks) the process holds hundreds of thousands of
objects that live as long as it does. CPython's full collections walk every one of them, and under a
push load of thousands of events a second (each allocating a few dozen objects) those walks took
about a fifth of the CPU (``bench/genesys_events.py --path monitor``). ``gc.freeze`` moves what is
alive now to a permanent generation that collections skip; objects created later are collected as
before, and frozen ones are still freed by reference counting when dropped.
"""

from __future__ import annotations

import gc


def freeze_long_lived() -> int:
    """Collect once, then freeze every surviving object; returns how many are frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
