"""ChainWriter: genesis, linkage, continuing after a restart, hashing."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import fastavro
import pytest

from wardstream.audit.chain import (
    GENESIS_HASH,
    ChainWriter,
    hash_of_written,
    is_intact,
    last_records,
    record_hash,
)
from wardstream.audit.encode import encode_audit
from wardstream.audit.errors import ChainError
from wardstream.domain.audit import AuditRecord
from wardstream.domain.enums import AuditAction

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "schemas" / "AuditRecord.avsc"
SCHEMA = fastavro.parse_schema(json.loads(SCHEMA_PATH.read_text()))
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def encode(datum: object) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, SCHEMA, datum)
    return buf.getvalue()


def write(writer: ChainWriter, n: int) -> list[AuditRecord]:
    return [
        writer.append(
            at=T0 + timedelta(seconds=i), worker="w", pipeline="clickstream", action="DROPPED"
        )
        for i in range(n)
    ]


def test_a_new_chain_starts_at_genesis_and_links_each_record_to_the_last() -> None:
    records = write(ChainWriter("clickstream/0", encode), 4)
    assert [r.seq for r in records] == [0, 1, 2, 3]
    assert records[0].prev_hash == GENESIS_HASH == "0" * 64
    assert [r.prev_hash for r in records[1:]] == [r.hash for r in records[:-1]]
    assert all(r.chain == "clickstream/0" and len(r.hash) == 64 for r in records)
    assert len({r.audit_id for r in records}) == 4


def test_the_hash_is_sha256_of_the_avro_bytes_with_an_empty_hash() -> None:
    writer = ChainWriter("c/0", encode)
    record = write(writer, 1)[0]
    canonical = encode({**record.to_dict(), "hash": ""})
    assert record.hash == hashlib.sha256(canonical).hexdigest() == record_hash(record, encode)
    assert writer.last_written == encode(record.to_dict())
    assert hash_of_written(writer.last_written) == record.hash
    assert is_intact(record, encode)


def test_hash_of_written_refuses_bytes_without_a_hash_field() -> None:
    assert hash_of_written(b"") is None
    assert hash_of_written(b"\x00" * 70) is None


def test_a_restarted_writer_continues_the_chain_it_is_given() -> None:
    first = ChainWriter("c/0", encode)
    before = write(first, 3)
    again = ChainWriter("c/0", encode, last=last_records(reversed(before))["c/0"])
    after = write(again, 2)
    assert [r.seq for r in after] == [3, 4] and after[0].prev_hash == before[-1].hash
    assert again.next_seq == 5 and again.last_hash == after[-1].hash


def test_the_writer_refuses_to_continue_from_another_chain_or_a_broken_record() -> None:
    last = write(ChainWriter("c/0", encode), 1)[0]
    with pytest.raises(ChainError, match="chain 'c/0'"):
        ChainWriter("c/1", encode, last=last)
    from dataclasses import replace

    with pytest.raises(ChainError, match="audit verify"):
        ChainWriter("c/0", encode, last=replace(last, reason="edited"))
    with pytest.raises(ChainError, match="chain id"):
        ChainWriter("", encode)


def test_an_encoder_of_another_schema_is_refused() -> None:
    with pytest.raises(ChainError, match="last field is hash"):
        write(ChainWriter("c/0", lambda datum: b"{}"), 1)


def test_a_failed_encoding_leaves_the_chain_where_it_was() -> None:
    calls = {"n": 0}

    def flaky(datum: object) -> bytes:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return encode(datum)

    writer = ChainWriter("c/0", flaky)
    first = write(writer, 1)[0]
    with pytest.raises(OSError):
        write(writer, 1)
    assert writer.next_seq == 1 and write(writer, 1)[0].prev_hash == first.hash


def test_last_records_picks_the_highest_seq_of_each_chain() -> None:
    a, b = write(ChainWriter("a/0", encode), 3), write(ChainWriter("b/0", encode), 2)
    tails = last_records([a[2], b[0], a[0], b[1], a[1]])
    assert tails == {"a/0": a[2], "b/0": b[1]}


def test_write_seals_the_same_bytes_as_append_and_moves_the_chain_on_the_same() -> None:
    fields = {
        "at": datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=timezone(timedelta(hours=8))),
        "worker": "w",
        "pipeline": "clickstream",
        "action": AuditAction.REDACTED,
        "rule": "CN-CPI-2019/art9",
        "reason": "CATEGORY_NOT_COVERED",
        "subject_ref": "k1:ab",
        "event_ref": "clicks:0:7",
        "consent_id": "k1:cd",
        "fields_redacted": ["geo", "device.ip"],
        "counts": {"b": 2, "a": 1},
        "deadline": T0 + timedelta(days=15, microseconds=999),
        "attrs": {"z": "1", "k": "2"},
    }
    ids = iter(["id-1", "id-2", "id-1", "id-2"])
    by_append = ChainWriter("c/0", encode, new_id=lambda: next(ids))
    by_write = ChainWriter("c/0", encode, new_id=lambda: next(ids))
    appended = [by_append.append(**fields) for _ in range(2)]
    written = [by_write.write(**fields) for _ in range(2)]
    assert written[1] == by_append.last_written and by_write.last_written == written[1]
    assert hash_of_written(written[0]) == appended[0].hash
    assert (by_write.next_seq, by_write.last_hash) == (2, appended[1].hash)
    with pytest.raises(ChainError, match="not an AuditRecord datum"):
        bad: dict[str, str] = {"k": 1}  # type: ignore[dict-item]
        ChainWriter("c/0", encode_audit).write(
            at=T0, worker="w", pipeline="p", action="X", attrs=bad
        )
