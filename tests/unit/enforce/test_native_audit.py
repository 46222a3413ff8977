"""The native audit sealer writes exactly the Python encoder's bytes and hashes.

Shared vectors: hypothesis draws whole AuditRecords (every field, empty and full maps
and lists, times before 1970, long sequence numbers) and writes each as the next record
of a chain with ``ChainWriter.write`` twice, once with the Python encoder and once with
``wardstream._native.seal_audit``: same bytes, same hash, same chain head. A chain
written partly by one path and continued by the other, as after a restart, verifies.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.audit.test_audit_encode import FASTAVRO, records

import wardstream._native as _native
from wardstream.audit.chain import ChainError, ChainWriter
from wardstream.audit.encode import encode_audit
from wardstream.audit.linkage import Position
from wardstream.audit.verify import verify_all
from wardstream.domain.audit import AuditRecord
from wardstream.serde import Origin

T = datetime(2026, 6, 1, 12, 0, 0, 123000, tzinfo=UTC)
ORIGIN = Origin("ward.audit", 0, 0)


def ids() -> Callable[[], str]:
    n = count()
    return lambda: f"id-{next(n)}"


def writers(last: AuditRecord | None = None) -> tuple[ChainWriter, ChainWriter]:
    python = ChainWriter("p/0", encode_audit, last, new_id=ids())
    native = ChainWriter("p/0", encode_audit, last, new_id=ids(), sealer=_native.seal_audit)
    return python, native


def read(written: bytes) -> AuditRecord:
    return AuditRecord.from_dict(FASTAVRO.decode(written, origin=ORIGIN))


def fields(record: AuditRecord) -> dict[str, object]:
    datum = record.to_dict()
    for name in ("audit_id", "chain", "seq", "prev_hash", "hash"):
        datum.pop(name)
    return datum


@settings(max_examples=1000, deadline=None)
@given(records, records)
def test_native_sealing_writes_the_python_bytes(first: AuditRecord, second: AuditRecord) -> None:
    python, native = writers()
    for record in (first, second):
        a = python.write(**fields(record))  # type: ignore[arg-type]
        b = native.write(**fields(record))  # type: ignore[arg-type]
        assert a == b
        assert python.last_hash == native.last_hash and python.next_seq == native.next_seq
    decoded = read(b)
    assert decoded.hash == native.last_hash and decoded.seq == 1


def test_a_chain_continued_by_the_other_path_verifies() -> None:
    python, _ = writers()
    written = [python.write(at=T, worker="w", pipeline="p", action="TAGGED", subject_ref="k:1")]
    _, native = writers(last=read(written[0]))  # a restart: the other path continues
    for n in range(3):
        at = T + timedelta(seconds=n)
        written.append(native.write(at=at, worker="w", pipeline="p", action="DROPPED"))
    python_again, _ = writers(last=read(written[-1]))
    counts = {"PASSED": 4}
    written.append(
        python_again.write(at=T, worker="w", pipeline="p", action="SUMMARY", counts=counts)
    )
    items = [(Position("ward.audit", 0, i), read(w), w) for i, w in enumerate(written)]
    result = verify_all(items, encode_audit)
    assert result.ok and result.checked == 5, result


def test_a_wrong_type_is_a_chain_error() -> None:
    _, native = writers()
    with pytest.raises(ChainError, match="TypeError"):
        native.write(at=T, worker="w", pipeline="p", action="TAGGED", rule=3)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.lists(records, min_size=1, max_size=6))
def test_a_batch_sealed_at_once_is_the_records_written_one_by_one(
    batch: list[AuditRecord],
) -> None:
    """``write_many`` (``seal_audits``): the bytes, hashes and chain head of writing each
    record in turn, with the Python encoder as with the native sealer."""
    one_by_one, _ = writers()
    many = ChainWriter("p/0", encode_audit, None, new_id=ids(), batch=_native.seal_audits)
    rows = []
    for record in batch:
        rows.append(
            (str(record.action), record.rule, record.reason, record.subject_ref,
             record.event_ref, record.consent_id, list(record.fields_redacted))
        )  # fmt: skip
    expected = [
        one_by_one.write(at=T, worker="w", pipeline="p", action=a, rule=r, reason=why,
                         subject_ref=ref, event_ref=e, consent_id=c, fields_redacted=f)
        for a, r, why, ref, e, c, f in rows
    ]  # fmt: skip
    assert many.write_many(at=T, worker="w", pipeline="p", rows=rows) == expected
    assert many.last_hash == one_by_one.last_hash and many.next_seq == len(batch)
    python = ChainWriter("p/0", encode_audit, None, new_id=ids())  # no batch sealer
    assert python.write_many(at=T, worker="w", pipeline="p", rows=rows) == expected
