"""Faults on a real Kafka: the worker is killed with SIGKILL mid-run and restarted.

Invariants after the run: no leaks (no child's event on the sink without a
covering consent), nothing lost (every input event on the sink, in quarantine,
dead-lettered or dropped with an audit record), duplicates counted and
reported (at-least-once), every audit chain verifies.

Both engines: Faust at-least-once (duplicates counted) and the fast engine
exactly-once (sinks read read_committed: no duplicates). CI runs a small size.
The full size (issue 10: 200,000 events, five kills):
    WARDSTREAM_FAULT_EVENTS=200000 WARDSTREAM_FAULT_KILLS=5 \\
        scripts/test tests/integration/test_faults.py -s
"""

from __future__ import annotations

import os
import random
import time
import uuid
from pathlib import Path

import pytest
from tests.integration.harness import TEST_KEY, Workspace
from tests.integration.mixed import produce, seed_subjects, wait_accounted
from typer.testing import CliRunner

from wardstream.cli.main import app

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EVENTS = int(os.environ.get("WARDSTREAM_FAULT_EVENTS", "20000"))
KILLS = int(os.environ.get("WARDSTREAM_FAULT_KILLS", "2"))


@pytest.mark.parametrize(
    ("engine", "guarantee"), [("faust", "at_least_once"), ("fast", "exactly_once")]
)
def test_worker_killed_mid_run_loses_and_leaks_nothing(
    kafka_bootstrap: str, tmp_path: Path, engine: str, guarantee: str
) -> None:
    exactly_once = guarantee == "exactly_once"
    ws = Workspace(
        tmp_path,
        kafka_bootstrap,
        f"flt{uuid.uuid4().hex[:8]}",
        Path(__file__).resolve().parents[2],
        engine=engine,
        isolation_level="read_committed" if exactly_once else "read_uncommitted",
        processing_guarantee=guarantee,
        state_lateness_s=1.0,
        max_hold_s=30.0,
    )
    if engine == "fast":  # a SIGKILLed member's partitions move on after the session timeout
        ws.env["WARDSTREAM__FAST__CONSUMER_OVERRIDES"] = '{"session.timeout.ms": "6000"}'
    rng = random.Random(11)
    kinds = seed_subjects(ws, rng, n=1000)
    ws.start()
    try:
        expected = produce(ws, sorted(kinds), rng, EVENTS)
        for _ in range(KILLS):
            time.sleep(rng.uniform(2.0, 4.0))
            ws.stop(kill=True)
            ws.start()
        totals = wait_accounted(ws, expected, kinds, timeout=600)
        ws.stop()
        verify = CliRunner().invoke(
            app,
            ["audit", "verify", "-c", str(tmp_path / "wardstream.yaml")],
            env={"WARDSTREAM__AUDIT__HMAC_KEY": TEST_KEY},
        )
    finally:
        log = ws.log_tail()
        ws.close()
    print(
        f"\nfaults: {KILLS} x SIGKILL ({engine}, {guarantee}) | events in: {EVENTS} | "
        f"sink {totals['sink']} | quarantine {totals['quarantine']} | "
        f"deadletter {totals['deadletter']} | dropped {totals['dropped']} | "
        f"leaks {totals['leaks']} | lost {totals['lost']} | duplicates {totals['duplicates']}"
    )
    assert totals["lost"] == 0, (totals, log)
    assert totals["leaks"] == 0, totals
    if exactly_once:
        assert totals["duplicates"] == 0, totals
    assert verify.exit_code == 0, verify.output
