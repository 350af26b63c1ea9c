"""Email adapters: the tier-2 escalation email over SMTP, or printed to the console."""

from services.adapters.email.mailer import ConsoleMailer, EmailDeliveryError, SmtpMailer, SmtpSettings

__all__ = ["ConsoleMailer", "EmailDeliveryError", "SmtpMailer", "SmtpSettings"]
