"""A fake Genesys Cloud for tests and benchmarks (real HTTP + WebSocket servers on 127.0.0.1)."""

from testing.fake_genesys.model import FakeActivity, iso
from testing.fake_genesys.server import FakeGenesys

__all__ = ["FakeActivity", "FakeGenesys", "iso"]
