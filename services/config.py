"""The organisation's rules, read from one TOML file (``BOT_CONFIG``).

Every number has a default; management units may override thresholds, tiers and rules. Durations
are written ``90s``, ``5m``, ``1h``. Validation errors name the key (see :func:`load_org_config`).
"""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from services.booking.config import BookingConfig
from services.domain.durations import parse_duration
from services.domain.escalation import DEFAULT_POLICY, EscalationPolicy, Tier, TierAction
from services.domain.rules import Impact, Rule, RuleTable, Verdict
from services.domain.states import (
    ActivityCategory,
    normalize_category,
    normalize_presence,
    normalize_routing,
)
from services.domain.storms import StormPolicy


def _duration(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MonitorConfig(_Section):
    tick: Duration = timedelta(seconds=15)
    schedule_refresh: Duration = timedelta(minutes=15)
    stale_after: Duration = timedelta(minutes=10)
    exception_lookback: Duration = timedelta(minutes=15)
    clear_after: Duration = timedelta(seconds=60)
    ack_timeout: Duration = timedelta(minutes=15)
    max_concurrent_units: int = Field(default=8, ge=1)
    health_outbox_age: Duration = timedelta(minutes=10)  # /health: oldest undelivered delivery older -> 503
    shutdown_grace: Duration = timedelta(seconds=10)  # SIGTERM: running tick and deliveries get this long

    @model_validator(mode="after")
    def _positive(self) -> MonitorConfig:
        if self.tick <= timedelta(0):
            raise ValueError("tick must be longer than 0s")
        return self


class TierConfig(_Section):
    after: Duration
    action: TierAction


class RuleConfig(_Section):
    """One rule-table override; omitted or ``["*"]`` lists match anything."""

    category: str | None = None
    presence: list[str] | None = None
    routing: list[str] | None = None
    verdict: Verdict
    impact: Impact = Impact.NEUTRAL

    def to_rule(self) -> Rule:
        category = None
        if self.category not in (None, "*"):
            category = normalize_category(self.category)
            if category is None:
                raise ValueError(f"unknown activity category {self.category!r}; use one of "
                                 + ", ".join(c.value for c in ActivityCategory))
        return Rule(category, _enum_set(self.presence, normalize_presence, "presence"),
                    _enum_set(self.routing, normalize_routing, "routing status"), self.verdict, self.impact)


def _enum_set(values: list[str] | None, normalize: Any, what: str) -> frozenset[Any] | None:
    if values is None or "*" in values:
        return None
    out = set()
    for raw in values:
        value = normalize(raw)
        if value is None:
            raise ValueError(f"unknown {what} {raw!r}")
        out.add(value)
    return frozenset(out)


class PersonConfig(_Section):
    name: str
    email: str = ""
    slack_user_id: str | None = None


class TeamConfig(_Section):
    supervisors: list[str] = []
    slack_channel: str | None = None


class UnitConfig(_Section):
    """Per-management-unit overrides; anything left out falls back to the top level."""

    ops_managers: list[str] = []
    clear_after: Duration | None = None
    ack_timeout: Duration | None = None
    tiers: list[TierConfig] | None = None
    rules: list[RuleConfig] = []
    teams: dict[str, TeamConfig] = {}


class StormConfig(_Section):
    """Group an outage: more than ``share`` of a team out within ``window`` -> one card per team."""

    enabled: bool = True
    share: float = Field(default=0.5, gt=0, le=1)
    min_agents: int = Field(default=3, ge=2)
    window: Duration = timedelta(minutes=1)

    def to_policy(self) -> StormPolicy | None:
        return StormPolicy(self.share, self.min_agents, self.window) if self.enabled else None


class CoachingConfig(_Section):
    name: str = "Adherence coaching"
    length: Duration = timedelta(minutes=15)
    lead_time: Duration = timedelta(hours=24)


class SimulatorConfig(_Section):
    seed: int = 7
    management_units: int = Field(default=2, ge=1)
    teams_per_unit: int = Field(default=2, ge=1)
    agents_per_team: int = Field(default=6, ge=1)
    start: str = "07:45"  # simulated clock starts here (UTC) on the first day


class OrgConfig(_Section):
    monitor: MonitorConfig = MonitorConfig()
    tiers: list[TierConfig] = [TierConfig(after=t.after, action=t.action) for t in DEFAULT_POLICY.tiers]
    rules: list[RuleConfig] = []
    people: dict[str, PersonConfig] = {}
    management_units: dict[str, UnitConfig] = {}
    storm: StormConfig = StormConfig()
    coaching: CoachingConfig = CoachingConfig()
    simulator: SimulatorConfig = SimulatorConfig()
    booking: BookingConfig = BookingConfig()

    @model_validator(mode="after")
    def _check(self) -> OrgConfig:
        for mu_id in [None, *self.management_units]:
            where = f"management_units.{mu_id}." if mu_id else ""
            try:
                self.policy_for(mu_id)
            except ValidationError as error:
                raise ValueError(f"{where}tiers: {error.errors()[0]['msg'].removeprefix('Value error, ')}") from None
            try:
                self.rules_for(mu_id)
            except ValueError as error:
                raise ValueError(f"{where}rules: {error}") from None
        known = set(self.people)
        for mu_id, unit in self.management_units.items():
            for person in unit.ops_managers + [s for t in unit.teams.values() for s in t.supervisors]:
                if person not in known:
                    raise ValueError(f"management_units.{mu_id}: {person!r} is not defined under [people]")
        return self

    def unit(self, mu_id: str | None) -> UnitConfig:
        return self.management_units.get(mu_id or "", UnitConfig())

    def policy_for(self, mu_id: str | None) -> EscalationPolicy:
        unit = self.unit(mu_id)
        tiers = unit.tiers if unit.tiers is not None else self.tiers
        return EscalationPolicy(
            tiers=tuple(Tier(after=t.after, action=t.action) for t in tiers),
            ack_timeout=unit.ack_timeout or self.monitor.ack_timeout,
            clear_after=unit.clear_after or self.monitor.clear_after,
        )

    def rules_for(self, mu_id: str | None) -> RuleTable:
        overrides = [r.to_rule() for r in self.unit(mu_id).rules] + [r.to_rule() for r in self.rules]
        return RuleTable.with_overrides(overrides)


class ConfigError(Exception):
    """A bad configuration: the message names the file and the key."""


def _describe(error: ValidationError, source: str) -> str:
    lines = [f"invalid configuration in {source}:"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"  {key}: {message}" if key else f"  {message}")
    return "\n".join(lines)


def parse_org_config(data: dict[str, Any], source: str = "<config>") -> OrgConfig:
    try:
        return OrgConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_describe(error, source)) from None


def load_org_config(path: Path | None) -> OrgConfig:
    """Load ``path`` (or the built-in defaults when ``None``)."""
    if path is None:
        return OrgConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"BOT_CONFIG points to {path}, which does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    return parse_org_config(data, str(path))


ActionName = Literal["chat_card", "email", "coaching"]
