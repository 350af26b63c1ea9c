"""What the listeners need, put into Bolt's context by one middleware.

Bolt passes each context key to the listener parameter of the same name, so a module-level listener
declares ``deps: HandlerDeps`` (or ``actors``, ``booking``, ``surplus``, ``optimiser``) next to ``ack``
and ``body``: no closures over the dependencies, and a reader goes from ``handlers/app.py`` straight
to the function.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext

Next = Callable[[], Awaitable[None]]
Middleware = Callable[[AsyncBoltContext, Next], Awaitable[None]]


def provide(**values: Any) -> Middleware:
    """A global middleware (``app.use``) that adds ``values`` to every request's context."""

    async def put_into_context(context: AsyncBoltContext, next: Next) -> None:
        context.update(values)
        await next()

    return put_into_context
