"""A snapshot's run of stored profiles goes into the table at once (``load_stored_run``)
and restores exactly what ``load_stored`` record by record does; anything odd is left
to the record-by-record path."""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime

from wardstream.domain.subject import SubjectProfile
from wardstream.state.maps import ProfileMap
from wardstream.state.snapshot import STORED, decode_records, encode
from wardstream.state.snapshot_source import ProfileSource
from wardstream.state.table import BlobTable

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TOPICS = ("ward.subjects",)
HEAD = 0 | STORED


def profiles(n: int) -> ProfileMap:
    m = ProfileMap()
    for i in range(n):
        born = date(2010 + i % 12, 1 + i % 12, 1 + i % 28)
        m[f"kid-{i}"] = SubjectProfile(
            subject_id=f"kid-{i}", updated_at=AT, birth_date=born, jurisdiction="CN"
        )
    # deregistered: written as a record, not in the stored form
    m["gone-1"] = SubjectProfile(subject_id="gone-1", updated_at=AT, deregistered_at=AT)
    return m


def chunks(m: ProfileMap) -> list[bytes]:
    return list(encode(TOPICS, {}, 0.0, {TOPICS[0]: ProfileSource(m)}, chunk_bytes=4096))[1:]


def one_by_one(data: list[bytes]) -> ProfileMap:
    out = ProfileMap()
    for chunk in data:
        for _, stored, key, value in decode_records(chunk, TOPICS):
            if stored and key is not None:
                out.load_stored(key, value)
    return out


def test_a_run_restores_what_record_by_record_restores() -> None:
    data = chunks(profiles(500))
    assert len(data) > 1
    batch, loaded = ProfileMap(), 0
    for chunk in data:
        at, n = batch.load_stored_run(chunk, HEAD, 0)
        loaded += n
        rest = list(decode_records(chunk, TOPICS, at))
        assert all(not stored for _, stored, _, _ in rest), "only the records are left"
    reference = one_by_one(data)
    assert loaded == len(reference) == 500
    assert dict(batch.table.items()) == dict(reference.table.items())
    assert dict(batch.items()) == dict(reference.items())


def test_a_map_that_holds_objects_already_takes_the_record_by_record_path() -> None:
    chunk = chunks(profiles(3))[0]
    finer = SubjectProfile(subject_id="x", updated_at=AT.replace(microsecond=1))
    pinned, cached, gone = ProfileMap(), ProfileMap(), ProfileMap()
    pinned["x"] = finer  # kept as the object: a time finer than Avro's milliseconds
    cached["c"] = SubjectProfile(subject_id="c", updated_at=AT)
    assert pinned._pinned and cached.get("c") is not None and cached._hot and not cached.gone
    gone.gone.add(b"someone")
    for m in (pinned, cached, gone):
        assert m.load_stored_run(chunk, HEAD, 0) == (0, 0)


def record(key: bytes | None, value: bytes, head: int = HEAD) -> bytes:
    k = struct.pack("<BI", head, 0xFFFFFFFF) if key is None else struct.pack("<BI", head, len(key))
    return k + (key or b"") + struct.pack("<I", len(value)) + value


def test_the_table_leaves_odd_records_to_the_caller() -> None:
    good = record(b"a", b"1")
    for odd in (
        record(None, b"x"),
        record(b"\xff\xfe", b"x"),  # not UTF-8: load_stored would refuse it
        record(b"a", b"again"),  # held already
        record(b"b", b"x", head=0),  # another head
        record(b"c", b"cut short")[:-1],
    ):
        table = BlobTable()
        assert table.load_run(good + odd, HEAD, 0) == (len(good), 1)
        assert dict(table.items()) == {b"a": b"1"}
