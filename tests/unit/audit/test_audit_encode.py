"""The hand-written AuditRecord encoder writes exactly fastavro's bytes, which Apache avro reads."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import avro.io
import avro.schema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wardstream.audit.chain import ChainError
from wardstream.audit.encode import FIELDS, encode_audit
from wardstream.domain.audit import AuditRecord
from wardstream.serde import AvroCodec, record_schema

SCHEMA = Path(__file__).resolve().parents[3] / "schemas" / "AuditRecord.avsc"
FASTAVRO = AvroCodec(record_schema("AuditRecord"))
APACHE = avro.schema.parse(SCHEMA.read_text())

text = st.text(max_size=40)
opt = st.none() | text
NAIVE_RANGE = {"min_value": datetime(1900, 1, 1), "max_value": datetime(2200, 1, 1)}  # noqa: DTZ001
times = st.datetimes(**NAIVE_RANGE, timezones=st.just(UTC))
records = st.builds(
    AuditRecord,
    audit_id=text,
    at=times,
    worker=text,
    pipeline=text,
    action=st.sampled_from(["PASSED", "QUARANTINED", "SUMMARY", "SOMETHING_NEW"]),
    chain=st.text(min_size=1, max_size=20),
    seq=st.integers(min_value=0, max_value=2**62),
    rule=opt,
    reason=opt,
    subject_ref=opt,
    event_ref=opt,
    consent_id=opt,
    fields_redacted=st.lists(text, max_size=4).map(tuple),
    counts=st.dictionaries(text, st.integers(min_value=-(2**62), max_value=2**62), max_size=4),
    deadline=st.none() | times,
    attrs=st.dictionaries(text, text, max_size=4),
    prev_hash=text,
    hash=text,
)


def test_the_encoder_knows_every_field_of_the_schema_in_order() -> None:
    assert tuple(f["name"] for f in json.loads(SCHEMA.read_text())["fields"]) == FIELDS


@settings(max_examples=500, deadline=None)
@given(records)
def test_bytes_equal_fastavros_and_apache_avro_reads_them(record: AuditRecord) -> None:
    datum = record.to_dict()
    data = encode_audit(datum)
    assert data == FASTAVRO.encode(datum)
    decoded = avro.io.DatumReader(APACHE).read(avro.io.BinaryDecoder(io.BytesIO(data)))
    assert decoded["seq"] == record.seq and decoded["attrs"] == dict(record.attrs)


def test_a_record_before_1970_and_a_deadline_round_trip() -> None:
    at = datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    record = AuditRecord("a", at, "w", "p", "PASSED", "p/0", 0, deadline=at + timedelta(days=1))
    assert encode_audit(record.to_dict()) == FASTAVRO.encode(record.to_dict())


def test_a_malformed_datum_is_a_chain_error_naming_the_problem() -> None:
    with pytest.raises(ChainError, match="KeyError"):
        encode_audit({"audit_id": "x"})
