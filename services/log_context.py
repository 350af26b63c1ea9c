"""The ids a log line is about (unit, agent, incident, Slack request), carried in context variables.

Set where the work starts (a unit's tick, a delivery, a Slack request); every log record made in
that task (and the tasks it starts) then carries them, without passing them through each call.
:class:`ContextFilter` copies them onto the record, where the JSON formatter picks them up.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

from services.domain.escalation import Incident

FIELDS = ("mu_id", "agent_id", "incident_id", "request_id")
_vars: dict[str, ContextVar[str | None]] = {name: ContextVar(name, default=None) for name in FIELDS}

P = ParamSpec("P")
R = TypeVar("R")


def current() -> dict[str, str]:
    """The ids set now (unset ones left out)."""
    return {name: value for name, var in _vars.items() if (value := var.get()) is not None}


def focus(**ids: str | None) -> None:
    """Set these ids for the rest of the current task; the other three of the four are cleared,
    except ``request_id``, which stays (a delivery made while answering a click belongs to it)."""
    unknown = set(ids) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown log context field(s): {', '.join(sorted(unknown))}")
    for name, var in _vars.items():
        if name in ids:
            var.set(ids[name])
        elif name != "request_id":
            var.set(None)


def focus_incident(incident: Incident) -> None:
    focus(mu_id=incident.mu_id, agent_id=incident.agent_id, incident_id=incident.id)


@contextmanager
def bound(**ids: str | None) -> Iterator[None]:
    """The ids for the duration of a ``with`` block, then what was there before."""
    saved = {name: var.get() for name, var in _vars.items()}
    focus(**{**{k: v for k, v in saved.items() if k == "request_id"}, **ids})
    try:
        yield
    finally:
        for name, value in saved.items():
            _vars[name].set(value)


def isolated(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Decorate a coroutine function whose ids must not outlive its call (it focuses as it goes)."""

    @functools.wraps(fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with bound():
            return await fn(*args, **kwargs)

    return run


class ContextFilter(logging.Filter):
    """Puts the current ids on every record (``record.mu_id`` ...; None when not set)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _vars.items():
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        return True
