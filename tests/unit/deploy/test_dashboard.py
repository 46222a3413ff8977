"""The Grafana dashboard under deploy/ queries only metrics the worker exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from wardstream.enforce.metrics import Metrics
from wardstream.enforce.records import InRecord, Outcome

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = json.loads((ROOT / "deploy/grafana/dashboards/wardstream.json").read_text())
METRIC = re.compile(r"\bwardstream_[a-z_]+\b")


def _exprs(node: Any) -> list[str]:
    """Every PromQL expression in the dashboard: panel targets and template queries."""
    if isinstance(node, dict):
        found = [v for k, v in node.items() if k in ("expr", "definition") and isinstance(v, str)]
        return found + [e for v in node.values() for e in _exprs(v)]
    if isinstance(node, list):
        return [e for v in node for e in _exprs(v)]
    return []


def exported() -> set[str]:
    """Sample names the worker's /metrics shows once every family has a sample."""
    m = Metrics()
    m.received("p")
    m.decided("p", Outcome(InRecord("t", 0, 0, None, None, None, (), 1.0), "sink", [], "X"), 2.0)
    m.lag = {"t": 0}
    m.gauges(held=0, quarantined=0, state_age=0.0)
    return {s.name for family in m.registry.collect() for s in family.samples}


def test_the_dashboard_queries_something() -> None:
    assert len(_exprs(DASHBOARD)) >= 8


@pytest.mark.parametrize("expr", _exprs(DASHBOARD))
def test_every_metric_a_panel_queries_is_exported(expr: str) -> None:
    names = set(METRIC.findall(expr))
    assert names, f"no wardstream metric in {expr!r}"
    assert names <= exported(), f"{sorted(names - exported())} are not exported by the worker"


def test_the_issue_s_panels_are_there() -> None:
    queried = {n for e in _exprs(DASHBOARD) for n in METRIC.findall(e)}
    for name in (
        "wardstream_decisions_total",  # by destination and reason
        "wardstream_events_held",
        "wardstream_quarantine_size",
        "wardstream_state_age_seconds",
        "wardstream_consumer_lag",
        "wardstream_decision_latency_seconds_bucket",
    ):
        assert name in queried


def test_panels_use_the_provisioned_datasource() -> None:
    provisioned = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    uids = {d["uid"] for d in provisioned["datasources"]}
    for panel in DASHBOARD["panels"]:
        assert panel["datasource"]["uid"] in uids
        assert all(t["datasource"]["uid"] in uids for t in panel["targets"])
