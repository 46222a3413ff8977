"""`wardstream bench --repeat K`: each row reports its median run, and no failed run hides."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))

from tp_report import median_run  # noqa: E402


def run(rate: int, p99: float) -> dict[str, Any]:
    return {"row": "fast-alo", "events_per_s": rate, "latency": {"adult": {"p99_ms": p99}}}


def test_the_median_run_is_reported_whole_with_every_runs_rate() -> None:
    chosen = median_run([run(5_000, 90.0), run(7_000, 40.0), run(4_000, 150.0)])
    assert chosen["events_per_s"] == 5_000
    assert chosen["latency"]["adult"]["p99_ms"] == 90.0  # the same run's latency
    assert chosen["runs_events_per_s"] == [5_000, 7_000, 4_000]


def test_an_even_count_reports_the_lower_middle_run() -> None:
    assert median_run([run(6_000, 1.0), run(4_000, 2.0)])["events_per_s"] == 4_000


def test_one_run_is_reported_as_it_is() -> None:
    only = run(5_000, 90.0)
    assert median_run([only]) == only


def test_a_failed_run_makes_the_row_an_error() -> None:
    failed = {"row": "fast-alo", "error": "not done; see worker.log"}
    assert median_run([run(5_000, 90.0), failed, run(6_000, 80.0)]) == failed
