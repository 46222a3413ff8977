"""Bad input at volume: fuzzed values, keys and headers, oversized records, the
wrong schema, and event times far in the future and the past. The worker keeps
running; every record is decided or dead-lettered, none lost.

CI runs 10,000 records; the full size (issue 10): WARDSTREAM_FUZZ_RECORDS=100000.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.integration.harness import Workspace
from tests.integration.mixed import seed_subjects

from wardstream.serde import AvroCodec, load_schema

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RECORDS = int(os.environ.get("WARDSTREAM_FUZZ_RECORDS", "10000"))


def test_bad_input_at_volume_is_dead_lettered_or_decided(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    project = Path(__file__).resolve().parents[2]
    ws = Workspace(
        tmp_path,
        kafka_bootstrap,
        f"fuz{uuid.uuid4().hex[:8]}",
        project,
        state_lateness_s=0.5,
        max_hold_s=20.0,
    )
    rng = random.Random(5)
    kinds = seed_subjects(ws, rng, n=200)
    ws.start()
    try:
        _produce(ws, rng, sorted(kinds), project)
        outcomes = _wait_outcomes(ws, RECORDS, timeout=600)
        alive = ws.proc is not None and ws.proc.poll() is None
        dead = len(ws.records(ws.topics["deadletter"]))
    finally:
        log = ws.log_tail()
        ws.close()
    print(f"\n{RECORDS} bad or odd records: {outcomes}; dead letters on the topic: {dead}")
    assert alive, log
    assert sum(outcomes.values()) == RECORDS, (outcomes, log)
    assert dead == outcomes["deadletter"] >= RECORDS * 0.5  # random bytes are half of the input


def _produce(ws: Workspace, rng: random.Random, subjects: list[str], project: Path) -> None:
    codec = ws.codec("clickstream")
    wrong = AvroCodec(load_schema(project / "schemas/examples/purchase.avsc"))
    for i in range(RECORDS):
        kind = i % 10
        headers = (
            [(f"h{rng.randint(0, 3)}", rng.randbytes(rng.randint(0, 20)))] if i % 4 == 0 else []
        )
        if kind < 5:  # random bytes, random keys (or none)
            key = rng.randbytes(rng.randint(0, 12)) or None
            _send(ws, rng.randbytes(rng.randint(0, 300)), key, headers)
        elif kind == 5:  # a valid record with some bytes flipped
            value = bytearray(codec.encode(_click(rng.choice(subjects), datetime.now(UTC))))
            for _ in range(rng.randint(1, 4)):
                value[rng.randrange(len(value))] ^= 1 << rng.randrange(8)
            _send(ws, bytes(value), b"m", headers)
        elif kind == 6:  # the wrong schema
            _send(ws, wrong.encode(_purchase(rng.choice(subjects))), b"w", headers)
        elif kind == 7:  # far future or far past event times
            when = (
                datetime(2999, 1, 1, tzinfo=UTC)
                if i % 20 == 7
                else datetime(1971, 1, 1, tzinfo=UTC)
            )
            _send(ws, codec.encode(_click(rng.choice(subjects), when)), b"t", headers)
        elif kind == 8 and i % 200 == 8:  # oversized, still under the broker's 1 MB
            _send(ws, rng.randbytes(700_000), b"big", headers)
        else:  # ordinary events between the bad ones
            _send(ws, codec.encode(_click(rng.choice(subjects), datetime.now(UTC))), None, headers)
    ws.flush()


def _send(ws: Workspace, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]]) -> None:
    ws.producer.send(ws.pipelines["clickstream"]["source"], key=key, value=value, headers=headers)


def _click(subject: str, when: datetime) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "user_id": subject,
        "ts": when,
        "session_id": None,
        "action": "VIEW",
        "page": "/p",
        "referrer": None,
        "search_query": None,
        "duration_ms": None,
        "experiment_group": "",
        "device": {"device_id": "d", "os": "ios", "app_version": None, "ip": None},
        "geo": None,
    }


def _purchase(subject: str) -> dict[str, Any]:
    return {
        "order_id": "o1",
        "user_id": subject,
        "ts": datetime.now(UTC) - timedelta(minutes=1),
        "store_id": "s",
        "amount_minor": 100,
        "currency": "GBP",
        "items": [],
        "payment_method": None,
        "card_last4": None,
        "billing_email": None,
        "billing_postcode": None,
        "coupon_code": None,
    }


def _wait_outcomes(ws: Workspace, n: int, timeout: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    outcomes: dict[str, float] = {}
    while time.monotonic() < deadline:
        outcomes = {}
        for line in ws.metrics().splitlines():
            if line.startswith("wardstream_events_out_total{"):
                labels, value = line.rsplit(" ", 1)
                destination = labels.split('destination="', 1)[1].split('"', 1)[0]
                outcomes[destination] = outcomes.get(destination, 0) + float(value)
        if sum(outcomes.values()) >= n:
            break
        time.sleep(1)
    return outcomes
