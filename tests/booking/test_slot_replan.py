"""Which held bookings a replan (Optimise upcoming's core) may move, and which it leaves where they are."""

from __future__ import annotations

from dataclasses import replace

from services.domain.slots import AgentCalendar, SlotEngine, SlotProblem, SlotRequest
from services.domain.slots.model import SearchParams
from services.domain.slots.replan import HeldSlot, replan
from tests.booking.slot_fixtures import MONDAY, index, problem, shift


def world() -> SlotProblem:
    return problem([AgentCalendar("a1", "t1", shift(), {"q1": 1.0}), AgentCalendar("a2", "t1", shift(), {"q1": 1.0})],
                   required=1.0)


Held = list[tuple[SlotRequest, list[HeldSlot]]]


def held(base: SlotProblem, bookings: list[tuple[SlotRequest, int]]) -> tuple[SlotProblem, Held]:
    """The snapshot with ``bookings`` (request, start index) as busy time, and what the replan is given."""
    engine = SlotEngine(base)
    out: Held = []
    for request, start in bookings:
        outcome = engine.book_at(request, [(start, None)])
        out.append((request, [HeldSlot(p.occurrence, p.start_index, p.end_index, p.attendees, p.facilitator,
                                       p.room_id) for p in outcome.placements]))
    snapshot = replace(base, states=engine.states.copy(), scheduled=engine.scheduled.copy(),
                       facilitator_free=engine.fac_free.copy(), room_free=engine.room_free.copy())
    return snapshot, out


TRAINING = SlotRequest("training", "training", ("a1",), 180, MONDAY, MONDAY,
                       params=SearchParams(absorb_breaks_from_minutes=120))
CHAT = SlotRequest("chat", "one_to_one", ("a2",), 30, MONDAY, MONDAY)


def test_a_long_booking_over_a_break_moves_only_when_the_calendars_without_our_bookings_are_known():
    base = world()
    snapshot, bookings = held(base, [(TRAINING, index(0, 9))])  # 09:00-12:00 replaces the 10:00 break
    assert replan(snapshot, bookings, refine_time_limit=1.0).fixed == ("training",)  # its break is unknown
    result = replan(snapshot, bookings, base=base, refine_time_limit=1.0)
    assert result.fixed == ()
    assert result.outcomes["training"].placed and result.after <= result.before


def test_a_base_that_still_shows_our_booking_keeps_long_ones_and_frees_short_ones_as_working_time():
    base = world()
    snapshot, bookings = held(base, [(TRAINING, index(0, 9)), (CHAT, index(0, 14))])
    # A WFM that publishes what we wrote back: its schedule has our bookings as busy time too.
    result = replan(snapshot, bookings, base=snapshot, refine_time_limit=1.0)
    assert result.fixed == ("training",)
    assert result.outcomes["chat"].placed
