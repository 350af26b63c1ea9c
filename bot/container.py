"""The composition root's shared pieces: configuration and the adapters every command wires."""

from __future__ import annotations

from bot.settings import Settings
from services.config import OrgConfig, load_org_config


def load_config(settings: Settings) -> OrgConfig:
    return load_org_config(settings.bot_config)
