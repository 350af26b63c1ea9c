"""Reading a Prometheus exposition back into numbers (the library's own parser, not regexes)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from services.telemetry import Telemetry


def samples(text: str | bytes) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """``{(sample name, labels): value}`` of an exposition."""
    if isinstance(text, bytes):
        text = text.decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(telemetry_or_text: Telemetry | str | bytes, name: str, **labels: str) -> float | None:
    text = telemetry_or_text.exposition() if isinstance(telemetry_or_text, Telemetry) else telemetry_or_text
    return samples(text).get((name, frozenset(labels.items())))


def total(telemetry_or_text: Telemetry | str | bytes, name: str, **labels: str) -> float:
    """Sum over every series of ``name`` whose labels include ``labels``."""
    text = telemetry_or_text.exposition() if isinstance(telemetry_or_text, Telemetry) else telemetry_or_text
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples(text).items() if n == name and wanted <= ls)
