"""What the WFM and the queues add to the surplus requirement: pure rules, no I/O.

Where Genesys is configured the desk also reads, per unit, the business unit's intraday figures
(``POST .../businessunits/{buId}/intraday``) and the contacts waiting in the unit's queues now
(``POST /api/v2/analytics/queues/observations/query``). Either may be missing (not configured, no
permission, no data): the surplus is then measured on the staffing requirement and live states
alone. The rules, in the order they apply (docs/surplus.md "Intraday and waiting contacts"):

1. **Workload floor.** Per interval, the intraday forecast's offered contacts times their handle
   time is the work the unit must absorb; ``workload / max_occupancy`` agents is a floor under the
   requirement (``required = max(requirement, floor)``). The intraday forecast is the one Genesys
   re-forecasts from the day's actual volumes, so a day busier than planned raises the requirement
   before it shows in the live states.
2. **Predicted service level.** An interval whose predicted service level (the performance
   prediction) is below ``min_service_level`` has no surplus: the WFM already expects that interval
   to miss its goal with the staff it has.
3. **Waiting contacts.** Contacts waiting in the unit's queues now, beyond the idle agents of
   those queues (Genesys' ``oOnQueueUsers`` IDLE: they are about to be routed), raise this
   interval's requirement by that many agents, so trainees are recalled for them; any waiting
   contact vetoes new offers (``SurplusFigures.waiting``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

INTERVAL_SECONDS = 900.0


@dataclass(frozen=True, slots=True)
class IntradayInterval:
    """One 15-minute interval of the intraday figures for the unit (its share of its planning groups)."""

    offered: float | None = None  # forecast contacts offered (intraday re-forecast)
    handle_seconds: float | None = None  # forecast average handle time
    scheduled_seconds: float | None = None  # on-queue time scheduled
    service_level: float | None = None  # predicted service level, percent

    @property
    def workload_agents(self) -> float | None:
        """Agents the forecast work keeps fully busy (offered x handle time / interval)."""
        if self.offered is None or self.handle_seconds is None:
            return None
        return self.offered * self.handle_seconds / INTERVAL_SECONDS


@dataclass(frozen=True, slots=True)
class FloorReading:
    """What the WFM and the queues say about a unit now; ``None`` fields were not read."""

    intraday: tuple[IntradayInterval | None, ...] = ()  # this interval and the look-ahead
    waiting: int | None = None  # contacts waiting in the unit's queues now
    idle_on_queue: int | None = None  # idle on-queue members of those queues (Genesys' own count)
    notes: tuple[str, ...] = field(default=())  # why a figure is missing, for /adherence surplus


@dataclass(frozen=True, slots=True)
class Refined:
    required: tuple[float, ...]
    vetoed: tuple[int, ...]  # intervals with no surplus whatever the staff (rule 2)
    why: tuple[str, ...]  # one line per rule that changed something


def refine(required: Sequence[float], reading: FloorReading, *, max_occupancy: float,
           min_service_level: float) -> Refined:
    """The requirement per interval after rules 1-3 (module docstring); ``required`` is the forecast's."""
    out = [float(r) for r in required]
    vetoed: list[int] = []
    why: list[str] = []
    for i, figures in enumerate(reading.intraday[:len(out)]):
        if figures is None:
            continue
        load = figures.workload_agents
        if load is not None and max_occupancy > 0:
            floor = load / max_occupancy
            if floor > out[i] + 1e-9:
                why.append(f"interval {i}: intraday workload {load:.1f} agents / {max_occupancy:.0%} occupancy "
                           f"= {floor:.1f} > requirement {out[i]:.1f}")
                out[i] = floor
        if figures.service_level is not None and figures.service_level < min_service_level:
            vetoed.append(i)
            why.append(f"interval {i}: predicted service level {figures.service_level:.0f}% "
                       f"< {min_service_level:.0f}%")
    excess = (reading.waiting or 0) - (reading.idle_on_queue or 0)
    if excess > 0 and out:
        out[0] += excess
        why.append(f"{reading.waiting} contact(s) waiting now, {reading.idle_on_queue or 0} idle on those queues")
    return Refined(tuple(out), tuple(vetoed), tuple(why))
