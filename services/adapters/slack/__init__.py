"""Slack adapters: the chat port (sends the cards ``presentation`` builds), the directory (who is who), and the
console stand-in."""

from services.adapters.slack.chat import SlackChat
from services.adapters.slack.client import RetryPolicy, make_web_client
from services.adapters.slack.console import ConsoleChat
from services.adapters.slack.directory import SlackDirectory
from services.adapters.slack.errors import ChatDeliveryError

__all__ = [
    "ChatDeliveryError",
    "ConsoleChat",
    "RetryPolicy",
    "SlackChat",
    "SlackDirectory",
    "make_web_client",
]
