"""The one error the chat adapters raise when a delivery could not be made."""

from __future__ import annotations

from services.ports import DeliveryError


class ChatDeliveryError(DeliveryError):
    """Slack refused or could not be reached after the client's own retries.

    ``retryable`` is False when trying again cannot help (unknown channel, revoked token, nobody to
    send to); the outbox may then give up early instead of backing off.
    """

    def __init__(self, message: str, *, retryable: bool = True, slack_error: str | None = None) -> None:
        super().__init__(message, retryable=retryable)
        self.slack_error = slack_error


#: Slack ``error`` codes after which retrying the same call is pointless.
PERMANENT_ERRORS = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "not_authed", "account_inactive",
    "token_revoked", "token_expired", "missing_scope", "no_permission", "message_not_found",
    "cant_update_message", "invalid_blocks", "invalid_blocks_format", "msg_too_long", "msg_blocks_too_long",
    "user_not_found", "users_not_found", "cannot_dm_bot", "user_disabled", "restricted_action",
})
