"""Crypto-shredding: the envelope, the key ring, the quarantine book and the shred hook."""

from __future__ import annotations

import pickle
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.unit.conftest import RECORDS, REFS

from wardstream.crypto import (
    KeyUnavailable,
    MasterKey,
    SealBroken,
    new_data_key,
    open_sealed,
    receipt,
    seal,
    unwrap_key,
    wrap_key,
)
from wardstream.domain.enums import AuditAction
from wardstream.enforce.datakeys import (
    KeyDestroyed,
    KeyRing,
    open_record,
    seal_record,
)
from wardstream.enforce.quarantine import Entry, QuarantineBook
from wardstream.enforce.records import InRecord, OutRecord
from wardstream.lifecycle.applier import LifecycleState
from wardstream.lifecycle.shredding import shredder
from wardstream.serde import AvroCodec, Origin, record_schema

MASTER = MasterKey(bytes(range(32)))
OTHER = MasterKey(bytes(range(1, 33)))
NOW = datetime(2025, 3, 1, tzinfo=UTC)
PLAIN = b'{"user_id": "kid-1", "name": "Lin Xiaoming", "phone": "13800138000"}'


def _record(value: bytes | None = PLAIN) -> InRecord:
    headers = (("trace", b"abc"), ("empty", None))
    return InRecord("app.clicks", 1, 42, b"kid-1", value, 1_700_000_000_000, headers)


def _entry(rec: InRecord, qid: str = "q-1", subject: str = "kid-1") -> Entry:
    return Entry(qid, "clickstream", subject, "NO_GUARDIAN_CONSENT", rec, NOW, NOW + timedelta(7))


# -- the envelope ---------------------------------------------------------------------------
def test_seal_round_trip_and_a_fresh_nonce_every_time() -> None:
    key = new_data_key()
    a, b = seal(key, b"q-1|value", PLAIN), seal(key, b"q-1|value", PLAIN)
    assert a != b and PLAIN not in a
    assert open_sealed(key, b"q-1|value", a) == PLAIN == open_sealed(key, b"q-1|value", b)


def test_wrong_data_key_fails() -> None:
    blob = seal(new_data_key(), b"q-1|value", PLAIN)
    with pytest.raises(SealBroken):
        open_sealed(new_data_key(), b"q-1|value", blob)


def test_associated_data_mismatch_fails() -> None:
    key = new_data_key()
    blob = seal(key, b"q-1|value", PLAIN)
    with pytest.raises(SealBroken):
        open_sealed(key, b"q-2|value", blob)
    with pytest.raises(SealBroken):
        open_sealed(key, b"q-1|value", blob[:-1] + bytes([blob[-1] ^ 1]))


def test_wrapping_binds_the_key_to_its_subject_and_master_key() -> None:
    data_key = new_data_key()
    wrapped = wrap_key(MASTER, "kid-1", "k-1", data_key)
    assert data_key not in wrapped
    assert unwrap_key(MASTER, "kid-1", "k-1", wrapped) == data_key
    for master, subject, kid in ((OTHER, "kid-1", "k-1"), (MASTER, "kid-2", "k-1"),
                                 (MASTER, "kid-1", "k-2")):  # fmt: skip
        with pytest.raises(KeyUnavailable):
            unwrap_key(master, subject, kid, wrapped)


def test_key_material_never_shows() -> None:
    secret = bytes(range(32))
    assert secret.hex() not in repr(MASTER) and "secret" in str(MASTER)
    with pytest.raises(TypeError):
        pickle.dumps(MASTER)
    with pytest.raises(ValueError, match="32 bytes"):
        MasterKey(b"short")
    ring = KeyRing(MASTER, "ward.keys", refs=REFS.ref)
    ring.seal("kid-1", "q-1", _record())
    [wrapped] = [s.wrapped for s in ring.store.keys.values()]
    assert wrapped.hex() not in repr(ring) and "kid-1" not in repr(ring)
    assert receipt(wrapped).startswith("sha256:") and wrapped.hex() not in receipt(wrapped)


