"""Re-plan bookings that are already held, jointly, for less understaffing ("Optimise upcoming").

The snapshot a search reads already shows the bot's own bookings as busy time. :func:`replan`
frees the given bookings from it, holds each again exactly where it is (that is the "before"),
then lets the batch planner's improvement phases move them (each release-and-search step and
each window MILP is kept only if it lowers the added understaffing, so "after" never exceeds
"before"). A booking that no longer fits where it is (its people's schedules changed) is left
untouched and blocks its time, as do bookings split into sessions.

What a freed interval was before the booking is only known with the calendars without the bot's
bookings (``base``). Without them a freed interval is taken as working time, which is exact
except under a long activity that absorbed a break: such bookings then stay where they are, so
that nothing is ever moved onto someone's break. Where ``base`` still shows the booking (a WFM
that publishes the activities we wrote back shows them as busy), the same holds: working time,
and a long booking stays where it is. Bookings split into sessions always stay where they are
(the improvement phases hold single sessions only). :attr:`Replan.fixed` names them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from services.domain.slots.batch import BatchPlan
from services.domain.slots.engine import SlotEngine
from services.domain.slots.model import Outcome, SlotRequest, SlotState
from services.domain.slots.problem import SlotProblem

_WORK, _BUSY = int(SlotState.WORK), int(SlotState.BUSY)


@dataclass(frozen=True, slots=True)
class HeldSlot:
    """Where one occurrence of a booking is now (grid indices)."""

    occurrence: int
    start_index: int
    end_index: int
    attendees: tuple[str, ...]
    facilitator: str | None
    room_id: str | None


@dataclass(frozen=True, slots=True)
class Replan:
    before: float  # added understaffing of the held bookings where they are, agent-intervals
    after: float
    outcomes: dict[str, Outcome]  # request id -> its placements after (every request that could move)
    fixed: tuple[str, ...]  # requests left where they are (no longer fit there, or split into sessions)


def without(problem: SlotProblem, slots: Iterable[HeldSlot], base: SlotProblem | None = None) -> SlotProblem:
    """``problem`` with ``slots`` free again: people back at work (or as in ``base``), facilitators, rooms free."""
    states, scheduled = problem.states.copy(), problem.scheduled.copy()
    fac_free, room_free = problem.facilitator_free.copy(), problem.room_free.copy()
    agent = {a: i for i, a in enumerate(problem.agent_ids)}
    fac = {f: i for i, f in enumerate(problem.facilitator_ids)}
    room = {r.id: i for i, r in enumerate(problem.rooms)}
    for slot in slots:
        window = slice(slot.start_index, slot.end_index)
        people = [*slot.attendees, *([slot.facilitator] if slot.facilitator else [])]
        for person in people:
            if person in agent:
                row = agent[person]
                # Our bookings only ever go where the person works (or on a break a long one absorbs),
                # so busy there means ours: it becomes working time again, and counts as scheduled.
                freed = states[row, window] == _BUSY
                was = base.states[row, window].copy() if base is not None else np.full(freed.size, _WORK, np.int8)
                was[was == _BUSY] = _WORK  # the base still shows our booking: as without a base
                states[row, window] = np.where(freed, was, states[row, window])
                scheduled[:, window] += problem.weights[row][:, None] * (freed & (was == _WORK))[None, :]
            if person in fac:
                fac_free[fac[person], window] = True
        if slot.room_id in room:
            room_free[room[slot.room_id], window] = True
    return replace(problem, states=states, scheduled=scheduled, facilitator_free=fac_free, room_free=room_free)


def replan(problem: SlotProblem, held: Sequence[tuple[SlotRequest, Sequence[HeldSlot]]], *,
           base: SlotProblem | None = None, refine_days: int = 7, refine_limit: int = 10,
           refine_time_limit: float = 10.0) -> Replan:
    """Move ``held`` bookings (busy in ``problem``) to where they add the least understaffing together."""
    movable = [(r, slots) for r, slots in held if _single_session(problem, r, slots)
               and (not _absorbs_breaks(r) or (base is not None and _base_knows(problem, base, slots)))]
    while True:
        engine = SlotEngine(without(problem, (s for _, slots in movable for s in slots), base))
        failed: list[str] = []
        for request, slots in movable:
            try:
                engine.book_at(request, [(s.start_index, s.room_id) for s in sorted(slots, key=lambda s: s.occurrence)])
            except ValueError:
                failed.append(request.id)
        if not failed:
            break
        movable = [(r, s) for r, s in movable if r.id not in failed]  # they keep blocking their time
    before = engine.added_understaffing()
    requests = [r for r, _ in movable]
    improve_plan(engine, requests, refine_days=refine_days, refine_limit=refine_limit,
                 refine_time_limit=refine_time_limit)
    after = engine.added_understaffing()
    outcomes = {r.id: engine.bookings[r.id].outcome for r in requests}
    fixed = tuple(r.id for r, _ in held if r.id not in outcomes)
    return Replan(before, min(after, before), outcomes, fixed)


def _single_session(problem: SlotProblem, request: SlotRequest, slots: Sequence[HeldSlot]) -> bool:
    occurrences = sorted(s.occurrence for s in slots)
    return occurrences == list(range(len(occurrences))) and SlotEngine(problem).sessions(request) == 1


def _base_knows(problem: SlotProblem, base: SlotProblem, slots: Sequence[HeldSlot]) -> bool:
    """True if ``base`` shows what each attendee had under ``slots`` (not our booking itself, as busy)."""
    agent = {a: i for i, a in enumerate(problem.agent_ids)}
    for slot in slots:
        rows = [agent[p] for p in (*slot.attendees, *([slot.facilitator] if slot.facilitator else [])) if p in agent]
        under = problem.states[rows, slot.start_index:slot.end_index] == _BUSY
        if (base.states[rows, slot.start_index:slot.end_index][under] == _BUSY).any():
            return False
    return True


def _absorbs_breaks(request: SlotRequest) -> bool:
    limit = request.params.absorb_breaks_from_minutes
    return limit is not None and request.duration_minutes >= limit


def improve_plan(engine: SlotEngine, requests: Sequence[SlotRequest], *, max_passes: int = 6,
                 refine_days: int = 7, refine_limit: int = 10, refine_time_limit: float = 10.0) -> None:
    """Lower the understaffing of ``requests`` (all booked on ``engine``) without unplacing any.

    Only the batch planner's improvement phases run: re-searching each booking given the others,
    then the window MILPs; every step is kept only if it lowers the added understaffing.
    """
    plan = BatchPlan(engine, requests, counts=False)
    for _ in range(max_passes):
        if not plan.improve_each():
            break
    if refine_days > 0 and plan.refine_windows(refine_days, refine_limit, refine_time_limit):
        plan.improve_each()
