"""The organisation's rules, read from one TOML file (``BOT_CONFIG``).

Every number has a default; management units may override thresholds, tiers and rules. Durations
are written ``90s``, ``5m``, ``1h``. Validation errors name the key (see :func:`load_org_config`).
"""

from __future__ import annotations

import itertools
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from services.booking.config import BookingConfig, Duration, check_email, check_grid_steps
from services.config_surplus import SurplusConfig as SurplusConfig  # every section type is importable from here
from services.config_surplus import SurplusUnitConfig as SurplusUnitConfig
from services.domain.durations import format_duration
from services.domain.escalation import DEFAULT_POLICY, EscalationPolicy, Tier, TierAction
from services.domain.rules import Impact, Rule, RuleTable, Verdict
from services.domain.states import (
    ActivityCategory,
    normalize_category,
    normalize_presence,
    normalize_routing,
)
from services.domain.storms import StormPolicy

_SLACK_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{8,}$")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{8,}$")


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than 0s")
    return value


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
    #: Every agent is evaluated at least this often; in between a tick evaluates only what changed
    #: (live state, track, exception, a due instant). 0s: every tick is a full sweep.
    full_sweep: Duration = timedelta(minutes=5)
    #: Pushed live states are coalesced per agent and committed together at most this often.
    push_batch: Duration = timedelta(milliseconds=250)
    health_outbox_age: Duration = timedelta(minutes=10)  # /health: oldest undelivered delivery older -> 503
    shutdown_grace: Duration = timedelta(seconds=10)  # SIGTERM: running tick and deliveries get this long

    @field_validator("tick", "clear_after", "ack_timeout", "schedule_refresh", "health_outbox_age", "push_batch")
    @classmethod
    def _longer_than_zero(cls, value: timedelta) -> timedelta:
        return _positive(value)

    @model_validator(mode="after")
    def _stale_after_a_tick(self) -> MonitorConfig:
        if self.stale_after < self.tick:
            raise ValueError(f"stale_after ({format_duration(self.stale_after)}) is shorter than tick "
                             f"({format_duration(self.tick)}): every live state would go stale between two ticks")
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
    """Someone escalations go to, keyed under ``[people]`` by their Genesys user id (or any id the config
    uses consistently, when they are not in Genesys)."""

    name: str
    email: str = ""
    slack_user_id: str | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return check_email(value) if value.strip() else ""

    @field_validator("slack_user_id")
    @classmethod
    def _slack_user(cls, value: str | None) -> str | None:
        if value is not None and not _SLACK_USER.match(value):
            raise ValueError(f"{value!r} is not a Slack user id; use the member id, e.g. U0123ABCD (profile > "
                             "⋮ > Copy member ID), or leave it out to find the user by email")
        return value


