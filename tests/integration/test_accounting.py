"""100,000 mixed events on a real Kafka, accounted for exactly.

Every input event ends in exactly one of: the sink, the quarantine topic, the
dead-letter topic, or dropped with an audit record — and no child's event
reaches the sink without a covering consent.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.integration.harness import Workspace, header

from wardstream.serde import AvroCodec, DecodeError, Origin, record_schema

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N_EVENTS = 100_000
ALL = ["identifier", "behaviour", "device", "location", "content", "technical"]
NO_GEO = ["identifier", "behaviour", "device", "technical", "content"]


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
    today = datetime.now(UTC).date()
    kinds: dict[str, str] = {}
    for i in range(2000):
        s, roll = f"s{i:05d}", rng.random()
        if roll < 0.70:
            kinds[s] = "adult"
            ws.subject(s, birth=today.replace(year=today.year - 30))
        else:
            ws.subject(s, birth=today.replace(year=today.year - 9))
            if roll < 0.90:
                kinds[s] = "consented"
                ws.consent(s, f"c-{s}", categories=ALL)
            elif roll < 0.95:
                kinds[s] = "redacted"
                ws.consent(s, f"c-{s}", categories=NO_GEO)
            else:
                kinds[s] = "no-consent"
    subjects = sorted(kinds)
    codec = ws.codec("clickstream")
    ws.flush()
    ws.start()
    try:
        started = time.monotonic()
        expected = _produce(ws, codec, subjects, rng)
        _wait_decided(ws, N_EVENTS, timeout=600)
        elapsed = time.monotonic() - started
        print(f"\n{N_EVENTS} events decided in {elapsed:.1f} s: {N_EVENTS / elapsed:,.0f} events/s")
        totals = _account(ws, codec, expected, kinds)
    finally:
        log = ws.log_tail()
        ws.close()
    assert totals["lost"] == 0 and totals["twice"] == 0, (totals, log)
    assert totals["leaks"] == 0, totals
    assert sum(totals[d] for d in ("sink", "quarantine", "deadletter", "dropped")) == N_EVENTS


def _produce(
    ws: Workspace, codec: AvroCodec, subjects: list[str], rng: random.Random
) -> dict[str, str]:
    expected: dict[str, str] = {}  # event id -> subject ("" for poison records)
    now = datetime.now(UTC)
    for i in range(N_EVENTS):
        event_id = f"e{i:06d}"
        if i % 1000 == 999:
            ws.event("clickstream", raw=b"\x02garbage" + event_id.encode(), key=event_id.encode())
            expected[event_id] = ""
            continue
        s = (
            subjects[min(int(rng.paretovariate(1.2)) - 1, len(subjects) - 1)]
            if i % 3 == 0
            else rng.choice(subjects)
        )
        record = {
            "event_id": event_id,
            "user_id": s,
            "ts": now - timedelta(seconds=rng.randint(0, 60)),
            "session_id": None,
            "action": "VIEW",
            "page": "/p",
            "referrer": None,
            "search_query": None,
            "duration_ms": None,
            "experiment_group": "",
            "device": {"device_id": "d", "os": "ios", "app_version": None, "ip": None},
            "geo": {"lat": 1.0, "lon": 2.0, "city": None, "country": None} if i % 2 else None,
        }
        ws.event("clickstream", record, key=s.encode())
        expected[event_id] = s
    ws.flush()
    return expected


def _wait_decided(ws: Workspace, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        decided = sum(
            float(line.rsplit(" ", 1)[1])
            for line in ws.metrics().splitlines()
            if line.startswith("wardstream_events_out_total{")
        )
        if decided >= n:
            return
        time.sleep(0.5)


def _account(
    ws: Workspace, codec: AvroCodec, expected: dict[str, str], kinds: dict[str, str]
) -> Counter[str]:
    source = ws.pipelines["clickstream"]["source"]
    q_codec, d_codec = (
        AvroCodec(record_schema("QuarantinedEvent")),
        AvroCodec(record_schema("DeadLetter")),
    )
    a_codec = AvroCodec(record_schema("AuditRecord"))
    deadline = time.monotonic() + 600
    while True:
        seen: Counter[str] = Counter()
        where: dict[str, str] = {}
        totals: Counter[str] = Counter()
        by_offset: dict[tuple[int, int], str] = {}
        for r in ws.records(source):
            by_offset[(r.partition, r.offset)] = _event_id(codec, r)
        for r in ws.records(ws.sink("clickstream")):
            v = codec.decode(r.value, origin=Origin("sink", 0, 0))
            seen[v["event_id"]] += 1
            where[v["event_id"]] = "sink"
            if header(r, "ward-age-band") != b"adult" and kinds[v["user_id"]] not in (
                "consented",
                "redacted",
            ):
                totals["leaks"] += 1
            if kinds[v["user_id"]] == "redacted" and v["geo"] is not None:
                totals["leaks"] += 1
        for r in ws.records(ws.topics["quarantine"]):
            q = q_codec.decode(r.value, origin=Origin("q", 0, 0))
            if q["status"] == "QUARANTINED":
                _mark(
                    seen,
                    where,
                    by_offset,
                    (q["origin_partition"], q["origin_offset"]),
                    "quarantine",
                )
        for r in ws.records(ws.topics["deadletter"]):
            d = d_codec.decode(r.value, origin=Origin("d", 0, 0))
            _mark(seen, where, by_offset, (d["origin_partition"], d["origin_offset"]), "deadletter")
        for r in ws.records(ws.topics["audit"]):
            a = a_codec.decode(r.value, origin=Origin("a", 0, 0))
            if a["action"] == "DROPPED" and a["event_ref"]:
                _, part, off = a["event_ref"].rsplit("/", 2)
                _mark(seen, where, by_offset, (int(part), int(off)), "dropped")
        for event_id in expected:
            count = seen[event_id]
            totals["lost" if count == 0 else "twice" if count > 1 else where[event_id]] += 1
        if totals["lost"] == 0 or time.monotonic() > deadline:
            return totals
        time.sleep(2)


def _event_id(codec: AvroCodec, record: Any) -> str:
    try:
        return str(codec.decode(record.value, origin=Origin("s", 0, 0))["event_id"])
    except DecodeError:
        return str(record.key.decode())  # the poison records carry their id as the key


def _mark(
    seen: Counter[str],
    where: dict[str, str],
    by_offset: dict[tuple[int, int], str],
    pos: tuple[int, int],
    destination: str,
) -> None:
    key = by_offset.get(pos)
    if key is not None:
        seen[key] += 1
        where[key] = destination
