"""Where a Genesys Cloud org lives: region name -> API host, and the login host derived from it."""

from __future__ import annotations

from urllib.parse import urlsplit

#: Region -> API host, as in the Genesys platform SDKs (``purecloud_region_hosts``).
REGION_API_HOSTS: dict[str, str] = {
    "us_east_1": "api.mypurecloud.com",
    "eu_west_1": "api.mypurecloud.ie",
    "ap_southeast_2": "api.mypurecloud.com.au",
    "ap_northeast_1": "api.mypurecloud.jp",
    "eu_central_1": "api.mypurecloud.de",
    "us_west_2": "api.usw2.pure.cloud",
    "ca_central_1": "api.cac1.pure.cloud",
    "ap_northeast_2": "api.apne2.pure.cloud",
    "eu_west_2": "api.euw2.pure.cloud",
    "ap_south_1": "api.aps1.pure.cloud",
    "us_east_2": "api.use2.us-gov-pure.cloud",
    "sa_east_1": "api.sae1.pure.cloud",
    "me_central_1": "api.mec1.pure.cloud",
    "ap_northeast_3": "api.apne3.pure.cloud",
    "eu_central_2": "api.euc2.pure.cloud",
    "mx_central_1": "api.mxc1.pure.cloud",
    "ap_southeast_1": "api.apse1.pure.cloud",
}


class RegionError(ValueError):
    """The Genesys endpoint settings do not name a usable host."""


def login_url_for(api_url: str) -> str:
    """The SDK rule: the login host is the API host with ``//api.`` replaced by ``//login.``."""
    if "//api." not in api_url:
        raise RegionError(f"cannot derive the login host from {api_url!r}; set GENESYS_LOGIN_URL as well")
    return api_url.replace("//api.", "//login.", 1)


def _check_url(name: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RegionError(f"{name} must be an http(s) URL like https://api.mypurecloud.com, got {url!r}")
    return url.rstrip("/")


def resolve_hosts(region: str | None = None, api_url: str | None = None,
                  login_url: str | None = None) -> tuple[str, str]:
    """Return ``(api_url, login_url)`` from a region name or explicit URLs (explicit URLs win).

    ``region`` may be a region key (``eu_west_1``, ``eu-west-1``) or an environment domain
    (``mypurecloud.ie``).
    """
    if api_url:
        api = _check_url("GENESYS_API_URL", api_url)
        login = _check_url("GENESYS_LOGIN_URL", login_url) if login_url else login_url_for(api)
        return api, login
    if login_url:
        raise RegionError("GENESYS_LOGIN_URL is set without GENESYS_API_URL; set both, or GENESYS_REGION")
    if not region:
        raise RegionError("set GENESYS_REGION (e.g. eu_west_1) or GENESYS_API_URL + GENESYS_LOGIN_URL")
    key = region.strip().lower().replace("-", "_")
    if key in REGION_API_HOSTS:
        host = REGION_API_HOSTS[key]
    elif "." in key:
        host = key if key.startswith("api.") else f"api.{key}"
    else:
        raise RegionError(f"unknown GENESYS_REGION {region!r}; use one of {', '.join(REGION_API_HOSTS)} "
                          "or an environment domain such as mypurecloud.ie")
    return f"https://{host}", f"https://{host.replace('api.', 'login.', 1)}"
