"""``[surplus]``: training in surplus (docs/surplus.md), global keys and per-unit overrides.

A section of :class:`services.config.OrgConfig`; it checks its own keys, and the ``activity_types``
it names against ``[booking.self_paced]`` when the whole file is read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.booking.config import Duration


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SurplusUnitConfig(_Section):
    """Training in surplus (docs/surplus.md); per unit under ``[surplus.units.<mu>]``, unset keys inherit."""

    enabled: bool | None = None
    margin: float | None = Field(default=None, ge=0)
    look_ahead: int | None = Field(default=None, ge=0, le=8)
    max_team_share: float | None = Field(default=None, gt=0, le=1)
    activity_types: list[str] | None = None  # ids under [booking.self_paced]; none: all
    quiet_hours: list[str] | None = None  # "HH:MM-HH:MM" local windows with no offers

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: list[str] | None) -> list[str] | None:
        for window in value or ():
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", window):
                raise ValueError(f"{window!r} is not a window like '12:00-13:00'")
        return value


class SurplusConfig(SurplusUnitConfig):
    enabled: bool | None = False
    margin: float | None = Field(default=1.0, ge=0)
    look_ahead: int | None = Field(default=2, ge=0, le=8)
    max_team_share: float | None = Field(default=0.25, gt=0, le=1)
    quiet_hours: list[str] | None = []
    offer_cooldown: Duration = timedelta(minutes=30)  # an agent is offered at most once in this time
    offer_expires: Duration = timedelta(minutes=5)  # an unanswered offer holds its seat this long
    last_hour: Duration = timedelta(hours=1)  # no offers in an agent's last hour of shift
    recall_grace: Duration = timedelta(minutes=2)  # a recalled agent is expected on queue after this
    # The live watch between evaluations (SurplusDesk.watch): a sudden loss is recalled for at once. 0s: off.
    watch_every: Duration = timedelta(seconds=10)
    # Genesys intraday figures (docs/surplus.md): the forecast workload / max_occupancy floors the
    # requirement; an interval predicted below min_service_level (percent; 0: off) has no surplus.
    max_occupancy: float = Field(default=0.85, gt=0, le=1)
    min_service_level: float = Field(default=0.0, ge=0, le=100)
    units: dict[str, SurplusUnitConfig] = {}

    @field_validator("watch_every")
    @classmethod
    def _watch(cls, value: timedelta) -> timedelta:
        if value < timedelta(0) or timedelta(0) < value < timedelta(seconds=1):
            raise ValueError("the watch runs every second at most (or 0s: off)")
        return value

    def for_unit(self, mu_id: str) -> SurplusUnitConfig:
        """This unit's settings, every key filled in from the global ones."""
        unit = self.units.get(mu_id, SurplusUnitConfig())
        merged = {k: getattr(unit, k) if getattr(unit, k) is not None else getattr(self, k)
                  for k in SurplusUnitConfig.model_fields}
        return SurplusUnitConfig(**merged)

    def check_items(self, self_paced: Mapping[str, object]) -> None:
        """Every ``activity_types`` id (global and per unit) names an item under ``[booking.self_paced]``."""
        for item in self.activity_types or ():
            if item not in self_paced:
                raise ValueError(f"surplus.activity_types: no item {item!r} under [booking.self_paced]")
        for mu_id, surplus_unit in self.units.items():
            for item in surplus_unit.activity_types or ():
                if item not in self_paced:
                    raise ValueError(f"surplus.units.{mu_id}.activity_types: no item {item!r} under "
                                     "[booking.self_paced]")
