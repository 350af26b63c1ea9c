"""In-memory Optimise upcoming store (the ``OptimiseStore`` port of :mod:`services.booking.optimise`)."""

from __future__ import annotations

from services.booking.model import Plan
from services.booking.optimise import Decision, Proposal, Revised


class MemoryOptimiseStore:
    """In-process proposals and revisions; the first decision on a proposal wins."""

    def __init__(self) -> None:
        self.proposals: dict[str, Proposal] = {}
        self.decisions: dict[str, Decision] = {}
        self.revisions: dict[str, tuple[int, Plan]] = {}

    async def save(self, proposal: Proposal) -> None:
        self.proposals[proposal.id] = proposal

    async def get(self, proposal_id: str) -> Proposal | None:
        return self.proposals.get(proposal_id)

    async def claim(self, decision: Decision) -> bool:
        if decision.proposal_id in self.decisions:
            return False
        self.decisions[decision.proposal_id] = decision
        return True

    async def decision(self, proposal_id: str) -> Decision | None:
        return self.decisions.get(proposal_id)

    async def revision(self, request_id: str) -> tuple[int, Plan] | None:
        return self.revisions.get(request_id)

    async def revise(self, revised: Revised) -> None:
        self.revisions[revised.request_id] = (revised.revision, revised.plan)
