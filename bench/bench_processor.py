"""Events/s through the engine-neutral core (decode -> decide -> route -> audit), no Kafka.

    python bench/bench_processor.py [--events N] [--profile] [--formats avro,avro-confluent]
                                    [--paths python,native] [--batch 1000]

``--paths`` runs the Python reference (every event through ``submit``, audit records
encoded in Python) and the native path (the lane: one native call per batch,
``wardstream.enforce.lane``; audit records sealed by ``_native.seal_audit``) on the same
events, in the same run.

``--formats`` runs each wire format in turn on the same events (avro-confluent through
an in-memory registry: one lookup per schema id, as against a real one).

Mixed clickstream workload: 70% adults, 20% consented children, 5% children
without consent, 5% children whose consent lacks location (redaction). Quarantined
events are sealed with per-subject data keys, as a worker's are by default
(``lifecycle.encrypt_quarantine``).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wardstream.audit.pseudonym import SubjectPseudonymizer
from wardstream.config.pipeline import load_pipelines
from wardstream.config.settings import load_settings
from wardstream.crypto import MasterKey
from wardstream.domain.consent import ConsentEvent
from wardstream.domain.subject import SubjectProfile
from wardstream.enforce.auditor import Auditor
from wardstream.enforce.datakeys import KeyRing
from wardstream.enforce.enforcer import Enforcer
from wardstream.enforce.keystore import KeyStore
from wardstream.enforce.metrics import Metrics
from wardstream.enforce.processor import PipelineProcessor, Timing
from wardstream.enforce.quarantine import QuarantineBook
from wardstream.enforce.records import InRecord
from wardstream.enforce.state import StateStore
from wardstream.serde import InMemorySchemaRegistry, load_schema, make_codec

ROOT = Path(__file__).resolve().parents[1]
ALL = ["identifier", "behaviour", "device", "location", "content", "technical"]


def build(n_subjects: int = 5000, fmt: str = "avro") -> tuple[Enforcer, list[str]]:
    settings = load_settings(ROOT / "wardstream.yaml")
    pipeline = next(
        p
        for p in load_pipelines(ROOT / "pipelines", settings.policy, ROOT)
        if p.name == "clickstream"
    )
    policy = settings.policy.to_context()
    state = StateStore(caught_up_at=float("inf"))
    rng = random.Random(1)
    today = datetime.now(UTC).date()
    subjects = []
    for i in range(n_subjects):
        s, roll = f"s{i}", rng.random()
        adult = roll < 0.70
        state.subjects[s] = SubjectProfile.from_dict(
            {
                "subject_id": s,
                "birth_date": today.replace(year=today.year - (30 if adult else 9)),
                "age_band": None,
                "jurisdiction": "CN",
                "verification": "document",
                "vulnerable": False,
                "deregistered_at": None,
                "updated_at": datetime(2020, 1, 1, tzinfo=UTC),
            }
        )
        if 0.70 <= roll < 0.95:
            cats = ALL if roll < 0.90 else [c for c in ALL if c != "location"]
            state.put_consent(
                ConsentEvent.from_dict(
                    {
                        "consent_id": f"c{i}",
                        "subject_id": s,
                        "granted_by": "GUARDIAN",
                        "guardian_ref": "g",
                        "action": "GRANTED",
                        "purposes": ["analytics"],
                        "data_categories": cats,
                        "third_party_recipients": [],
                        "public_disclosure": False,
                        "policy_version": 3,
                        "effective_at": datetime(2020, 1, 1, tzinfo=UTC),
                        "expires_at": None,
                        "evidence": "signed_form:x",
                    }
                )
            )
        subjects.append(s)
    schema = load_schema(ROOT / pipeline.schema)
    auditor = Auditor(
        "ward.audit",
        "bench",
        SubjectPseudonymizer(b"k" * 32, "k1"),
        summary_interval=timedelta(seconds=10),
    )
    # sealed as a worker's are by default (lifecycle.encrypt_quarantine)
    refs = auditor.pseudonymizer.ref
    ring = KeyRing(MasterKey(b"m" * 32), "ward.keys", KeyStore(refs=refs), refs=refs)
    book = QuarantineBook("ward.quarantine", ring, refs=refs)
    proc = PipelineProcessor(
        pipeline,
        policy,
        make_codec(
            fmt, schema, registry=InMemorySchemaRegistry(), subject=f"{pipeline.sink}-value"
        ),
        schema,
        state,
        auditor,
        book,
        "ward.deadletter",
        Timing(),
    )
    return Enforcer([proc], state, auditor, book, Metrics()), subjects


def records(enforcer: Enforcer, subjects: list[str], n: int) -> list[InRecord]:
    proc = next(iter(enforcer.by_source.values()))
    rng, now = random.Random(2), datetime.now(UTC)
    out = []
    for i in range(n):
        s = rng.choice(subjects)
        value = proc.codec.encode(
            {
                "event_id": f"e{i}",
                "user_id": s,
                "ts": now,
                "session_id": None,
                "action": "VIEW",
                "page": "/p",
                "referrer": None,
                "search_query": None,
                "duration_ms": None,
                "experiment_group": "",
                "device": {"device_id": "d", "os": "ios", "app_version": None, "ip": None},
                "geo": {"lat": 1.0, "lon": 2.0, "city": None, "country": None},
            }
        )
        out.append(
            InRecord(
                proc.pipeline.source,
                0,
                i,
                s.encode(),
                value,
                int(now.timestamp() * 1000),
                (),
                time.time(),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--formats", default="avro", help="comma-separated: avro,avro-confluent")
    parser.add_argument(
        "--paths", default="python,native", help="comma-separated: python (no lane),native"
    )
    parser.add_argument("--batch", type=int, default=1000, help="records per engine batch")
    args = parser.parse_args()
    for fmt in args.formats.split(","):
        for path in args.paths.split(","):
            run(fmt, path, args.events, args.batch, args.profile)


def run(fmt: str, path: str, events: int, size: int, profile: bool) -> None:
    enforcer, subjects = build(fmt=fmt)
    proc = next(iter(enforcer.by_source.values()))
    if path == "python":  # the reference: no lane, audit records sealed in Python
        proc.lane, enforcer.auditor.sealer = None, None
    elif proc.lane is None:
        print(f"{fmt}: no native lane for this format; skipped")
        return
    batch = records(enforcer, subjects, events)
    batches = [batch[i : i + size] for i in range(0, len(batch), size)]
    for b in batches:  # once untimed: every subject's state compiled (the lane learnt)
        drive(enforcer, b)
    profiler = cProfile.Profile() if profile else None
    start, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    outputs = sum(drive(enforcer, b) for b in batches)
    if profiler:
        profiler.disable()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    rate, us = events / elapsed, cpu / events * 1e6
    print(
        f"{fmt} {path}: {events} events, {outputs} outputs in {elapsed:.2f} s: "
        f"{rate:,.0f} events/s, {us:.1f} us CPU/event"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def drive(enforcer: Enforcer, batch: list[InRecord]) -> int:
    """One batch as the fast engine handles it (its ``_handle_source``), the producer
    replaced by a list: the lane's records as they are, the rest through ``submit``."""
    first = batch[0]
    values = [r.value for r in batch]
    stamps, partitions = [r.timestamp_ms for r in batch], [r.partition for r in batch]
    offsets = [r.offset for r in batch]
    found = enforcer.screen(first.topic, values, stamps, partitions, offsets, first.arrival)
    codes, lane = (found[0].codes, found[1]) if found else (bytes(len(batch)), None)
    sent: list[object] = list(found[0].outputs) if found else []
    hints = found[0].hints if found else {}
    if found:
        for i, value in found[0].redacted.items():
            values[i] = value
    ready = []  # blocked children's: carried out together, after the batch's others
    for i, rec in enumerate(batch):
        code = codes[i]
        if code and lane is not None:
            sent.append((lane.sink, values[i], rec.key, lane.headers(code, None), stamps[i]))
            continue
        hint = hints.get(i)
        if hint is not None and not hint.waits:
            ready.append((rec, hint))
            continue
        outcome = enforcer.submit(rec, hint)
        if outcome is not None:
            sent.extend(outcome.outputs)
    for carried in enforcer.carry_out(first.topic, ready) if ready else []:
        if carried is not None:
            sent.extend(carried.outputs)
    return len(sent)


if __name__ == "__main__":
    main()
