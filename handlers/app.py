"""Build the Bolt app: every listener registered by kind, one error handler, optional booking.

``bot/`` calls :func:`build_app` and serves the result over Socket Mode or HTTP (``handlers.http``).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers import errors
from handlers.actions import card as card_actions
from handlers.actions import neutral as neutral_actions
from handlers.actor import ActorNames
from handlers.booking import BookingHandlerDeps
from handlers.booking import register as register_booking
from handlers.commands import adherence as adherence_commands
from handlers.deps import HandlerDeps
from handlers.events import home as home_events
from handlers.request_context import bind_request_id
from handlers.surplus import register as register_surplus
from handlers.views import incident as incident_views
from handlers.views import neutral as neutral_views
from services.adapters.slack.client import make_web_client

log = logging.getLogger(__name__)

BOOKING_COMMANDS = ("/book-meeting", "/book-training")
BOOKING_UNAVAILABLE = "Booking meetings and training isn't set up on this bot yet. Ask the team that runs it."


class AdherenceApp(AsyncApp):
    """An AsyncApp that remembers which commands and events have listeners (checked against the manifest)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.registered_commands: set[str] = set()
        self.registered_events: set[str] = set()
        self.actor_names = ActorNames()

    def command(self, command: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(command, str):
            self.registered_commands.add(command)
        return super().command(command, *args, **kwargs)

    def event(self, event: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(event, str):
            self.registered_events.add(event)
        elif isinstance(event, dict) and isinstance(event.get("type"), str):
            self.registered_events.add(event["type"])
        return super().event(event, *args, **kwargs)


def _register_booking(app: AdherenceApp, booking: BookingHandlerDeps | None) -> None:
    """Booking listeners when booking is wired; otherwise the commands answer that it is not set up."""
    if booking is not None:
        register_booking(app, booking)
    for command in BOOKING_COMMANDS:
        if command not in app.registered_commands:
            app.command(command)(_booking_unavailable)


async def _booking_unavailable(ack: AsyncAck, respond: AsyncRespond) -> None:
    await ack()
    await respond(text=BOOKING_UNAVAILABLE, response_type="ephemeral")


def build_app(deps: HandlerDeps, *, signing_secret: str | None, token: str | None,
              client: AsyncWebClient | None = None, api_url: str | None = None,
              process_before_response: bool = False) -> AdherenceApp:
    """The Slack app. ``signing_secret`` is needed for HTTP mode only; without one, every HTTP request is
    refused (a random secret nobody knows), while Socket Mode, which Slack authenticates, still works."""
    web_client = client or make_web_client(token, base_url=api_url)
    app = AdherenceApp(
        name="adherence-bot",
        client=web_client,
        signing_secret=signing_secret or secrets.token_hex(32),
        process_before_response=process_before_response,
    )
    app.use(bind_request_id)  # first: every listener's log lines carry the request's id
    errors.register(app)
    card_actions.register(app, deps, app.actor_names)
    incident_views.register(app, deps, app.actor_names)
    adherence_commands.register(app, deps)
    home_events.register(app, deps)
    neutral_actions.register(app, deps, app.actor_names)
    neutral_views.register(app, deps, app.actor_names)
    _register_booking(app, deps.booking)
    if deps.surplus is not None:
        register_surplus(app, deps.surplus)
    return app