def test_record_parts_are_bound_to_their_place() -> None:
    key = new_data_key()
    sealed = seal_record(key, "q-1", _record())
    assert sealed.value != PLAIN and sealed.key != b"kid-1" and sealed.headers[1] == ("empty", None)
    assert open_record(key, "q-1", sealed) == _record()
    swapped = InRecord(sealed.topic, 1, 42, sealed.value, sealed.key, None, sealed.headers)
    with pytest.raises(SealBroken):
        open_record(key, "q-1", swapped)
    with pytest.raises(SealBroken):
        open_record(key, "q-2", sealed)


# -- the book and the ring ---------------------------------------------------------------
def _book() -> tuple[QuarantineBook, KeyRing]:
    ring = KeyRing(MASTER, "ward.keys", refs=REFS.ref)
    return QuarantineBook("ward.quarantine", ring, refs=REFS.ref), ring


def test_hold_writes_the_key_first_and_never_the_plaintext() -> None:
    book, _ = _book()
    out = book.hold(_entry(_record()), rule="r", now=NOW)
    assert [o.topic for o in out] == ["ward.keys", "ward.quarantine"]
    assert out[0].key is not None and out[0].key.startswith(REFS.ref("kid-1").encode() + b"|k-")
    assert out[1].key == REFS.ref("kid-1").encode(), "keyed by the subject ref"
    for rec in out:  # the raw id and the event's contents only inside sealed bytes
        assert b"kid-1" not in (rec.key or b"") + (rec.value or b"")
    assert PLAIN not in (out[1].value or b"") and b"abc" not in (out[1].value or b"")
    again = book.hold(_entry(_record(), "q-2"), rule="r", now=NOW)
    assert [o.topic for o in again] == ["ward.quarantine"], "one data key per subject"


def test_a_loaded_entry_opens_with_the_keys_read_back() -> None:
    book, ring = _book()
    key_rec, held = book.hold(_entry(_record()), rule="r", now=NOW)
    other = QuarantineBook(
        "ward.quarantine", KeyRing(MASTER, "ward.keys", refs=REFS.ref), refs=REFS.ref
    )
    assert other.ring is not None
    other.load(held.value or b"", Origin("ward.quarantine", 0, 0))
    [entry] = other.entries()
    with pytest.raises(KeyUnavailable):
        other.open(entry)  # the key record is not read yet: not destroyed, just unknown
    assert not other.is_shredded(entry)
    other.ring.store.apply(key_rec.key or b"", key_rec.value)
    opened = other.open(entry)
    assert opened.record == _record() and opened.subject_id == "kid-1"
    assert opened.event_time == NOW and entry.subject_id == "", "the id was sealed"
    assert other.for_subject("kid-1")[0].quarantine_id == "q-1"
    assert other.subjects() == ["kid-1"]
    with pytest.raises(KeyUnavailable):  # another master key does not unwrap it
        QuarantineBook("q", KeyRing(OTHER, "k", other.ring.store, refs=REFS.ref),
                       refs=REFS.ref).open(entry)  # fmt: skip


def test_a_book_reading_back_its_own_record_keeps_its_entry_as_written() -> None:
    """Not decoded again (``hold`` opened the entry): the entry keeps the subject id it
    knows, and an entry closed meanwhile is not opened again by the read-back."""
    book, _ = _book()
    _, held = book.hold(_entry(_record()), rule="r", now=NOW)
    origin = Origin("ward.quarantine", 0, 0)
    book.load(held.value or b"", origin)
    [entry] = book.entries()
    assert entry.subject_id == "kid-1", "not replaced by the decoded (sealed) entry"
    [second] = book.hold(_entry(_record(), "q-2"), rule="r", now=NOW)
    [closed] = [e for e in book.entries() if e.quarantine_id == "q-2"]
    book.close(closed, "RELEASED", NOW)
    book.load(second.value or b"", origin)
    assert [e.quarantine_id for e in book.entries()] == ["q-1"]
    # the same id written by another worker (other bytes) is read as usual
    other, _ = _book()
    _, theirs = other.hold(_entry(_record(), "q-2"), rule="r", now=NOW)
    book.load(theirs.value or b"", origin)
    assert sorted(e.quarantine_id for e in book.entries()) == ["q-1", "q-2"]


