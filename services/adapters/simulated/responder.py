"""Simulated agents answering surplus offers: a seeded share press Start now, the rest Not now.

It stands where the Slack DMs would be (a ``SurplusNotifier``) and answers through the desk, like
an agent's click. Agents in a scripted scenario are busy with it and always decline, so the
scenarios play out as scripted. A recall needs no answer: the agent follows the WFM schedule.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Protocol

from services.surplus.ports import Offer, Trainee


class _Clicks(Protocol):
    async def start(self, mu_id: str, offer_id: str, by: str) -> object: ...

    async def decline(self, mu_id: str, offer_id: str, by: str) -> object: ...


class SimulatedAnswers:
    def __init__(self, *, accept_share: float = 0.5, seed: int = 7, busy: Collection[str] = (),
                 say: Callable[[str], None] | None = None) -> None:
        self.accept_share, self.seed, self.busy, self.say = accept_share, seed, frozenset(busy), say
        self.desk: _Clicks | None = None  # set once the desk that sends the offers exists
        self.accepted = self.declined = self.recalled = 0

    def accepts(self, offer: Offer) -> bool:
        if offer.agent_id in self.busy:
            return False
        draw = zlib.crc32(f"{self.seed}:{offer.agent_id}:{offer.item_id}".encode()) % 1000
        return draw < self.accept_share * 1000

    async def offer(self, offer: Offer) -> None:
        if self.desk is None:
            return
        if self.accepts(offer):
            self.accepted += 1
            await self.desk.start(offer.mu_id, offer.offer_id, offer.agent_id)
            self._say(f"{offer.agent_id} started {offer.item_name} ({offer.minutes} min) in surplus")
        else:
            self.declined += 1
            await self.desk.decline(offer.mu_id, offer.offer_id, offer.agent_id)

    async def recall(self, mu_id: str, trainee: Trainee, back_by: datetime) -> None:
        self.recalled += 1
        self._say(f"{trainee.agent_id} recalled from {trainee.item_name}: back on queue by {back_by:%H:%M}")

    def _say(self, text: str) -> None:
        if self.say is not None:
            self.say(text)
