"""`wardstream bench` at a tiny size: every row reports, nothing is timed here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROWS = ["raw", "faust-count", "faust-pass", "faust-engine", "fast-eos", "fast-alo"]


def test_bench_json_has_every_row(kafka_bootstrap: str, tmp_path: Path) -> None:
    project = Path(__file__).resolve().parents[2]
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "wardstream", "bench", "--events", "2000", "--json",
         "--live-seconds", "1", "--subjects", "200", "--bootstrap", kafka_bootstrap],
        cwd=project,
        env=dict(os.environ, TMPDIR=str(tmp_path)),
        capture_output=True,
        timeout=900,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    result = json.loads(done.stdout)
    assert list(result["rows"]) == ROWS
    for row in ROWS:
        r = result["rows"][row]
        assert "error" not in r, r
        # CPU time has a 10 ms grain: at this tiny size a fast row may measure 0
        assert r["events_per_s"] > 0 and r["cpu_s_per_million"] >= 0 and r["peak_rss_mb"] > 0
    for row in ("raw", "faust-pass", "faust-engine", "fast-eos", "fast-alo"):
        assert result["rows"][row]["latency"]["sent"] > 0
    for row in ("faust-engine", "fast-eos", "fast-alo"):
        withdrawal = result["rows"][row]["withdrawal"]
        # the probe child's events after the withdrawal reach the quarantine, none the sink
        assert withdrawal["blocked"] > 0 and withdrawal["lag_ms"] is not None, withdrawal
        assert withdrawal["passed_after_withdrawal"] == 0
    assert {"fast-eos/raw", "fast-alo/raw", "faust-engine/raw", "faust-engine/faust-pass"} <= set(
        result["ratios"]
    )
    assert result["meta"]["machine"]["load_before"]
