"""The mixed Avro workload of `wardstream bench`: subjects, consents and clickstream events.

Event mix (by event, like production traffic): 70% adults, 20% children whose
guardian consented to everything the pipeline uses, 5% children without
consent (quarantined), 5% children whose consent leaves out location (their
events carry ``geo``, so it is redacted). Within each class a subject is drawn
from a Zipf-like skew (weight 1/rank^1.1): a few heavy users, a long tail.
"""

from __future__ import annotations

import itertools
import random
import uuid
from bisect import bisect
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from wardstream.serde import AvroCodec, load_schema, record_schema

CLASSES = (("adult", 0.70), ("child", 0.20), ("nocons", 0.05), ("redact", 0.05))
ALL = ["identifier", "behaviour", "device", "location", "content", "technical"]
NO_LOCATION = ["identifier", "behaviour", "device", "content", "technical"]
ZIPF_S = 1.1
OLD = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass
class Workload:
    """Encoded events (built once) and the subjects they belong to."""

    events: list[tuple[bytes, bytes]]  # (key, value)
    classes: list[str]
    subjects: dict[str, list[str]]
    ts_ms: int
    probes: list[str] = field(default_factory=list)
    """Consented children, one per engine row, for the withdrawal probe."""


def zipf_picker(n: int, rng: random.Random) -> Any:
    cum = list(itertools.accumulate(1.0 / (k**ZIPF_S) for k in range(1, n + 1)))
    total = cum[-1]
    return lambda: bisect(cum, rng.random() * total)


def build(events: int, subjects: int, schema_path: str, seed: int = 7, probes: int = 8) -> Workload:
    rng = random.Random(seed)
    run = uuid.uuid4().hex[:6]
    pools = {
        name: [f"b{run}-{name}-{k}" for k in range(max(4, int(subjects * share)))]
        for name, share in CLASSES
    }
    pickers = {name: zipf_picker(len(pool), rng) for name, pool in pools.items()}
    codec = AvroCodec(load_schema(schema_path))
    ts = (datetime.now(UTC) - timedelta(seconds=10)).replace(microsecond=0)  # older than lateness
    names = [c for c, _ in CLASSES]
    weights = [w for _, w in CLASSES]
    out, classes = [], []
    for n in range(events):
        cls = rng.choices(names, weights)[0]
        sid = pools[cls][pickers[cls]()]
        geo = cls == "redact" or n % 4 == 0
        out.append((sid.encode(), codec.encode(click(sid, n, ts, geo))))
        classes.append(cls)
    children = [f"b{run}-probe-{k}" for k in range(probes)]
    return Workload(out, classes, pools, int(ts.timestamp() * 1000), children)


def click(sid: str, n: int, ts: datetime, geo: bool) -> dict[str, Any]:
    return {
        "event_id": f"e{n:012d}",
        "user_id": sid,
        "ts": ts,
        "session_id": f"s-{n % 97}",
        "action": "VIEW",
        "page": f"/lesson/{n % 50}",
        "referrer": None,
        "search_query": None,
        "duration_ms": 1000 + n % 5000,
        "experiment_group": "B" if n % 2 else "A",
        "device": {"device_id": f"d-{n % 211}", "os": "android", "app_version": "5.1", "ip": None},
        "geo": {"lat": 31.2, "lon": 121.5, "city": "Shanghai", "country": "CN"} if geo else None,
    }


def birthday(years: int) -> date:
    today = datetime.now(UTC).date()
    return today.replace(year=today.year - years, day=min(today.day, 28))


def state_records(w: Workload) -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]:
    """(subjects, consents) records for the workload's subjects and probes."""
    subj = AvroCodec(record_schema("SubjectProfile"))
    cons = AvroCodec(record_schema("ConsentEvent"))
    subjects, consents = [], []
    children = {"child": ALL, "redact": NO_LOCATION, "nocons": None}
    for cls, pool in [*w.subjects.items(), ("child", w.probes)]:
        for sid in pool:
            birth = birthday(35 if cls == "adult" else 9)
            subjects.append((sid.encode(), subj.encode(profile(sid, birth))))
            categories = children.get(cls)
            if categories is not None:
                consents.append((sid.encode(), cons.encode(consent(sid, categories, "GRANTED"))))
    return subjects, consents


def profile(sid: str, birth: date) -> dict[str, Any]:
    return {
        "subject_id": sid,
        "birth_date": birth,
        "age_band": None,
        "jurisdiction": "CN",
        "verification": "document",
        "vulnerable": False,
        "deregistered_at": None,
        "updated_at": OLD,
    }


def consent(sid: str, categories: list[str], action: str, at: datetime = OLD) -> dict[str, Any]:
    return {
        "consent_id": f"c-{sid}",
        "subject_id": sid,
        "granted_by": "GUARDIAN",
        "guardian_ref": "g-1",
        "action": action,
        "purposes": ["analytics"],
        "data_categories": categories,
        "third_party_recipients": [],
        "public_disclosure": False,
        "policy_version": 3,
        "effective_at": at,
        "expires_at": None,
        "evidence": "signed_form:bench",
    }


def create_topics(bootstrap: str, names: list[str], partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    for f in futures.values():
        f.result()


def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.num.messages": 10000})
    for key, value in records:
        while True:
            try:
                p.produce(topic, value, key)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    p.flush(60)


def zigzag_varint(n: int) -> bytes:
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def retime(value: bytes, old_ms: int, new_ms: int) -> bytes:
    """The same event with ``ts`` set to ``new_ms`` (only ASCII strings precede ``ts``)."""
    return value.replace(zigzag_varint(old_ms), zigzag_varint(new_ms), 1)
