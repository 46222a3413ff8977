"""100,000 mixed events on a real Kafka, accounted for exactly.

Every input event ends in exactly one of: the sink, the quarantine topic, the
dead-letter topic, or dropped with an audit record — and no child's event
reaches the sink without a covering consent.
"""

from __future__ import annotations

import random
import time
import uuid
from pathlib import Path

import pytest
from tests.integration.harness import Workspace
from tests.integration.mixed import produce, seed_subjects, wait_accounted, wait_decided

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N_EVENTS = 100_000


def test_100k_mixed_events_are_accounted_for(kafka_bootstrap: str, tmp_path: Path) -> None:
    project = Path(__file__).resolve().parents[2]
    ws = Workspace(
        tmp_path,
        kafka_bootstrap,
        f"acc{uuid.uuid4().hex[:8]}",
        project,
        state_lateness_s=1.0,
        max_hold_s=30.0,
        batch_size=2000,
    )
    rng = random.Random(7)
    kinds = seed_subjects(ws, rng)
    ws.start()
    try:
        started = time.monotonic()
        expected = produce(ws, sorted(kinds), rng, N_EVENTS)
        wait_decided(ws, N_EVENTS, timeout=600)
        elapsed = time.monotonic() - started
        print(f"\n{N_EVENTS} events decided in {elapsed:.1f} s: {N_EVENTS / elapsed:,.0f} events/s")
        totals = wait_accounted(ws, expected, kinds, timeout=60)
    finally:
        log = ws.log_tail()
        ws.close()
    assert totals["lost"] == 0 and totals["duplicates"] == 0, (totals, log)
    assert totals["leaks"] == 0, totals
    assert sum(totals[d] for d in ("sink", "quarantine", "deadletter", "dropped")) == N_EVENTS
