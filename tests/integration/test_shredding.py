"""Crypto-shredding on a real Kafka (R16, safe defaults 2 and 3).

A child's quarantined event is stored sealed with the subject's data key; a
late consent still releases the original bytes. A guardian DELETE request
destroys another subject's key: KEY_DESTROYED is audited with a receipt, the
key is tombstoned, the held payload no longer decrypts, and the worker closes
the entry as EXPIRED/KEY_DESTROYED. The operator CLI refuses to release a
payload whose key was destroyed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.integration.harness import TEST_MASTER_KEY, Workspace, header
from tests.integration.test_enforcer import (
    ALL,
    audits,
    birthday,
    click,
    on_sink,
    quarantine_codec,
    sid,
)

from wardstream.audit.pseudonym import parse_key
from wardstream.crypto import MasterKey, receipt
from wardstream.enforce.datakeys import KeyDestroyed, KeyRing, KeyStore, key_record_key
from wardstream.enforce.quarantine import Entry, QuarantineBook
from wardstream.serde import Origin

pytestmark = pytest.mark.integration

MASTER = MasterKey(parse_key(TEST_MASTER_KEY))
APPROVAL = ("--approved-by", "dpo@example.com", "--purpose", "ticket T-9", "--reason", "paper")


@pytest.fixture(scope="module")
def ws(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    project = Path(__file__).resolve().parents[2]
    workspace = Workspace(
        tmp_path_factory.mktemp("shredding"),
        kafka_bootstrap,
        f"shr{uuid.uuid4().hex[:8]}",
        project,
        state_lateness_s=0.5,
        max_hold_s=8.0,
    )
    workspace.env.update(WARDSTREAM__LIFECYCLE__SWEEP_EVERY_S="0.5")
    try:
        workspace.start()
        yield workspace
    finally:
        workspace.close()


def keys_topic(ws: Workspace) -> str:
    return ws.topics["subjects"].rpartition(".")[0] + ".keys"


def quarantined_child(ws: Workspace) -> tuple[str, bytes]:
    """A child without consent whose click is quarantined; its id and the event bytes."""
    s = sid()
    ws.subject(s, birth=birthday(9))
    ws.flush()
    value = ws.codec("clickstream").encode(click(s))
    ws.event("clickstream", raw=value, key=s.encode())
    ws.flush()
    assert audits(ws, s)[0]["action"] == "QUARANTINED"
    return s, value


def held(ws: Workspace, subject: str) -> tuple[Any, dict[str, Any]]:
    [rec] = ws.wait_for(ws.topics["quarantine"], lambda r: r.key == subject.encode())
    return rec, quarantine_codec.decode(rec.value, origin=Origin("q", 0, 0))


def key_store(ws: Workspace) -> KeyStore:
    store = KeyStore()
    for r in ws.records(keys_topic(ws)):
        store.apply(r.key, r.value)
    return store


def wrapped_of(record: Any) -> bytes:
    """The wrapped key bytes of a keys-topic record (a receipt is their sha256)."""
    store = KeyStore()
    store.apply(record.key, record.value)
    [keys] = store.wrapped.values()
    [wrapped] = keys.values()
    return wrapped


def book_with(ws: Workspace, store: KeyStore, record: Any) -> tuple[QuarantineBook, Entry]:
    book = QuarantineBook(ws.topics["quarantine"], KeyRing(MASTER, keys_topic(ws), store))
    book.load(record.value, Origin(record.topic, record.partition, record.offset))
    [entry] = book.entries()
    return book, entry


def test_a_quarantined_payload_is_sealed_and_a_late_consent_still_releases_it(
    ws: Workspace,
) -> None:
    s, value = quarantined_child(ws)
    rec, datum = held(ws, s)
    assert datum["encryption"] is not None and datum["encryption"]["alg"] == "AES-256-GCM"
    assert datum["value"] != value and s.encode() not in datum["value"]
    assert datum["key"] != s.encode()
    book, entry = book_with(ws, key_store(ws), rec)
    assert book.open(entry).value == value, "the stored key opens it"
    ws.consent(s, f"c-{s}", categories=ALL, effective_at=datetime.now(UTC))
    ws.flush()
    [out] = on_sink(ws, "clickstream", s)
    assert out.value == value and header(out, "ward-age-band") == b"child"
    assert [a["action"] for a in audits(ws, s, count=2)] == ["QUARANTINED", "RELEASED"]


def test_a_guardian_delete_destroys_the_key_and_the_payload_no_longer_decrypts(
    ws: Workspace,
) -> None:
    s, _ = quarantined_child(ws)
    rec, datum = held(ws, s)
    key_id = datum["encryption"]["key_id"]
    [key_rec] = ws.wait_for(keys_topic(ws), lambda r: r.key == key_record_key(s, key_id))
    ws.request(s, f"r-{s}")
    ws.flush()
    destroyed = [a for a in audits(ws, s, 3, control=True) if a["action"] == "KEY_DESTROYED"]
    assert destroyed, "KEY_DESTROYED audited"
    [a] = destroyed
    assert a["chain"] == "_control/0" and s not in str(a) and TEST_MASTER_KEY not in str(a)
    assert a["attrs"]["receipts"] == receipt(wrapped_of(key_rec))
    assert a["attrs"]["key_ids"] == key_id
    tombs = ws.wait_for(keys_topic(ws), lambda r: r.key == key_rec.key and r.value is None)
    assert tombs, "the key is tombstoned on the keys topic"
    book, entry = book_with(ws, key_store(ws), rec)
    with pytest.raises(KeyDestroyed):
        book.open(entry)
    expired = [a for a in audits(ws, s, 2, timeout=20) if a["action"] == "EXPIRED"]
    assert expired and expired[0]["reason"] == "KEY_DESTROYED"
    ws.consent(s, f"c-{s}", categories=ALL, effective_at=datetime.now(UTC))
    ws.flush()
    time.sleep(2.0)
    assert not ws.wait_for(ws.sink("clickstream"), lambda r: r.key == s.encode(), 1, 1)


def test_the_operator_cannot_release_a_shredded_payload(ws: Workspace) -> None:
    s, _ = quarantined_child(ws)
    _, datum = held(ws, s)
    ws.stop()  # an operator acts while the entry is still open
    try:
        key = key_record_key(s, datum["encryption"]["key_id"])
        ws.producer.send(keys_topic(ws), key=key, value=None)
        ws.flush()
        result = ws.cli("quarantine", "release", "--id", datum["quarantine_id"], *APPROVAL)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "data key was destroyed" in result.stderr and s not in result.stderr
    finally:
        ws.start()
    assert not ws.wait_for(ws.sink("clickstream"), lambda r: r.key == s.encode(), 1, 1)
