"""The domain stays pure: no transport, storage or framework imports (checked on the source)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BANNED = {"slack_bolt", "slack_sdk", "redis", "httpx", "apscheduler", "websockets", "aiohttp", "bot", "handlers",
          "fakeredis", "aiosmtplib"}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


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
