"""Slack adapters: the chat port (cards), the directory (who is who), and the console stand-in."""

from presentation.cards import CardRenderer, RenderedMessage
from services.adapters.slack.chat import SlackChat
from services.adapters.slack.client import RetryPolicy, make_web_client
from services.adapters.slack.console import ConsoleChat
from services.adapters.slack.directory import SlackDirectory
from services.adapters.slack.errors import ChatDeliveryError

__all__ = [
    "CardRenderer",
    "ChatDeliveryError",
    "ConsoleChat",
    "RenderedMessage",
    "RetryPolicy",
    "SlackChat",
    "SlackDirectory",
    "make_web_client",
]
