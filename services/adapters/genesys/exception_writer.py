"""``ExceptionWriter`` for Genesys: an exception approved in Slack goes back to WFM as an approved
adherence explanation, once per approval (the route and the lookup are in ``explanations.py``)."""

from __future__ import annotations

from services.adapters.genesys.source import GenesysSource
from services.domain.model import ExceptionWindow


class GenesysExceptionWriter:
    """Writes an exception approved in Slack back to Genesys as an approved adherence explanation."""

    def __init__(self, source: GenesysSource) -> None:
        self.source = source

    async def record_exception(self, mu_id: str, window: ExceptionWindow, *, ref: str) -> None:
        # ``ref`` ends the notes ("... [adherence-bot ref: mu-a.agent-1.1716012345]"): a retry looks for it first.
        await self.source.approve_exception(window.agent_id, window.start, window.end,
                                            f"Approved in Slack by {window.approved_by}: {window.reason}", ref=ref)
