"""One place that turns a refused or failed action into what the user reads (always ephemeral)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.response import BoltResponse

from presentation.blocks.replies import GENERIC_FAILURE, already, refusal
from presentation.payloads import BadPayload
from services.domain.escalation import AlreadyDone, EscalationError
from services.domain.neutral import NeutralInputError
from services.incident_actions import IncidentNotFound, NotAllowed

log = logging.getLogger(__name__)

EXPECTED = (EscalationError, NotAllowed, IncidentNotFound, BadPayload, NeutralInputError)


def user_message(error: BaseException) -> str | None:
    """The text for an expected refusal; None for a bug or an outage (those are logged)."""
    if isinstance(error, BadPayload):
        return refusal("that button is out of date or not from this bot")
    if isinstance(error, AlreadyDone) and error.done is not None:
        return already(error.done)
    if isinstance(error, EXPECTED):
        return refusal(str(error) or type(error).__name__)
    return None


async def handle_error(error: Exception, body: Mapping[str, Any], respond: AsyncRespond | None,
                       response: BoltResponse | None = None) -> BoltResponse | None:
    """Answer the user; for an expected refusal (already acked) also keep Slack's HTTP answer a 200."""
    text = user_message(error)
    if text is None:
        log.error("listener failed: %s", type(error).__name__, exc_info=error)
        text = GENERIC_FAILURE
    else:
        log.info("refused: %s", error)
    if respond is not None and body.get("response_url"):
        try:
            await respond(text=text, response_type="ephemeral", replace_original=False)
        except Exception:
            log.warning("could not tell the user about an error", exc_info=True)
    # Bolt only lets an error handler replace a response it was given (i.e. before the HTTP answer).
    if response is not None and user_message(error) is not None:
        return BoltResponse(status=200, body="")
    return None


@asynccontextmanager
async def answering_errors(body: Mapping[str, Any], respond: AsyncRespond | None) -> AsyncIterator[None]:
    """Wrap a listener's work after ``ack()``: any failure is answered here and not re-raised.

    Bolt (1.30) loses the ack of a listener that raises right after acking: its error path resets the
    ack before the dispatcher has seen it, so Slack would report a timeout on top of our refusal.
    """
    try:
        yield
    except Exception as error:
        await handle_error(error, body, respond)


async def on_error(error: Exception, body: dict[str, Any], respond: AsyncRespond | None,
                   response: BoltResponse | None) -> BoltResponse | None:
    """Errors nothing else caught (middleware, view submissions) still get the same treatment."""
    return await handle_error(error, body, respond, response)
