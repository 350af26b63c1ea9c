"""Scaffolding shared by the tests and the benchmarks (not shipped: neither in the wheel nor in the image).

* ``memory_*``: in-memory implementations of the state ports, for use-case tests. Each honours the
  semantics of its Redis adapter that the use cases rely on, and the tests run a share of the same
  assertions on both (``tests/monitor/conftest.py``).
* ``workforce``: the one in-memory WorkforceSource (scripted states, optional change reporting).
* ``fake_genesys``, ``fake_slack``, ``fake_graph``: real local servers speaking the vendors' wire formats.
* ``slots_synthetic``: the seeded instances of the slot-search benchmark.

Nothing here imports ``tests/``, and no product module imports this package
(``tests/unit/test_architecture.py``).
"""
