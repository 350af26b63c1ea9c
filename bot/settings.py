"""Secrets and endpoints from the environment (pydantic-settings). Organisation rules live in BOT_CONFIG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.adapters.genesys.regions import RegionError, resolve_hosts
from services.booking.config import check_email
from services.config import ConfigError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def check_log_level(value: str) -> str:
    """``info`` -> ``INFO``; anything logging does not know is refused, naming the choices."""
    level = value.strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"unknown log level {value!r}; use one of {', '.join(LOG_LEVELS)}")
    return level


class Settings(BaseSettings):
    """Each field is read from the environment variable of the same name, upper-cased."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    bot_config: Path | None = Field(default=None, description="TOML file with the organisation's rules")
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "adh"
    redis_cluster: bool = False  # REDIS_CLUSTER=1 (or a redis+cluster:// URL): use redis-py's RedisCluster
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one object a line (checked by bot.logs.configure_logging)

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str | None = None

    genesys_client_id: str | None = None
    genesys_client_secret: SecretStr | None = None
    genesys_region: str | None = None
    genesys_api_url: str | None = None
    genesys_login_url: str | None = None

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool | None = None  # None: STARTTLS when the server offers it
    smtp_tls: bool = False  # implicit TLS (port 465)
    smtp_from: str = "adherence-bot@localhost"

    graph_tenant_id: str | None = None  # Microsoft Graph room mailboxes (else rooms are booked in Redis)
    graph_client_id: str | None = None
    graph_client_secret: SecretStr | None = None
    graph_url: str = "https://graph.microsoft.com/v1.0"
    graph_login_url: str = "https://login.microsoftonline.com"

    @field_validator("bot_config", mode="before")
    @classmethod
    def _empty_means_defaults(cls, value: Any) -> Any:
        # ``BOT_CONFIG=`` (set but empty) means the built-in defaults, like leaving it unset.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("smtp_from")
    @classmethod
    def _sender(cls, value: str) -> str:
        return check_email(value)

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        return check_log_level(value)

    @model_validator(mode="after")
    def _genesys_complete(self) -> Settings:
        """Half a Genesys configuration is an error, never a silent switch to the simulator."""
        named = {"GENESYS_CLIENT_ID": self.genesys_client_id, "GENESYS_CLIENT_SECRET": self.genesys_client_secret,
                 "GENESYS_REGION": self.genesys_region, "GENESYS_API_URL": self.genesys_api_url,
                 "GENESYS_LOGIN_URL": self.genesys_login_url}
        given = [key for key, value in named.items() if value]
        if not given:
            return self
        missing = [key for key in ("GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET") if not named[key]]
        if missing:
            raise ValueError(f"{' and '.join(given)} set but {' and '.join(missing)} missing: set "
                             f"{'both' if len(missing) == 2 else 'it'} for Genesys Cloud, or unset every "
                             "GENESYS_* variable to use the simulator")
        try:
            resolve_hosts(self.genesys_region, self.genesys_api_url, self.genesys_login_url)
        except RegionError as error:
            raise ValueError(str(error)) from None
        return self

    @property
    def has_genesys(self) -> bool:
        return bool(self.genesys_client_id and self.genesys_client_secret)

    @property
    def has_graph(self) -> bool:
        return bool(self.graph_tenant_id and self.graph_client_id and self.graph_client_secret)

    @property
    def has_slack(self) -> bool:
        return self.slack_bot_token is not None


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        problems = []
        for item in error.errors():
            key = ".".join(str(p) for p in item["loc"]).upper()
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"{key}: {message}" if key else message)
        if len(problems) == 1:  # the usual case: one line
            raise ConfigError(f"invalid environment: {problems[0]}") from None
        raise ConfigError("\n  ".join(["invalid environment:", *problems])) from None