class TeamConfig(_Section):
    supervisors: list[str] = []
    slack_channel: str | None = None
    #: A Microsoft Teams Workflows webhook ("When a Teams webhook request is received"): tier 1 and its
    #: updates are also posted there as Adaptive Cards. A secret (anyone holding it can post): never logged.
    teams_webhook: SecretStr | None = None

    @field_validator("teams_webhook")
    @classmethod
    def _webhook(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        url = urlsplit(value.get_secret_value().strip())
        if url.scheme != "https" or not url.netloc:  # the message must not repeat the URL: it is a secret
            raise ValueError("teams_webhook must be an https:// URL (the Workflows webhook URL Teams shows)")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("slack_channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is not None and not _SLACK_CHANNEL.match(value):
            raise ValueError(f"{value!r} is not a Slack channel id; use the channel id, e.g. C0123ABCD (channel "
                             "details > About, at the bottom), not its name")
        return value


#: Reason codes an agent may choose when explaining an alert (``explanation_reasons``); labels in wording.
DEFAULT_EXPLANATION_REASONS = ["system_issue", "customer_follow_up", "coaching", "meeting", "personal", "other"]


def _reason_codes(codes: list[str] | None) -> list[str] | None:
    if codes is None:
        return None
    if not codes:
        raise ValueError("list at least one reason code (or leave explanation_reasons out for the defaults)")
    for code in codes:
        if not re.fullmatch(r"[a-z0-9_]{1,40}", code):
            raise ValueError(f"{code!r} is not a reason code: use lower-case letters, digits and _ (e.g. system_issue)")
    return codes


class UnitConfig(_Section):
    """Per-management-unit overrides; anything left out falls back to the top level."""

    ops_managers: list[str] = []
    explanation_reasons: list[str] | None = None
    clear_after: Duration | None = None
    ack_timeout: Duration | None = None
    tiers: list[TierConfig] | None = None
    rules: list[RuleConfig] = []
    teams: dict[str, TeamConfig] = {}

    @field_validator("clear_after", "ack_timeout")
    @classmethod
    def _longer_than_zero(cls, value: timedelta | None) -> timedelta | None:
        return None if value is None else _positive(value)

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, tiers: list[TierConfig] | None) -> list[TierConfig] | None:
        return None if tiers is None else check_tiers(tiers)

    @field_validator("explanation_reasons")
    @classmethod
    def _reasons(cls, codes: list[str] | None) -> list[str] | None:
        return _reason_codes(codes)


def check_tiers(tiers: list[TierConfig]) -> list[TierConfig]:
    if not tiers:
        raise ValueError("at least one tier is needed (with none, nothing is ever escalated)")
    for index, (before, after) in enumerate(itertools.pairwise(tiers), start=1):
        if after.after == before.after:
            raise ValueError(f"tier {index} has the same after ({format_duration(after.after)}) as tier {index - 1}; "
                             "each tier needs a later `after` (tiers are counted from 0)")
    return tiers


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

    @field_validator("length")
    @classmethod
    def _length(cls, value: timedelta) -> timedelta:
        return check_grid_steps(value, "length")


class RoutingConfig(_Section):
    """Where alerts go when the config does not say (see :mod:`services.routing`)."""

    #: A team with no ``supervisors`` under ``[management_units.<mu>.teams.<team>]`` gets the Genesys
    #: managers of its agents (each user's ``manager`` field) as its supervisors.
    supervisors_from_genesys_manager: bool = False


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class DigestConfig(_Section):
    """The weekly digest to each ops manager (Slack DM and email), at ``day`` ``time`` in the unit's zone."""

    enabled: bool = True
    day: str = "monday"
    time: str = "08:00"

    @field_validator("day")
    @classmethod
    def _day(cls, value: str) -> str:
        if value.strip().lower() not in WEEKDAYS:
            raise ValueError(f"{value!r} is not a weekday; use one of {', '.join(WEEKDAYS)}")
        return value.strip().lower()

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value.strip()):
            raise ValueError(f"{value!r} is not a time of day; write HH:MM, e.g. 08:00")
        return value.strip()


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
    explanation_reasons: list[str] = DEFAULT_EXPLANATION_REASONS
    people: dict[str, PersonConfig] = {}
    management_units: dict[str, UnitConfig] = {}
    storm: StormConfig = StormConfig()
    coaching: CoachingConfig = CoachingConfig()
    routing: RoutingConfig = RoutingConfig()
    simulator: SimulatorConfig = SimulatorConfig()
    booking: BookingConfig = BookingConfig()
    surplus: SurplusConfig = SurplusConfig()
    digest: DigestConfig = DigestConfig()

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, tiers: list[TierConfig]) -> list[TierConfig]:
        return check_tiers(tiers)

    @field_validator("explanation_reasons")
    @classmethod
    def _reasons(cls, codes: list[str]) -> list[str]:
        return _reason_codes(codes) or DEFAULT_EXPLANATION_REASONS

    @model_validator(mode="after")
    def _check(self) -> OrgConfig:
        for mu_id in [None, *self.management_units]:
            self._check_policy(mu_id)
        self.surplus.check_items(self.booking.self_paced)
        self._check_people()
        return self

    def _check_policy(self, mu_id: str | None) -> None:
        """The unit's tiers and rules (its own, else the top level's) make a policy and a rule table."""
        where = f"management_units.{mu_id}." if mu_id else ""
        try:
            self.policy_for(mu_id)
        except ValidationError as error:
            raise ValueError(f"{where}tiers: {error.errors()[0]['msg'].removeprefix('Value error, ')}") from None
        try:
            self.rules_for(mu_id)
        except ValueError as error:
            raise ValueError(f"{where}rules: {error}") from None

    def _check_people(self) -> None:
        """Everyone the units and the booking name is defined under ``[people]``."""
        named = [(f"management_units.{mu_id}", person) for mu_id, unit in self.management_units.items()
                 for person in unit.ops_managers + [s for t in unit.teams.values() for s in t.supervisors]]
        named += [("booking.trainers", person) for person in self.booking.trainers]
        named += [("booking.schedulers", person) for person in self.booking.schedulers]
        for where, person in named:
            if person not in self.people:
                raise ValueError(f"{where}: {person!r} is not defined under [people]")

    def teams_webhooks(self) -> dict[tuple[str, str], SecretStr]:
        """(unit id, team id) -> the team's Microsoft Teams webhook, for the teams that have one."""
        return {(mu_id, team_id): team.teams_webhook for mu_id, unit in self.management_units.items()
                for team_id, team in unit.teams.items() if team.teams_webhook is not None}

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

    def explanation_reasons_for(self, mu_id: str | None) -> list[str]:
        """Reason codes the unit's agents choose from when they explain an alert."""
        own = self.unit(mu_id).explanation_reasons
        return own if own is not None else self.explanation_reasons

    def rules_for(self, mu_id: str | None) -> RuleTable:
        overrides = [r.to_rule() for r in self.unit(mu_id).rules] + [r.to_rule() for r in self.rules]
        return RuleTable.with_overrides(overrides)


class ConfigError(Exception):
    """A bad configuration: the message names the file and the key."""


def _describe(error: ValidationError, source: str) -> str:
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{key}: {message}" if key else message)
    if len(problems) == 1:  # the usual case: one line
        return f"invalid configuration in {source}: {problems[0]}"
    return "\n  ".join([f"invalid configuration in {source}:", *problems])


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
    except IsADirectoryError:
        raise ConfigError(f"BOT_CONFIG points to {path}, which is a directory; name the TOML file") from None
    except (PermissionError, UnicodeDecodeError) as error:
        raise ConfigError(f"BOT_CONFIG {path} cannot be read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    return parse_org_config(data, str(path))

