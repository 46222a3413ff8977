"""AuditRecord.avsc: parses with fastavro and Apache avro, and records written by
one are read by the other, byte for byte the same."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import avro.io
import avro.schema
import fastavro
import pytest

from wardstream.audit.chain import ChainWriter, hash_of_written, record_hash
from wardstream.domain.audit import AuditRecord
from wardstream.domain.enums import AuditAction

SCHEMA_TEXT = (Path(__file__).resolve().parents[3] / "schemas" / "AuditRecord.avsc").read_text()
FAST = fastavro.parse_schema(json.loads(SCHEMA_TEXT))
APACHE = avro.schema.parse(SCHEMA_TEXT)
AT = datetime(2026, 5, 17, 9, 30, 15, 123000, tzinfo=UTC)


def fast_encode(datum: object) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, FAST, datum)
    return buf.getvalue()


def apache_encode(datum: object) -> bytes:
    buf = io.BytesIO()
    avro.io.DatumWriter(APACHE).write(datum, avro.io.BinaryEncoder(buf))
    return buf.getvalue()


def apache_decode(data: bytes) -> dict[str, object]:
    return avro.io.DatumReader(APACHE).read(avro.io.BinaryDecoder(io.BytesIO(data)))  # type: ignore[return-value]


def fast_decode(data: bytes) -> dict[str, object]:
    return fastavro.schemaless_reader(io.BytesIO(data), FAST, FAST)  # type: ignore[return-value]


RECORDS = {
    "quarantine": dict(
        action=AuditAction.QUARANTINED,
        rule="CN-CPI-2019/art9",
        reason="NO_GUARDIAN_CONSENT",
        subject_ref="k1:" + "ab" * 32,
        event_ref="app.clickstream/3/1200",
    ),
    "redaction": dict(
        action=AuditAction.REDACTED, consent_id="c-9", fields_redacted=("geo", "device_id")
    ),
    "summary": dict(
        action=AuditAction.SUMMARY,
        reason="ADULT",
        counts={"TAGGED": 2, "PASSED": 1_000_000_000_000},
        attrs={"window_start": AT.isoformat()},
    ),
    "deletion": dict(action=AuditAction.DELETION_ISSUED, deadline=AT, attrs={"deletion_id": "d1"}),
    "newer action": dict(action="SOME_FUTURE_ACTION"),
}


def test_the_schema_is_a_wardstream_record_with_hash_last() -> None:
    schema = json.loads(SCHEMA_TEXT)
    assert (schema["namespace"], schema["name"]) == ("wardstream", "AuditRecord")
    names = [f["name"] for f in schema["fields"]]
    assert names[-2:] == ["prev_hash", "hash"]
    spec = "audit_id at worker pipeline action rule reason subject_ref event_ref consent_id"
    assert set(spec.split()) | {"fields_redacted", "counts", "chain", "seq"} <= set(names)
    for field in schema["fields"]:
        if isinstance(field["type"], list):
            assert field["type"][0] == "null" and field["default"] is None, field["name"]


@pytest.mark.parametrize("kind", list(RECORDS))
def test_records_round_trip_between_fastavro_and_apache_avro(kind: str) -> None:
    writer = ChainWriter("clickstream/3", fast_encode)
    record = writer.append(at=AT, worker="w-1", pipeline="clickstream", **RECORDS[kind])
    by_fast, by_apache = fast_encode(record.to_dict()), apache_encode(record.to_dict())
    assert by_fast == by_apache == writer.last_written
    assert AuditRecord.from_dict(apache_decode(by_fast)) == record
    assert AuditRecord.from_dict(fast_decode(by_apache)) == record
    assert record_hash(record, apache_encode) == record.hash == hash_of_written(by_apache)


def test_timestamps_are_aware_utc_after_decoding() -> None:
    record = ChainWriter("c/0", fast_encode).append(
        at=AT, worker="w", pipeline="c", action="DROPPED", deadline=AT
    )
    for decoded in (
        apache_decode(fast_encode(record.to_dict())),
        fast_decode(fast_encode(record.to_dict())),
    ):
        back = AuditRecord.from_dict(decoded)
        assert back.at == AT and back.at.tzinfo is UTC and back.deadline == AT
