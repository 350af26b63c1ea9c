"""What booking's listeners need: the use cases' shapes (the real ones, or stand-ins in tests).

Put into Bolt's context as ``booking`` by ``handlers.app.register_booking``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from handlers.booking.optimise import Optimiser
from presentation.blocks.booking import Block
from services.booking.attendance import Marked, RegisterView
from services.booking.changes import ChangeDone
from services.booking.config import BookingConfig
from services.booking.holds import HoldDone
from services.booking.model import Booked, BookingRequest, Hold, Register, WorkItem
from services.booking.service import WorkDone
from services.booking.targeting import Selection, Target
from services.domain.model import ManagementUnit, Roster
from services.ports import Clock


class BookingUseCases(Protocol):
    async def submit(self, request: BookingRequest) -> bool: ...

    async def work_items(self) -> Sequence[WorkItem]: ...

    async def retry(self, request_id: str, *, relaxed: bool = False, by: str | None = None) -> WorkDone | None: ...

    async def cancel(self, request_id: str, *, by: str | None = None) -> WorkDone | None: ...

    async def work_item(self, request_id: str) -> WorkItem | None: ...


class HoldUseCases(Protocol):
    def may_act(self, hold_requester: str, user: str) -> bool: ...

    async def hold(self, request_id: str) -> Hold | None: ...

    async def book(self, request_id: str, *, by: str) -> HoldDone | None: ...

    async def another_time(self, request_id: str, *, by: str) -> HoldDone | None: ...

    async def cancel(self, request_id: str, *, by: str) -> HoldDone | None: ...


class ChangeUseCases(Protocol):
    async def upcoming(self, requester: str) -> list[Booked]: ...

    async def cancel(self, request_id: str, revision: int, *, by: str) -> ChangeDone: ...

    async def reschedule(self, request_id: str, revision: int, *, by: str) -> ChangeDone: ...


class AttendanceUseCases(Protocol):
    async def view(self, request_id: str) -> RegisterView | None: ...

    async def mark(self, request_id: str, agent_id: str, *, attended: bool, by: str) -> Marked: ...


#: ``/book-meeting optimise [days]``: (Slack user id, days) -> the message to answer with.
Optimise = Callable[[str, int], Awaitable[tuple[str, list[Block]]]]


class TargetingUseCase(Protocol):
    async def select(self, roster: Roster, target: Target) -> Selection: ...


class Rosters(Protocol):
    async def roster(self, mu_id: str) -> Roster: ...


class Registers(Protocol):
    async def get(self, request_id: str) -> Register | None: ...


@dataclass(frozen=True)
class BookingHandlerDeps:
    service: BookingUseCases
    rosters: Rosters
    units: Callable[[], Awaitable[Sequence[ManagementUnit]]]
    config: BookingConfig
    clock: Clock
    registers: Registers | None = None
    #: Slack user ids allowed to work the manual queue. Empty: it fails closed (only a requester may
    #: cancel their own request; nobody may retry).
    schedulers: frozenset[str] = field(default_factory=frozenset)
    trainers: dict[str, str] = field(default_factory=dict)  # person id -> name
    holds: HoldUseCases | None = None
    changes: ChangeUseCases | None = None
    optimise: Optimise | None = None  # filled by the batch planner; without it the command says what it will do
    attendance: AttendanceUseCases | None = None  # Attended / No-show from the register
    targeting: TargetingUseCase | None = None  # /book-training targets from the adherence history
    optimiser: Optimiser | None = None  # Apply / Discard on an optimise proposal
