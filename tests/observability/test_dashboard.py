"""``deploy/grafana-dashboard.json`` charts metrics that exist: every series its PromQL names is one
our registry exposes, and every metric we define is on some panel."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from services.telemetry import Telemetry

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana-dashboard.json"
#: PromQL functions, aggregations and keywords the dashboard uses (anything else is a metric name).
PROMQL_WORDS = {"sum", "max", "min", "avg", "count", "by", "without", "rate", "increase", "irate",
                "histogram_quantile", "label_values", "on", "ignoring", "group_left", "group_right", "and", "or",
                "unless", "offset", "bool", "clamp_min", "topk"}
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def _exprs(dashboard: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        if isinstance(query, dict):
            exprs.append(query["query"])
    return exprs


def metric_names(expr: str) -> set[str]:
    """The series a PromQL expression selects: identifiers outside label matchers, ranges, grouping
    clauses, strings and ``$variables``, that are not PromQL's own words."""
    text = re.sub(r'"(?:\\.|[^"\\])*"', "", expr)  # strings (label values, legends)
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", text)  # grouping labels
    text = re.sub(r"\$\w+", "", text)
    text = re.sub(r"label_values\(([^,]+),[^)]*\)", r"\1", text)  # label_values(metric, label)
    return {word for word in _IDENT.findall(text) if word not in PROMQL_WORDS and not word[0].isdigit()}


def test_every_metric_the_dashboard_queries_exists_in_our_registry() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    known = Telemetry().names()
    used: set[str] = set()
    for expr in _exprs(dashboard):
        names = metric_names(expr)
        assert names, f"no metric in {expr!r}"
        missing = names - known
        assert not missing, f"{expr!r} queries {sorted(missing)}, which /metrics does not expose"
        used |= names
    families = {metric.name for metric in Telemetry().registry.collect()}
    unused = {f for f in families if not any(name.startswith(f) for name in used)}
    assert not unused, f"metrics with no panel: {sorted(unused)}"


def test_the_name_extraction_finds_a_misspelt_metric() -> None:
    expr = 'histogram_quantile(0.95, sum by (le, mu_id) (rate(adherence_tick_seconds_bucket{mu_id=~"$mu"}[5m])))'
    assert metric_names(expr) == {"adherence_tick_seconds_bucket"}
    assert not metric_names(expr) <= Telemetry().names()


def test_panels_are_well_formed() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["title"] and panel["targets"] and panel["datasource"]["uid"] == "${datasource}"
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
