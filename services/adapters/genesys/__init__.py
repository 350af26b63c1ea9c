"""Genesys Cloud adapter: WFM structure and schedules over REST, live states over the Notification
WebSocket, coaching appointments, adherence explanations. Build it with
:meth:`GenesysSource.from_settings`; see docs/genesys.md."""

from services.adapters.genesys.auth import ClientCredentialsAuth
from services.adapters.genesys.client import ClientOptions, GenesysClient
from services.adapters.genesys.coaching import GenesysCoaching
from services.adapters.genesys.errors import (
    GenesysAuthError,
    GenesysBadRequest,
    GenesysError,
    GenesysForbidden,
    GenesysMalformed,
    GenesysNotFound,
    GenesysRateLimited,
    GenesysUnavailable,
)
from services.adapters.genesys.notifications import HubOptions
from services.adapters.genesys.regions import REGION_API_HOSTS, RegionError, resolve_hosts
from services.adapters.genesys.source import GenesysSource, SourceOptions

__all__ = [
    "REGION_API_HOSTS",
    "ClientCredentialsAuth",
    "ClientOptions",
    "GenesysAuthError",
    "GenesysBadRequest",
    "GenesysClient",
    "GenesysCoaching",
    "GenesysError",
    "GenesysForbidden",
    "GenesysMalformed",
    "GenesysNotFound",
    "GenesysRateLimited",
    "GenesysSource",
    "GenesysUnavailable",
    "HubOptions",
    "RegionError",
    "SourceOptions",
    "resolve_hosts",
]
