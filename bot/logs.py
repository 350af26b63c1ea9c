"""Logging for the process: text (default) or one JSON object a line (``LOG_FORMAT=json``).

Either way every line carries the ids of what it is about (:mod:`services.log_context`) and no
configured secret: the formatter replaces each secret value with ``[redacted]`` in the finished
line, whatever logged it (our code, a library, a traceback).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

from services.config import ConfigError
from services.log_context import FIELDS, ContextFilter

FORMATS = ("text", "json")
REDACTED = "[redacted]"
HANDLER_NAME = "adherence-bot"
#: Shorter values are not secrets worth hunting for and would blank out ordinary words.
MIN_SECRET_LENGTH = 6
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s%(ids)s"


class Redactor:
    def __init__(self, secrets: Iterable[str]) -> None:
        values = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
        # Also the JSON-escaped form, in case a secret holds a quote or a backslash.
        values |= {json.dumps(s)[1:-1] for s in values}
        self.secrets = sorted(values, key=len, reverse=True)  # longest first: no partial leftovers

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", <ids that are set>, "exc"?}`` on one line."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return self.redact(json.dumps(line, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__(TEXT_FORMAT)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        ids = [f"{name}={value}" for name in FIELDS if (value := getattr(record, name, None)) is not None]
        record.ids = f" [{' '.join(ids)}]" if ids else ""
        return self.redact(super().format(record))


def configure_logging(level: str, fmt: str = "text", secrets: Iterable[str] = (),
                      stream: TextIO | None = None) -> logging.Handler:
    """Give the root logger one handler writing ``fmt`` to ``stream`` (stderr), replacing the one a
    previous call installed and Python's default one; handlers someone else added (a test runner's) stay."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ConfigError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if not isinstance(logging.getLevelNamesMapping().get(level.upper()), int):
        raise ConfigError(f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not {level!r}")
    redact = Redactor(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(redact) if fmt == "json" else TextFormatter(redact))
    handler.addFilter(ContextFilter())
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == HANDLER_NAME or type(old) is logging.StreamHandler:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)
    return handler


def config_secret_values(settings: object) -> list[str]:
    """Secrets in BOT_CONFIG (the teams' Microsoft Teams webhook URLs); none when it cannot be read (the
    command that loads it reports why)."""
    from services.config import load_org_config

    path = getattr(settings, "bot_config", None)
    try:
        config = load_org_config(path)
    except ConfigError:
        return []
    return [url.get_secret_value() for url in config.teams_webhooks().values()]


def secret_values(settings: object) -> list[str]:
    """Every configured secret: the ``SecretStr`` settings, and a password inside ``REDIS_URL``."""
    values = [v.get_secret_value() for v in vars(settings).values() if isinstance(v, SecretStr)]
    redis_url = getattr(settings, "redis_url", None)
    if isinstance(redis_url, str):
        password = urlsplit(redis_url).password
        if password:
            values.append(unquote(password))
    return values
