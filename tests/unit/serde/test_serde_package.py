"""Package boundaries, Faust codecs and dead-letter records."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

from tests.unit.serde.test_serde_codecs import ORIGIN, PING, SECRET, ping
from tests.unit.serde.test_serde_strategies import ROOT

from wardstream.serde import (
    AvroCodec,
    Codec,
    JsonCodec,
    TruncatedRecord,
    dead_letter_record,
    record_schema,
)


def test_only_serde_imports_fastavro() -> None:
    offenders = []
    for path in (ROOT / "src" / "wardstream").rglob("*.py"):
        if "serde" in path.relative_to(ROOT / "src" / "wardstream").parts:
            continue
        text = path.read_text(encoding="utf-8")
        if "import fastavro" in text or "from fastavro" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders


def test_serde_without_faust() -> None:
    code = "import sys, wardstream.serde; assert 'faust' not in sys.modules, 'faust imported'"
    subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603 - our own interpreter


def test_codecs_follow_the_protocol() -> None:
    assert isinstance(AvroCodec(PING), Codec) and isinstance(JsonCodec(PING), Codec)


def test_dead_letter_record_is_valid_and_carries_no_payload_in_the_message() -> None:
    value = AvroCodec(PING).encode(ping())[:-4]
    try:
        AvroCodec(PING).decode(value, origin=ORIGIN)
    except TruncatedRecord as error:
        record = dead_letter_record(
            error,
            key=SECRET.encode(),
            value=value,
            headers=[("trace", b"1"), ("empty", None)],
            timestamp_ms=1_795_000_000_123,
            pipeline="location_ping",
            at=datetime(2026, 11, 22, tzinfo=UTC),
        )
    codec = AvroCodec(record_schema("DeadLetter"))
    back = codec.decode(codec.encode(record), origin=ORIGIN)
    assert back["value"] == value and back["error_type"] == "TruncatedRecord"
    assert back["error_code"] == "TRUNCATED_RECORD" and back["origin_offset"] == 1234
    assert back["headers"] == [{"key": "trace", "value": b"1"}, {"key": "empty", "value": None}]
    assert SECRET not in back["error_message"]
