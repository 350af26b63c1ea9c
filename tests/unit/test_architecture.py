"""The architecture, checked on the source: the domain stays pure (no transport, storage or framework
imports), use cases reach adapters only through the ports, the one composition root is bot/, wording and
builders live in presentation/ (which needs no adapter), no adapter borrows another's, and no product
module passes 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

from services.adapters.redis.store import RedisStore
from services.booking.optimise import OptimiseStore
from services.booking.ports import BookingLedger, RequestQueue, WorkQueue
from services.ports import StateStore
from testing.memory_booking import MemoryBookingLedger, MemoryRequestQueue, MemoryWorkQueue
from testing.memory_optimise import MemoryOptimiseStore
from testing.memory_store import MemoryStore

ROOT = Path(__file__).resolve().parents[2]
BANNED = {"slack_bolt", "slack_sdk", "redis", "httpx", "apscheduler", "websockets", "aiohttp", "bot", "handlers",
          "fakeredis", "aiosmtplib"}


# What a composition root builds: clients of storage and transports, and command lines.
CONSTRUCTION = {"redis", "fakeredis", "slack_bolt", "slack_sdk", "httpx", "aiohttp", "websockets", "aiosmtplib",
                "apscheduler", "argparse"}


def _imported_modules(path: Path) -> set[str]:
    """Absolute module names imported by a file (``from a.b import c`` gives ``a.b`` and ``a.b.c``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def _imported_roots(path: Path) -> set[str]:
    return {module.split(".")[0] for module in _imported_modules(path)}


def _use_case_modules() -> list[Path]:
    """Every module of services/ that is neither an adapter nor the pure domain."""
    services = ROOT / "services"
    skip = (services / "adapters", services / "domain")
    return [p for p in sorted(services.rglob("*.py")) if not any(p.is_relative_to(s) for s in skip)]


def _adapter_imports(path: Path) -> list[str]:
    return sorted(m for m in _imported_modules(path) if m == "services.adapters" or m.startswith("services.adapters."))


def test_domain_imports_nothing_impure() -> None:
    files = sorted((ROOT / "services" / "domain").rglob("*.py"))
    assert files, "services/domain has no modules"
    offenders = {str(f.relative_to(ROOT)): sorted(_imported_roots(f) & BANNED) for f in files}
    assert {f: bad for f, bad in offenders.items() if bad} == {}


def test_the_check_would_catch_a_banned_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import redis.asyncio\nfrom slack_sdk import WebClient\nfrom . import sibling\n")
    assert _imported_roots(sample) & BANNED == {"redis", "slack_sdk"}


def test_services_do_not_import_the_composition_root_or_handlers() -> None:
    offenders = {}
    for path in sorted((ROOT / "services").rglob("*.py")):
        bad = _imported_roots(path) & {"bot", "handlers"}
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_use_cases_reach_adapters_only_through_ports() -> None:
    files = _use_case_modules()
    assert any(f.name == "monitor.py" for f in files) and any("booking" in f.parts for f in files)
    offenders = {str(f.relative_to(ROOT)): _adapter_imports(f) for f in files}
    assert {f: bad for f, bad in offenders.items() if bad} == {}


def test_services_hold_no_composition_root() -> None:
    """Only bot/ builds clients and adapters: no use case constructs a Redis, HTTP or Slack client or
    parses a command line (the booking CLI and its wiring live in bot/)."""
    offenders = {str(f.relative_to(ROOT)): sorted(_imported_roots(f) & CONSTRUCTION) for f in _use_case_modules()}
    assert {f: bad for f, bad in offenders.items() if bad} == {}
    assert not (ROOT / "services" / "booking" / "cli.py").exists()


def test_the_checks_would_catch_an_adapter_import_and_a_client(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from services.adapters.redis.store import RedisStore\nimport services.adapters.booking.keys\n"
                      "from services import adapters\nfrom services.ports import TrackStore\n"
                      "from redis.asyncio import Redis\n")
    assert _adapter_imports(sample) == ["services.adapters", "services.adapters.booking.keys",
                                        "services.adapters.redis.store", "services.adapters.redis.store.RedisStore"]
    assert _imported_roots(sample) & CONSTRUCTION == {"redis"}


# Modules directly under services/adapters/ are plumbing every adapter may share (retries), not an adapter.
SHARED_ADAPTER_MODULES = frozenset(p.stem for p in (ROOT / "services" / "adapters").glob("*.py"))


def _adapter_of(module: str) -> str | None:
    """``services.adapters.slack.chat`` -> ``slack``; None outside the adapters and for the shared
    modules directly under services/adapters/."""
    parts = module.split(".")
    if len(parts) > 2 and parts[:2] == ["services", "adapters"] and parts[2] not in SHARED_ADAPTER_MODULES:
        return parts[2]
    return None


def _borrowed_from_other_adapters(path: Path, root: Path = ROOT) -> list[str]:
    own = path.relative_to(root / "services" / "adapters").parts[0]
    return sorted(m for m in _imported_modules(path) if _adapter_of(m) not in (None, own))


def test_no_adapter_imports_another_adapter() -> None:
    """Email, Teams or the console must not take the Slack adapter's wording or cards (nor any other
    adapter's code): what they share is in presentation/."""
    files = [p for p in sorted((ROOT / "services" / "adapters").rglob("*.py")) if len(p.relative_to(
        ROOT / "services" / "adapters").parts) > 1]
    assert any("email" in f.parts for f in files) and any("slack" in f.parts for f in files)
    offenders = {str(f.relative_to(ROOT)): _borrowed_from_other_adapters(f) for f in files}
    assert {f: bad for f, bad in offenders.items() if bad} == {}


def test_the_check_would_catch_an_adapter_borrowing_from_another(tmp_path: Path) -> None:
    email = tmp_path / "services" / "adapters" / "email"
    email.mkdir(parents=True)
    sample = email / "content.py"
    sample.write_text("from services.adapters.slack.wording import headline\nfrom services.adapters.email import x\n"
                      "from presentation.wording import minutes\n")
    assert _borrowed_from_other_adapters(sample, root=tmp_path) == [
        "services.adapters.slack.wording", "services.adapters.slack.wording.headline"]


def test_presentation_needs_no_adapter_listener_or_transport() -> None:
    """Wording and builders are pure: both the listeners and the adapters import them, never the reverse."""
    files = sorted((ROOT / "presentation").rglob("*.py"))
    assert any(f.name == "wording.py" for f in files) and any(f.name == "incident_card.py" for f in files)
    offenders = {}
    for path in files:
        modules = _imported_modules(path)
        bad = sorted({m.split(".")[0] for m in modules} & (BANNED | CONSTRUCTION))
        bad += sorted(m for m in modules if m.startswith("services.adapters"))
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}
    assert not (ROOT / "handlers" / "blocks").exists()
    assert not (ROOT / "services" / "adapters" / "slack" / "wording.py").exists()


