"""Secrets and endpoints from the environment (pydantic-settings). Organisation rules live in BOT_CONFIG."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.config import ConfigError


class Settings(BaseSettings):
    """Each field is read from the environment variable of the same name, upper-cased."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    bot_config: Path | None = Field(default=None, description="TOML file with the organisation's rules")
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "adh"
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

    @property
    def has_genesys(self) -> bool:
        return bool(self.genesys_client_id and self.genesys_client_secret
                    and (self.genesys_region or self.genesys_api_url))

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
        lines = ["invalid environment:"]
        for item in error.errors():
            key = ".".join(str(p) for p in item["loc"]).upper()
            lines.append(f"  {key}: {item['msg']}")
        raise ConfigError("\n".join(lines)) from None
