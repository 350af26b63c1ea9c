"""The port for what the WFM and the queues add to the surplus requirement (``FloorReading``).

``services/adapters/genesys/intraday.py`` implements it for Genesys; without Genesys (the simulator)
the desk has none and measures on the staffing requirement and live states alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from services.domain.surplus_signals import FloorReading


class FloorSignals(Protocol):
    async def read(self, mu_id: str, start: datetime, intervals: int) -> FloorReading:
        """Intraday figures for ``intervals`` intervals from ``start`` and the contacts waiting now.

        Never raises for a figure it cannot read: it is left ``None`` with a note."""
        ...
