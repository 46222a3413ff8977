"""The quarantine book's records, encoded natively, are fastavro's bytes for the datum
the book wrote before (the schema's every field), and Apache avro reads them back; the
payload and subject sealed natively open with the Python reader (``QuarantineBook.open``)
and with nothing else."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import avro.io
import avro.schema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wardstream.crypto import ALGORITHM, MasterKey, SealBroken
from wardstream.enforce.datakeys import KeyRing
from wardstream.enforce.quarantine import EXPIRED, QUARANTINED, RELEASED, Entry, QuarantineBook
from wardstream.enforce.records import InRecord
from wardstream.serde import AvroCodec, record_schema

FASTAVRO = AvroCodec(record_schema("QuarantinedEvent"))
APACHE = avro.schema.parse(record_schema("QuarantinedEvent").text)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

texts = st.text(max_size=12)
blobs = st.none() | st.binary(max_size=40)
moments = st.integers(-(10**15), 10**15).map(lambda us: EPOCH + timedelta(microseconds=us))
records = st.builds(
    InRecord,
    texts,
    st.integers(0, 2**31 - 1),
    st.integers(0, 2**62),
    blobs,
    blobs,
    st.none() | st.integers(0, 2**45),
    st.lists(st.tuples(texts, blobs), max_size=3).map(tuple),
)
entries = st.builds(
    Entry,
    texts,
    texts,
    texts,
    texts,
    records,
    st.none() | moments,
    moments,
    st.none() | texts,
    texts,
    st.none() | st.binary(max_size=30),
)


def reference(book: QuarantineBook, entry: Entry, status: str, now: datetime, rule: Any) -> bytes:
    """The datum as the book built it for fastavro (before the native encoder)."""
    rec = entry.record
    datum: dict[str, Any] = {
        "quarantine_id": entry.quarantine_id,
        "pipeline": entry.pipeline,
        "subject_id": "" if book.ring is not None else entry.subject_id,
        "subject_ref": entry.subject_ref,
        "reason": entry.reason,
        "headers": [],
        "origin_topic": rec.topic,
        "origin_partition": rec.partition,
        "origin_offset": rec.offset,
        "quarantined_at": now,
        "expires_at": entry.expires_at,
        "status": status,
    }
    if rule is not None:
        ts = rec.timestamp_ms
        datum |= {
            "rule": rule,
            "key": rec.key,
            "value": rec.value,
            "headers": [{"key": k, "value": v} for k, v in rec.headers],
            "origin_timestamp": None
            if entry.sealed or ts is None
            else datetime.fromtimestamp(ts / 1000, UTC),
            "event_time": None if entry.sealed else entry.event_time,
            "encryption": None
            if entry.key_id is None
            else {"key_id": entry.key_id, "alg": ALGORITHM},
            "sealed": entry.sealed,
        }
    return FASTAVRO.encode(datum)


@settings(max_examples=500, deadline=None)
@given(entries, moments, st.sampled_from([QUARANTINED, RELEASED, EXPIRED]), st.booleans())
def test_the_native_encoding_is_fastavros(
    entry: Entry, now: datetime, status: str, full: bool
) -> None:
    book = QuarantineBook("ward.quarantine", refs=str)
    rule = "r-1" if full else None
    written = book._encode(entry, status, now, rule)
    assert written == reference(book, entry, status, now, rule)
    decoded = avro.io.DatumReader(APACHE).read(avro.io.BinaryDecoder(io.BytesIO(written)))
    assert decoded["quarantine_id"] == entry.quarantine_id and decoded["status"] == status


@settings(max_examples=300, deadline=None)
@given(records, st.text(min_size=1, max_size=20), st.none() | moments)
def test_a_natively_sealed_entry_opens_with_the_python_reader(
    rec: InRecord, subject_id: str, event_time: datetime | None
) -> None:
    ring = KeyRing(MasterKey(b"m" * 32), "ward.keys", refs=lambda s: "ref:" + s)
    book = QuarantineBook("ward.quarantine", ring, refs=ring.refs)
    entry = Entry("q-1", "p", subject_id, "NO_CONSENT", rec, event_time, EPOCH)
    book.hold(entry, rule="r", now=EPOCH)
    [held] = book.entries()
    assert held.record.value != rec.value or rec.value is None, "sealed"
    sealed = replace(held, subject_id="")  # as another worker loads it
    opened = book.open(sealed)
    assert opened.record == rec and opened.subject_id == subject_id
    ms = None if event_time is None else int(event_time.timestamp() * 1000)
    assert opened.event_time == (None if ms is None else datetime.fromtimestamp(ms / 1000, UTC))
    if rec.value is not None:  # bound to its place: another entry's id does not open it
        with pytest.raises(SealBroken):
            book.open(replace(sealed, quarantine_id="q-2"))
