"""Posts incident cards to each team's Microsoft Teams Workflows webhook (``teams_webhook`` in the config).

The webhook URL carries its own credential, so it is never logged nor put in an error message: they
name the unit and team instead. A 429 or 5xx, a timeout or a refused connection is retryable (the
outbox retries with backoff); another 4xx is not (a deleted or wrong workflow).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping

import aiohttp
from pydantic import SecretStr

from presentation.teams import adaptive_card, envelope
from services.domain.escalation import EventKind, IncidentEvent, TierAction
from services.ports import DeliveryError, IncidentView

log = logging.getLogger(__name__)


class TeamsDeliveryError(DeliveryError):
    """The card did not reach Teams; the message names the team, never the webhook URL."""


class TeamsWebhookChat:
    def __init__(self, webhooks: Mapping[tuple[str, str], SecretStr], *, timeout: float = 10.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.webhooks = dict(webhooks)
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.ssl_context = ssl_context  # None: the system's CAs (tests pass their own)

    def covers(self, mu_id: str, team_id: str) -> bool:
        return (mu_id, team_id) in self.webhooks

    async def post_incident(self, view: IncidentView, event: IncidentEvent) -> None:
        incident = view.incident
        url = self.webhooks.get((incident.mu_id, incident.team_id))
        if url is None:
            return
        first = (event.kind is EventKind.TIER_FIRED and event.tier is not None
                 and event.tier.action is TierAction.CHAT_CARD)
        body = envelope(adaptive_card(view, event, first=first))
        where = f"team {incident.team_id} of {incident.mu_id}"
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as session, session.post(
                    url.get_secret_value(), json=body, ssl=self.ssl_context or True) as response:
                status = response.status
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise TeamsDeliveryError(f"Teams webhook of {where} unreachable ({type(error).__name__})") from None
        if status == 429 or status >= 500:
            raise TeamsDeliveryError(f"Teams webhook of {where} answered {status}; retrying")
        if status >= 400:
            raise TeamsDeliveryError(f"Teams webhook of {where} refused the card ({status}); check the workflow "
                                     "and its URL in teams_webhook", retryable=False)
        log.info("Teams card for %s posted to %s (%s)", incident.id, where, "tier 1" if first else event.kind.value)
