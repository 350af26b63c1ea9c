"""Build the Bolt app: one middleware, one error handler, and every listener registered here, by kind.

``bot/`` calls :func:`build_app` and serves the result over Socket Mode or HTTP (``handlers.http``).
A click is followed from its ``action_id`` (``presentation/payloads.py`` and the builders in
``presentation/blocks``) to :func:`register_listeners`, and from there to a module-level function in
``handlers/{commands,events,actions,views}``. What a listener needs reaches it through Bolt's context
(``handlers.context``): it declares ``deps``, ``actors`` or ``booking`` as a parameter.
"""

from __future__ import annotations

import secrets
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers import errors
from handlers.actions import booking as booking_actions
from handlers.actions import card, controls, nudge
from handlers.actions import neutral as neutral_actions
from handlers.actions import optimise as optimise_actions
from handlers.actions import surplus as surplus_actions
from handlers.actor import ActorNames
from handlers.booking.deps import BookingHandlerDeps
from handlers.booking.optimise import ACTION_APPLY, ACTION_DISCARD, Optimiser
from handlers.commands import adherence
from handlers.commands import booking as booking_commands
from handlers.commands.booking import BOOK_MEETING, BOOK_TRAINING
from handlers.context import provide
from handlers.deps import HandlerDeps
from handlers.events import home
from handlers.request_context import bind_request_id
from handlers.surplus import SurplusPort
from handlers.views import booking as booking_views
from handlers.views import incident as incident_views
from handlers.views import neutral as neutral_views
from presentation import payloads as p
from presentation.blocks import booking as b
from presentation.blocks.booking_target import ACTION_TARGET_PREVIEW
from presentation.blocks.surplus import SURPLUS_DECLINE, SURPLUS_START
from presentation.neutral_payloads import NEUTRAL_CANCEL, NEUTRAL_PLAN_MODAL, NEUTRAL_PLAN_OPEN
from services.adapters.slack.client import make_web_client

BOOKING_COMMANDS = (BOOK_MEETING, BOOK_TRAINING)
BOOKING_UNAVAILABLE = "Booking meetings and training isn't set up on this bot yet. Ask the team that runs it."


class AdherenceApp(AsyncApp):
    """An AsyncApp that remembers which commands, events and actions have listeners (checked against the
    manifest and the builders)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.registered_commands: set[str] = set()
        self.registered_events: set[str] = set()
        self.registered_actions: set[str] = set()
        self.registered_shortcuts: set[str] = set()
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

    def action(self, constraints: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(constraints, str):
            self.registered_actions.add(constraints)
        return super().action(constraints, *args, **kwargs)

    def shortcut(self, constraints: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(constraints, str):
            self.registered_shortcuts.add(constraints)
        return super().shortcut(constraints, *args, **kwargs)


def register_listeners(app: AdherenceApp, deps: HandlerDeps) -> None:
    """Every listener of the bot. Listeners reach ``deps`` and ``actors`` through the context."""
    app.use(provide(deps=deps, actors=app.actor_names))
    app.error(errors.on_error)

    app.command(adherence.ADHERENCE)(adherence.adherence)
    app.event(home.APP_HOME_OPENED)(home.app_home_opened)

    # The incident card, the storm card and the agent's nudge DM.
    app.action(p.ACKNOWLEDGE)(card.acknowledge)
    app.action(p.ESCALATE)(card.escalate)
    app.action(p.APPROVE_EXCEPTION)(card.approve_exception)
    app.action(p.MARK_OUTAGE)(card.mark_outage)
    app.action(p.SNOOZE)(controls.snooze)
    app.action(p.UNSNOOZE)(controls.unsnooze)
    app.action(p.UNACKNOWLEDGE)(controls.unacknowledge)
    app.action(p.APPROVE_EXPLANATION)(controls.approve_explanation)
    app.action(p.STORM_ACK_ALL)(controls.acknowledge_all)
    app.action(p.STORM_ESCALATE_ALL)(controls.escalate_all)
    app.action(p.AGENT_ON_MY_WAY)(nudge.on_my_way)
    app.action(p.AGENT_ON_A_CALL)(nudge.on_a_call)
    app.action(p.AGENT_EXPLAIN)(nudge.explain)
    app.view(p.EXCEPTION_MODAL)(incident_views.approve_exception)
    app.view(p.EXPLAIN_MODAL)(incident_views.explain)

    # Neutral windows (the /adherence neutral reply and App Home).
    app.action(NEUTRAL_CANCEL)(neutral_actions.cancel)
    app.action(NEUTRAL_PLAN_OPEN)(neutral_actions.plan_open)
    app.view(NEUTRAL_PLAN_MODAL)(neutral_views.plan)

    if deps.booking is not None:
        register_booking(app, deps.booking)
    for command in BOOKING_COMMANDS:  # without booking the commands say it is not set up
        if command not in app.registered_commands:
            app.command(command)(_booking_unavailable)
    if deps.surplus is not None:
        register_surplus(app, deps.surplus)


def register_surplus(app: AsyncApp, surplus: SurplusPort) -> None:
    """Training in surplus: the agent's answers to an offer; they reach ``surplus`` through the context."""
    app.use(provide(surplus=surplus))
    app.action(SURPLUS_START)(surplus_actions.surplus_start)
    app.action(SURPLUS_DECLINE)(surplus_actions.surplus_decline)


def register_booking(app: AsyncApp, booking: BookingHandlerDeps) -> None:
    """Booking's listeners; they reach ``booking`` through the context."""
    app.use(provide(booking=booking))
    app.command(BOOK_MEETING)(booking_commands.book_meeting)
    app.command(BOOK_TRAINING)(booking_commands.book_training)
    app.view(b.MODAL_CALLBACK)(booking_views.submitted)
    app.action(ACTION_TARGET_PREVIEW)(booking_actions.target_preview)
    app.action(b.ACTION_RETRY)(booking_actions.retry)
    app.action(b.ACTION_RETRY_RELAXED)(booking_actions.retry_relaxed)
    app.action(b.ACTION_CANCEL)(booking_actions.cancel)
    app.action(b.ACTION_HOLD_BOOK)(booking_actions.hold_book)
    app.action(b.ACTION_HOLD_ANOTHER)(booking_actions.hold_another)
    app.action(b.ACTION_HOLD_CANCEL)(booking_actions.hold_cancel)
    app.action(b.ACTION_CHANGE_CANCEL)(booking_actions.change_cancel)
    app.action(b.ACTION_CHANGE_RESCHEDULE)(booking_actions.change_reschedule)
    app.action(b.ACTION_ATTENDED)(booking_actions.mark_attended)
    app.action(b.ACTION_NO_SHOW)(booking_actions.mark_no_show)
    if booking.optimiser is not None:
        register_optimise(app, booking.optimiser)


def register_optimise(app: AsyncApp, optimiser: Optimiser) -> None:
    """Apply / Discard on an "Optimise upcoming" proposal; they reach ``optimiser`` through the context."""
    app.use(provide(optimiser=optimiser))
    app.action(ACTION_APPLY)(optimise_actions.apply_proposal)
    app.action(ACTION_DISCARD)(optimise_actions.discard_proposal)


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
    register_listeners(app, deps)
    return app