MAX_LINES = 400
PRODUCT_PACKAGES = ("bot", "handlers", "presentation", "services")  # what the wheel ships


def _longer_than(limit: int, root: Path = ROOT) -> dict[str, int]:
    """Product modules over ``limit`` lines, with their length."""
    lengths = {str(p.relative_to(root)): len(p.read_text(encoding="utf-8").splitlines())
               for package in PRODUCT_PACKAGES for p in sorted((root / package).rglob("*.py"))}
    return {path: n for path, n in lengths.items() if n > limit}


def test_no_product_module_passes_400_lines() -> None:
    """A module a newcomer can read in one sitting: one job, at most 400 lines."""
    assert _longer_than(MAX_LINES) == {}


def test_the_check_would_catch_a_long_module(tmp_path: Path) -> None:
    (tmp_path / "services" / "domain").mkdir(parents=True)
    (tmp_path / "services" / "domain" / "long.py").write_text("x = 1\n" * 401)
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "short.py").write_text("x = 1\n" * 400)
    assert _longer_than(MAX_LINES, root=tmp_path) == {"services/domain/long.py": 401}


def _optimise_memory_provides_the_port(store: MemoryOptimiseStore) -> OptimiseStore:
    return store  # checked by mypy, as the state stores below


def _redis_store_provides_every_state_port(store: RedisStore) -> StateStore:
    return store  # checked by mypy: RedisStore satisfies the protocols structurally


def _memory_store_provides_every_state_port(store: MemoryStore) -> StateStore:
    return store


def _booking_memory_provides_the_ports(queue: MemoryRequestQueue, ledger: MemoryBookingLedger,
                                       work: MemoryWorkQueue) -> tuple[RequestQueue, BookingLedger, WorkQueue]:
    return queue, ledger, work


PRODUCT = PRODUCT_PACKAGES


def _importers_of(roots: tuple[str, ...], banned: str, base: Path = ROOT) -> dict[str, list[str]]:
    """Files under ``roots`` that import the top-level package ``banned`` (what they import from it)."""
    found = {}
    for root in roots:
        for path in sorted((base / root).rglob("*.py")):
            bad = sorted(m for m in _imported_modules(path) if m.split(".")[0] == banned)
            if bad:
                found[str(path.relative_to(base))] = bad
    return found


def test_bench_and_testing_never_import_tests() -> None:
    """The scaffolding both the tests and the benchmarks use (fakes, in-memory ports, synthetic
    instances) lives in testing/: a benchmark that reached into tests/ would run test-suite code."""
    assert any((ROOT / "bench").glob("*.py")) and any((ROOT / "testing").rglob("*.py"))
    assert _importers_of(("bench", "testing"), "tests") == {}


def test_the_product_never_imports_testing() -> None:
    """testing/ is not in the wheel nor in the image: a product module importing it would break there."""
    assert _importers_of(PRODUCT, "testing") == {}


def test_the_import_checks_would_catch_bench_reaching_into_tests(tmp_path: Path) -> None:
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "b.py").write_text("from tests.genesys.fake_genesys import FakeGenesys\nimport testing\n")
    assert _importers_of(("bench",), "tests", base=tmp_path) == {
        "bench/b.py": ["tests.genesys.fake_genesys", "tests.genesys.fake_genesys.FakeGenesys"]}
    assert _importers_of(("bench",), "testing", base=tmp_path) == {"bench/b.py": ["testing"]}
