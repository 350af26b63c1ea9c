"""The ports the surplus desk needs: its state (seats, offers, trainees, audit) and the agents' DMs."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

TakeResult = Literal["taken", "already", "full"]


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True, slots=True)
class Offer:
    """One DM: ``item`` for ``minutes`` to ``agent_id``, sent at ``at`` while ``seats`` were free (the why)."""

    offer_id: str
    mu_id: str
    agent_id: str
    item_id: str
    item_name: str
    minutes: int
    at: datetime
    expires: datetime
    why: str

    def to_json(self) -> str:
        data = asdict(self)
        data["at"], data["expires"] = self.at.isoformat(), self.expires.isoformat()
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Offer:
        data: dict[str, Any] = json.loads(text)
        data["at"], data["expires"] = datetime.fromisoformat(data["at"]), datetime.fromisoformat(data["expires"])
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Trainee:
    """An agent in training the bot delivered: the WFM activity ``activity_key`` runs ``start``..``end``."""

    agent_id: str
    offer_id: str
    item_id: str
    item_name: str
    activity_key: str
    start: datetime
    end: datetime
    recalled_at: datetime | None = None

    def to_json(self) -> str:
        data = asdict(self)
        for key in ("start", "end", "recalled_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Trainee:
        data: dict[str, Any] = json.loads(text)
        data["start"], data["end"] = datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"])
        data["recalled_at"] = _dt(data.get("recalled_at"))
        return cls(**data)


class SurplusStore(Protocol):
    async def set_seats(self, mu_id: str, interval: datetime, seats: int, item: str = "") -> None:
        """How many agents in all may be in training during ``interval`` when one more starts ``item``
        (the surplus over the intervals that item spans)."""

    async def take_seat(self, mu_id: str, interval: datetime, trainee: Trainee, item: str = "") -> TakeResult:
        """Atomically: the agent becomes a trainee if a seat of ``interval`` is free for ``item``
        (first to accept wins)."""
        ...

    async def trainees(self, mu_id: str) -> dict[str, Trainee]: ...

    async def update_trainee(self, mu_id: str, trainee: Trainee) -> None: ...

    async def release(self, mu_id: str, agent_id: str) -> None:
        """The agent is no longer a trainee (finished, recalled and back, or the write failed)."""

    async def save_offer(self, mu_id: str, offer: Offer) -> None: ...

    async def offer(self, mu_id: str, offer_id: str) -> Offer | None: ...

    async def last_offers(self, mu_id: str) -> dict[str, Offer]:
        """The latest offer per agent (for the cooldown and the outstanding count)."""
        ...

    async def decide(self, mu_id: str, offer_id: str, outcome: dict[str, str]) -> dict[str, str] | None:
        """Record the first decision on an offer; a later one gets the first back (idempotent clicks)."""
        ...

    async def decision(self, mu_id: str, offer_id: str) -> dict[str, str] | None: ...

    async def log(self, mu_id: str, event: dict[str, str]) -> None:
        """Audit every figure, offer, decision, write and recall."""

    async def history(self, mu_id: str, count: int = 50) -> list[dict[str, str]]: ...

    async def save_figures(self, mu_id: str, figures: dict[str, str]) -> None: ...

    async def figures(self, mu_id: str) -> dict[str, str]: ...


class SurplusNotifier(Protocol):
    async def offer(self, offer: Offer) -> None:
        """DM the agent: what, how long, Start now / Not now."""

    async def recall(self, mu_id: str, trainee: Trainee, back_by: datetime) -> None:
        """DM the agent: back to queue by ``back_by``."""
