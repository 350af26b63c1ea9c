"""Seeded synthetic contact centers with booking requests and a planted feasible solution.

This is the instance generator of the slot-search benchmark (``bench/slot_search.py``), written
after the benchmark's specification: teams with aligned shifts (8.5 h with a lunch and two
breaks, part-timers, people who deviate, admin blocks, absences), multi-skill agents,
managers and trainers with busy calendars, rooms with capacities and bookings, Erlang C
requirements calibrated to leave the peaks short, and a request mix of 1:1 coaching, team
meetings, trainings and ad hoc sessions (recurring ones in four-week horizons). Every feasible
request is *planted* at a random feasible time first, with the plants kept free of each other
(facilitator and room calendars are cleared at the planted slot when needed), so a full placement
is known to exist. A few requests are made infeasible on purpose, each for a known reason.

Only ``numpy.random.default_rng`` with one child generator per component: the same seed gives the
same instance, and :meth:`Instance.digest` proves it.

One module per step: ``instance`` (size classes, the instance and its digest), ``calendars`` (people,
shifts, facilitators, rooms), ``requests`` (the request mix and the injected infeasible ones),
``planting``, and ``generator`` (``generate``, which ties them together).
"""

from testing.slots_synthetic.generator import generate
from testing.slots_synthetic.instance import GENERATOR_VERSION, SIZES, Instance, SizeClass

__all__ = ["GENERATOR_VERSION", "SIZES", "Instance", "SizeClass", "generate"]
