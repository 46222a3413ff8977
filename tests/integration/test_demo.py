"""`wardstream demo` on the test broker: it finishes, and its summary is what the topics hold.

The demo runs as a real subprocess (`python -m wardstream demo --json`); this
test then reads every topic the summary names with a client of its own and
counts records itself, without the demo's code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from wardstream.serde import AvroCodec, Origin, record_schema

pytestmark = pytest.mark.integration

EVENTS, SEED = 20_000, 1


@pytest.fixture(scope="module")
def demo(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDSTREAM__")}
    env["TMPDIR"] = str(tmp)  # the run directory (and its worker) live under pytest's basetemp
    cmd = [sys.executable, "-m", "wardstream", "demo", "--events", str(EVENTS), "--seed",
           str(SEED), "--duration", "10", "--bootstrap", kafka_bootstrap, "--json"]  # fmt: skip
    began = time.monotonic()
    proc = subprocess.run(  # noqa: S603
        cmd, capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert proc.returncode in (0, 1) and proc.stdout.startswith("{"), proc.stderr[-3000:]
    summary: dict[str, Any] = json.loads(proc.stdout)
    summary["_exit"], summary["_took"] = proc.returncode, time.monotonic() - began
    return summary


def read(bootstrap: str, topic: str) -> Iterator[Any]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            for batch in consumer.poll(timeout_ms=500, max_records=20_000).values():
                yield from batch
    finally:
        consumer.close()


def decoded(bootstrap: str, topic: str, schema: str) -> list[dict[str, Any]]:
    codec = AvroCodec(record_schema(schema))
    return [
        codec.decode(m.value, origin=Origin(m.topic, m.partition, m.offset))
        for m in read(bootstrap, topic)
    ]


def test_every_event_is_accounted_for_and_the_summary_equals_the_topics(
    demo: dict[str, Any], kafka_bootstrap: str
) -> None:
    topics, outcomes = demo["topics"], demo["outcomes"]["by_pipeline"]
    assert demo["produced"]["events"] == EVENTS and demo["accounted"]["complete"], demo["accounted"]
    quarantine = decoded(kafka_bootstrap, topics["quarantine"], "QuarantinedEvent")
    held = Counter(q["pipeline"] for q in quarantine if q["status"] == "QUARANTINED")
    released = Counter(q["pipeline"] for q in quarantine if q["status"] == "RELEASED")
    dead = Counter(
        d["pipeline"] for d in decoded(kafka_bootstrap, topics["deadletter"], "DeadLetter")
    )
    audit = decoded(kafka_bootstrap, topics["audit"], "AuditRecord")
    dropped = Counter(a["pipeline"] for a in audit if a["action"] == "DROPPED")
    for pipeline, row in outcomes.items():
        source = sum(1 for _ in read(kafka_bootstrap, topics["sources"][pipeline]))
        sink = sum(1 for _ in read(kafka_bootstrap, topics["sinks"][pipeline]))
        mine = {
            "produced": source,
            "sink": sink,
            "released": released[pipeline],
            "quarantined": held[pipeline],
            "deadletter": dead[pipeline],
            "dropped": dropped[pipeline],
        }
        assert {k: row[k] for k in mine} == mine, pipeline
        assert (
            sink - released[pipeline] + held[pipeline] + dead[pipeline] + dropped[pipeline]
            == source
        )
    assert sum(outcomes[p]["produced"] for p in outcomes) == EVENTS
    assert demo["audit"]["records"] == len(audit)
    assert demo["audit"]["by_action"] == dict(Counter(a["action"] for a in audit))
    passes = sum(sum(a["counts"].values()) for a in audit if a["action"] == "SUMMARY")
    assert demo["audit"]["adult_passes_in_summaries"] == passes
    deletions = decoded(kafka_bootstrap, topics["deletions"], "DeletionRequest")
    assert demo["deletions_by_reason"] == dict(Counter(d["reason"] for d in deletions))


def test_the_traffic_exercises_every_outcome(demo: dict[str, Any]) -> None:
    out = demo["outcomes"]
    assert out["released"] > 0 and out["deadletter"] >= 4 and out["sink_redacted"] > 0
    assert {"adult", "minor", "child"} <= set(out["sink_by_age_band"])
    for reason in ("NO_GUARDIAN_CONSENT", "AGE_UNKNOWN", "RECONSENT_REQUIRED"):
        assert reason in out["quarantine_by_reason"], reason
    for reason in ("DEREGISTERED", "MARKETING_TO_MINOR", "PURPOSE_PROHIBITED"):
        assert reason in out["dropped_by_reason"], reason
    assert demo["next_steps"], "the demo says where to look next"


def test_the_audit_chains_the_demo_verified_are_intact(demo: dict[str, Any]) -> None:
    assert demo["audit"]["chains_intact"], demo["audit"]["breaks"]
    assert demo["_exit"] == 0
