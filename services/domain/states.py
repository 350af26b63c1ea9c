"""The three vocabularies the monitor compares, and the one place Genesys spellings are folded.

Genesys writes the same presence as ``On Queue``, ``ON_QUEUE`` or ``OnQueue`` depending on the API;
adapters call the ``normalize_*`` functions at the edge so the domain only ever sees these enums.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache


class Presence(StrEnum):
    AVAILABLE = "AVAILABLE"
    AWAY = "AWAY"
    BUSY = "BUSY"
    OFFLINE = "OFFLINE"
    IDLE = "IDLE"
    ON_QUEUE = "ON_QUEUE"
    MEAL = "MEAL"
    TRAINING = "TRAINING"
    MEETING = "MEETING"
    BREAK = "BREAK"


class RoutingStatus(StrEnum):
    OFF_QUEUE = "OFF_QUEUE"
    IDLE = "IDLE"
    INTERACTING = "INTERACTING"
    NOT_RESPONDING = "NOT_RESPONDING"
    COMMUNICATING = "COMMUNICATING"
    OFFLINE = "OFFLINE"  # only in WFM adherence topics


class ActivityCategory(StrEnum):
    ON_QUEUE_WORK = "OnQueueWork"
    BREAK = "Break"
    MEAL = "Meal"
    MEETING = "Meeting"
    TRAINING = "Training"
    OFF_QUEUE_WORK = "OffQueueWork"
    TIME_OFF = "TimeOff"
    UNAVAILABLE = "Unavailable"
    UNSCHEDULED = "Unscheduled"


@lru_cache(maxsize=1024)  # a few spellings, folded on every pushed state change: the regex runs once each
def _fold(raw: str) -> str:
    """``On Queue`` / ``ON_QUEUE`` / ``OnQueue`` / ``on-queue`` all fold to ``ONQUEUE``."""
    return re.sub(r"[^A-Z]", "", raw.upper())


_PRESENCE = {_fold(p.value): p for p in Presence}
_ROUTING = {_fold(r.value): r for r in RoutingStatus}
_CATEGORY = {_fold(c.value): c for c in ActivityCategory}
# Aliases seen in the wild (legacy presence definitions, older WFM exports).
_PRESENCE.update({"LUNCH": Presence.MEAL, "INACALL": Presence.BUSY, "DONOTDISTURB": Presence.BUSY})
_CATEGORY.update({"ONQUEUE": ActivityCategory.ON_QUEUE_WORK, "OFFQUEUE": ActivityCategory.OFF_QUEUE_WORK,
                  "LUNCH": ActivityCategory.MEAL})


def normalize_presence(raw: str | None) -> Presence | None:
    """Map any Genesys spelling of a system presence to :class:`Presence`; ``None`` if unrecognised."""
    return _PRESENCE.get(_fold(raw)) if raw else None


def normalize_routing(raw: str | None) -> RoutingStatus | None:
    """Map a routing status to :class:`RoutingStatus`; ``None`` for missing, ``__EMPTY__`` or unknown."""
    return _ROUTING.get(_fold(raw)) if raw else None


def normalize_category(raw: str | None) -> ActivityCategory | None:
    """Map an activity-code category to :class:`ActivityCategory`; ``None`` if unrecognised."""
    return _CATEGORY.get(_fold(raw)) if raw else None
