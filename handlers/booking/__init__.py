"""Booking in Slack: ``register(app, deps)`` adds /book-meeting, /book-training, the modal and the queue buttons."""

from handlers.actions.booking import BookingHandlerDeps, register
from handlers.booking.notifier import SlackProgressNotifier

__all__ = ["BookingHandlerDeps", "SlackProgressNotifier", "register"]