def test_an_unencrypted_entry_stays_readable() -> None:
    plain = QuarantineBook("ward.quarantine", refs=REFS.ref)
    [held] = plain.hold(_entry(_record()), rule="r", now=NOW)
    book, _ = _book()
    book.load(held.value or b"", Origin("ward.quarantine", 0, 0))
    [entry] = book.entries()
    assert entry.key_id is None and book.open(entry).record == _record()


def _audit(action: AuditAction, **fields: Any) -> OutRecord:
    return OutRecord("ward.audit", b"_control/0", repr((action.value, fields)).encode())


def test_shred_tombstones_the_key_audits_a_receipt_and_the_payload_is_gone() -> None:
    book, ring = _book()
    book.hold(_entry(_record()), rule="r", now=NOW)
    [entry] = book.entries()
    [wrapped] = [s.wrapped for s in ring.store.keys.values()]
    tomb, audit = shredder(ring, _audit)("kid-1", "del-1")
    assert tomb.topic == "ward.keys" and tomb.value is None and tomb.key == entry_key(entry)
    text = (audit.value or b"").decode()
    assert "KEY_DESTROYED" in text and receipt(wrapped) in text and "del-1" in text
    assert wrapped.hex() not in text and "gone_by" in text and "kid-1" not in text
    assert book.is_shredded(entry)
    with pytest.raises(KeyDestroyed):
        book.open(entry)
    assert shredder(ring, _audit)("kid-1", "del-1") == [], "nothing left to destroy"


def test_the_book_finds_what_to_close_without_reading_every_entry() -> None:
    """``closing``: entries past their window, and every entry of a destroyed key; not an
    entry held again with a later window, nor one closed already."""
    book, ring = _book()
    late = NOW + timedelta(days=2)
    for qid, subject, expires in [
        ("q-1", "kid-1", NOW),
        ("q-2", "kid-2", late),
        ("q-3", "kid-2", late),
    ]:
        book.hold(replace(_entry(_record(), qid, subject), expires_at=expires), rule="r", now=NOW)
    assert book.closing(NOW - timedelta(seconds=1)) == []
    assert [e.quarantine_id for e in book.closing(NOW)] == ["q-1"]
    book.hold(replace(_entry(_record(), "q-1"), expires_at=late), rule="r", now=NOW)  # a replay
    assert book.closing(NOW + timedelta(days=1)) == []
    shredder(ring, _audit)("kid-2", "del-1")
    assert [e.quarantine_id for e in book.closing(NOW)] == ["q-2", "q-3"]
    [q2] = [e for e in book.entries() if e.quarantine_id == "q-2"]
    book.close(q2, "EXPIRED", NOW)
    assert [e.quarantine_id for e in book.closing(late)] == ["q-1", "q-3"]


def entry_key(entry: Entry) -> bytes:
    return f"{entry.subject_ref}|{entry.key_id}".encode()


def test_a_tombstone_read_from_the_topic_destroys_the_key_on_every_worker() -> None:
    book, ring = _book()
    book.hold(_entry(_record()), rule="r", now=NOW)
    [entry] = book.entries()
    lifecycle = LifecycleState(keys=ring.store, records=RECORDS)
    lifecycle.keys.apply(entry_key(entry), None)
    with pytest.raises(KeyDestroyed):
        book.open(entry)
    book.hold(_entry(_record(), "q-9"), rule="r", now=NOW)  # a later event gets a new key
    fresh = next(e for e in book.entries() if e.quarantine_id == "q-9")
    assert fresh.key_id != entry.key_id and book.open(fresh).record == _record()


