"""The data of the state bench: N subject profiles and their consents, encoded fast.

Subject ``i`` is a pure function of ``i`` (``shape``/``expected``), so the
recovery process can check a sample of what it read against what was meant.
Mix: 70% adults with a birth date, 18% children and 3% minors with one, 5% an
age band only, 4% nothing known, 0.5% deregistered; a consent for every child
and minor (half of them with an expiry). Values are encoded by hand from
memoised parts (checked against fastavro first) and produced with large
batches: ten million profiles are written in a few minutes.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from confluent_kafka import Producer

from wardstream.state._wire import long_bytes

BASE_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
TODAY = date(2026, 6, 1)
JURISDICTIONS = (b"CN", b"CN", b"CN", b"US", b"DE", b"GB", None)
DECLARED = (b"self_declared", b"document", b"id_card", b"guardian_declared")
BANDS = ("CHILD", "MINOR", "ADULT")
CONSENT_SHAPES = (
    (["analytics", "learning"], ["identifier", "behaviour", "device", "location", "content"]),
    (["analytics"], ["identifier", "behaviour", "device", "content", "technical"]),
    (["learning"], ["identifier", "content"]),
)
EXPIRES = datetime(2035, 1, 1, tzinfo=UTC)


def sid(i: int) -> bytes:
    return b"u%011d" % i


def shape(i: int) -> dict[str, Any]:
    """The profile of subject ``i`` as Avro field values (dates as day numbers, times in ms)."""
    r = (i * 2654435761) % 1000
    days = band = None
    ver = DECLARED[i % 4]
    if r < 700:
        days, kind = _birth(18 + i % 60, i), "adult"
    elif r < 880:
        days, kind = _birth(4 + i % 10, i), "child"
    elif r < 910:
        days, kind = _birth(14 + i % 4, i), "minor"
    elif r < 960:
        band, ver = i % 3, DECLARED[1 + i % 2]
        kind = ("child", "minor", "adult")[band]
    else:
        kind, ver = "unknown", b"none"
    return {
        "kind": kind,
        "days": days,
        "band": band,
        "jur": JURISDICTIONS[i % 7],
        "ver": ver,
        "vulnerable": kind == "child" and i % 50 == 3,
        "dereg_ms": BASE_MS + i % 997 * 60_000 if i % 200 == 7 else None,
        "updated_ms": BASE_MS + (i % 4096) * 1009,
    }


def _birth(years: int, i: int) -> int:
    born = TODAY.replace(year=TODAY.year - years) - timedelta(days=i % 360)
    return (born - date(1970, 1, 1)).days


def expected(i: int) -> dict[str, Any]:
    """Subject ``i`` as ``SubjectProfile.from_dict`` takes it."""
    s = shape(i)
    return {
        "subject_id": sid(i).decode(),
        "birth_date": None if s["days"] is None else date(1970, 1, 1) + timedelta(s["days"]),
        "age_band": None if s["band"] is None else BANDS[s["band"]],
        "jurisdiction": None if s["jur"] is None else s["jur"].decode(),
        "verification": s["ver"].decode(),
        "vulnerable": s["vulnerable"],
        "deregistered_at": _ms(s["dereg_ms"]),
        "updated_at": _ms(s["updated_ms"]),
    }


def _ms(ms: int | None) -> datetime | None:
    return None if ms is None else datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


class Encoder:
    """SubjectProfile Avro bytes by hand (checked against fastavro in ``check``), memoised parts."""

    def __init__(self) -> None:
        self._zz: dict[int, bytes] = {}

    def z(self, n: int) -> bytes:
        found = self._zz.get(n)
        if found is None:
            found = self._zz[n] = long_bytes(n)
        return found

    def subject(self, i: int) -> tuple[bytes, bytes, str]:
        s, key, z = shape(i), sid(i), self.z
        jur, days, band, dereg = s["jur"], s["days"], s["band"], s["dereg_ms"]
        value = b"".join((
            z(len(key)), key,
            b"\x00" if days is None else b"\x02" + z(days),
            b"\x00" if band is None else b"\x02" + z(band),
            b"\x00" if jur is None else b"\x02" + z(len(jur)) + jur,
            z(len(s["ver"])), s["ver"],
            b"\x01" if s["vulnerable"] else b"\x00",
            b"\x00" if dereg is None else b"\x02" + long_bytes(dereg),
            z(s["updated_ms"]),
        ))  # fmt: skip
        return key, value, s["kind"]


def consent_templates() -> list[bytes]:
    from wardstream.serde import AvroCodec, record_schema

    codec = AvroCodec(record_schema("ConsentEvent"))
    out = []
    for k, (purposes, categories) in enumerate(CONSENT_SHAPES * 2):
        out.append(
            codec.encode(
                {
                    "consent_id": "c-" + "X" * 12,
                    "subject_id": "X" * 12,
                    "granted_by": "GUARDIAN",
                    "guardian_ref": "g-bench",
                    "action": "GRANTED",
                    "purposes": purposes,
                    "data_categories": categories,
                    "third_party_recipients": [],
                    "public_disclosure": False,
                    "policy_version": 3,
                    "effective_at": datetime(2024, 1, 1, tzinfo=UTC),
                    "expires_at": EXPIRES if k >= len(CONSENT_SHAPES) else None,
                    "evidence": "signed_form:bench",
                }
            )  # fmt: skip
        )
    return out


def consent(i: int, key: bytes, templates: list[bytes]) -> bytes:
    """The consent event of subject ``i`` (a child or a minor), from ``consent_templates``."""
    return templates[i % len(templates)].replace(b"X" * 12, key)


def check(n: int = 2000) -> None:
    """The hand encoding decodes to ``expected`` (fails the bench loudly if not)."""
    from wardstream.domain.subject import SubjectProfile
    from wardstream.serde import AvroCodec, Origin, record_schema

    codec, enc = AvroCodec(record_schema("SubjectProfile")), Encoder()
    for i in random.Random(3).sample(range(10**8), n):
        _, value, _ = enc.subject(i)
        got = SubjectProfile.from_dict(codec.decode(value, origin=Origin.unknown()))
        if got != SubjectProfile.from_dict(expected(i)):
            raise AssertionError(f"the bench encodes subject {i} wrongly")


def produce(bootstrap: str, topics: dict[str, str], n: int) -> dict[str, Any]:
    check()
    p = Producer({
        "bootstrap.servers": bootstrap, "linger.ms": 50, "batch.num.messages": 100_000,
        "batch.size": 1_000_000, "compression.type": "none",  # recovery cost, not decompression
        "queue.buffering.max.messages": 2_000_000, "queue.buffering.max.kbytes": 2_097_151,
    })  # fmt: skip
    enc, templates = Encoder(), consent_templates()
    t0, consents, size = time.monotonic(), 0, 0
    for i in range(n):
        key, value, kind = enc.subject(i)
        _send(p, topics["subjects"], key, value)
        size += len(value)
        if kind in ("child", "minor"):
            value = consent(i, key, templates)
            _send(p, topics["consents"], key, value)
            consents += 1
            size += len(value)
    p.flush(600)
    return {
        "consents": consents,
        "produce_s": round(time.monotonic() - t0, 1),
        "value_mb": size >> 20,
    }


def _send(p: Producer, topic: str, key: bytes, value: bytes) -> None:
    while True:
        try:
            p.produce(topic, value, key)
            return
        except BufferError:
            p.poll(0.05)
