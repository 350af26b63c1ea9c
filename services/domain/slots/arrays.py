"""The slot search's shared array vocabulary: state codes as plain ints, and how a start's cost is keyed."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from services.domain.slots.model import SlotState

IntArray = NDArray[np.intp]

WORK, BREAK, BUSY, OFF, ABSENT = (int(s) for s in (SlotState.WORK, SlotState.BREAK, SlotState.BUSY,
                                                   SlotState.OFF, SlotState.ABSENT))

MILLI = 1000  # impacts are compared in thousandths of an agent-interval
PREF_SPAN = 1_000_000  # key = impact_milli * PREF_SPAN + preference distance