def test_a_subjects_key_is_unwrapped_once_and_not_kept_past_its_tombstone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    book, ring = _book()
    unwrapped: list[str] = []
    unwrap = ring.unwrap
    monkeypatch.setattr(ring, "unwrap", lambda kid, s: unwrapped.append(kid) or unwrap(kid, s))
    book.hold(_entry(_record()), rule="r", now=NOW)  # a new key: nothing to unwrap
    [entry] = book.entries()
    ring.store.put("k-other", replace(ring.store.keys[entry.key_id], owner="ref-other"))
    ring.store.forget("k-other")  # another subject's keys change: this one's stays kept
    for n in range(2, 5):
        book.hold(_entry(_record(), f"q-{n}"), rule="r", now=NOW)
    assert len(book.entries()) == 4 and unwrapped == [], "the key the ring made is kept"
    ring._unwrapped.clear()  # as after a restart: the key is read from the store
    book.hold(_entry(_record(), "q-5"), rule="r", now=NOW)
    book.hold(_entry(_record(), "q-6"), rule="r", now=NOW)
    assert unwrapped == [entry.key_id], "unwrapped once"
    ring.store.apply(entry_key(entry), None)  # its tombstone
    assert ring.existing("kid-1") is None, "a destroyed key is never handed out again"
    book.hold(_entry(_record(), "q-7"), rule="r", now=NOW)
    fresh = next(e for e in book.entries() if e.quarantine_id == "q-7")
    assert fresh.key_id != entry.key_id


# -- fail closed ------------------------------------------------------------------------
def test_no_master_key_means_no_worker(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MASTER_KEY", "MASTER_KEY_FILE", "ENCRYPT_QUARANTINE"):
        monkeypatch.delenv(f"WARDSTREAM__LIFECYCLE__{name}", raising=False)
    from wardstream.config.settings import Settings
    from wardstream.engines.keysetup import StartupError, key_ring

    with pytest.raises(StartupError, match="MASTER_KEY"):
        key_ring(Settings())
    with pytest.raises(StartupError, match="32 bytes"):
        key_ring(Settings(lifecycle={"master_key": "00" * 16}))
    secret = tmp_path / "master"
    secret.write_text(bytes(range(100, 132)).hex() + "\n")
    audit = {"hmac_key": bytes(range(140, 172)).hex()}
    ring = key_ring(Settings(lifecycle={"master_key_file": secret}, audit=audit))
    assert ring is not None and bytes(range(100, 132)).hex() not in repr(ring)
    assert key_ring(Settings(lifecycle={"encrypt_quarantine": False})) is None


def test_a_quarantine_record_of_the_first_format_is_still_read() -> None:
    """Keyed and named by the raw subject id (before issue #23): found by the subject's ref."""
    codec = AvroCodec(record_schema("QuarantinedEvent"))
    datum = {"quarantine_id": "q-old", "pipeline": "clickstream", "subject_id": "kid-1",
             "reason": "NO_GUARDIAN_CONSENT", "key": b"kid-1", "value": PLAIN, "headers": [],
             "origin_topic": "app.clicks", "origin_partition": 1, "origin_offset": 42,
             "quarantined_at": NOW, "expires_at": NOW + timedelta(7)}  # fmt: skip
    book, _ = _book()
    book.load(codec.encode(datum), Origin("ward.quarantine", 0, 0))
    [entry] = book.for_subject("kid-1")
    assert entry.subject_ref == REFS.ref("kid-1") and book.open(entry).record.value == PLAIN
    assert book.subjects() == ["kid-1"]
    closed = book.close(entry, "EXPIRED", NOW)
    assert closed.key == REFS.ref("kid-1").encode() and b"kid-1" not in (closed.value or b"")
