"""Booking in Slack: what its listeners need (``deps``), the form (``form``), the DMs (``notifier``) and
Optimise upcoming (``optimise``). The listeners are in ``handlers/{commands,views,actions}/booking.py``,
registered by ``handlers.app.register_booking``."""

from handlers.booking.deps import BookingHandlerDeps
from handlers.booking.notifier import SlackProgressNotifier

__all__ = ["BookingHandlerDeps", "SlackProgressNotifier"]
