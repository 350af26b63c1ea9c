"""Incidents and their escalation (moved into a package; the next commit splits incident.py by job)."""

from services.domain.escalation.incident import *  # noqa: F403
