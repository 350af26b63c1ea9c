"""In-memory implementations of the ports, for use-case tests (not shipped with the package).

Each honours the semantics of its Redis adapter that the use cases rely on, and the tests run a
share of the same assertions on both (``tests/monitor/conftest.py``).
"""
