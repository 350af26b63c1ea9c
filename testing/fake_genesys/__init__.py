"""A fake Genesys Cloud for tests and benchmarks (real HTTP + WebSocket servers on 127.0.0.1)."""

from tests.genesys.fake_genesys.model import FakeActivity, iso
from tests.genesys.fake_genesys.server import FakeGenesys

__all__ = ["FakeActivity", "FakeGenesys", "iso"]
