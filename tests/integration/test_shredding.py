"""Crypto-shredding on a real Kafka (R16, safe defaults 2 and 3).

A child's quarantined event is stored sealed with the subject's data key; a
late consent still releases the original bytes. A guardian DELETE request
destroys another subject's key: KEY_DESTROYED is audited with a receipt, the
key is tombstoned, the held payload no longer decrypts, and the worker closes
the entry as EXPIRED/KEY_DESTROYED. The operator CLI refuses to release a
payload whose key was destroyed.
"""

from __future__ import annotations

import base64
import json
import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.integration.harness import TEST_KEY, TEST_MASTER_KEY, Workspace, header
from tests.integration.test_enforcer import (
    ALL,
    audits,
    birthday,
    click,
    on_sink,
    quarantine_codec,
    sid,
)

from wardstream.audit.pseudonym import SubjectPseudonymizer, parse_key
from wardstream.config.settings import AuditSettings, Settings
from wardstream.crypto import MasterKey, receipt
from wardstream.enforce.datakeys import KeyDestroyed, KeyRing, KeyStore, key_record_key
from wardstream.enforce.quarantine import Entry, QuarantineBook
from wardstream.enforce.records import InRecord
from wardstream.engines.bootstrap import prepare
from wardstream.engines.keysetup import StartupError
from wardstream.kafka.admin import TopicSpec, ensure_topics, topic_config
from wardstream.kafka.audit_log import scan_topic
from wardstream.lifecycle.shredding import CLEANER_MARGIN_MS
from wardstream.serde import Origin

pytestmark = pytest.mark.integration

MASTER = MasterKey(parse_key(TEST_MASTER_KEY))
REFS = SubjectPseudonymizer(parse_key(TEST_KEY), AuditSettings().key_id)
SEGMENT_MS = LAG_MS = DELETE_DELAY_MS = 1000
"""Small keys-topic bounds, so a destroyed key must be gone from the log within ~1 min."""
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
    workspace.env.update(
        WARDSTREAM__LIFECYCLE__SWEEP_EVERY_S="0.5",
        WARDSTREAM__LIFECYCLE__KEYS_SEGMENT_MS=str(SEGMENT_MS),
        WARDSTREAM__LIFECYCLE__KEYS_MAX_COMPACTION_LAG_MS=str(LAG_MS),
        WARDSTREAM__LIFECYCLE__KEYS_FILE_DELETE_DELAY_MS=str(DELETE_DELAY_MS),
        WARDSTREAM__LIFECYCLE__SHRED_GRACE_S="120",
    )
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


def ref(subject: str) -> bytes:
    return REFS.ref(subject).encode()


def held(ws: Workspace, subject: str) -> tuple[Any, dict[str, Any]]:
    """The QUARANTINED record of ``subject``: keyed by its ref, never the raw id."""
    [rec] = ws.wait_for(ws.topics["quarantine"], lambda r: r.key == ref(subject))
    return rec, quarantine_codec.decode(rec.value, origin=Origin("q", 0, 0))


def everything(ws: Workspace, topic: str) -> list[Any]:
    """Every record on ``topic`` now, from the beginning (what a new reader gets)."""
    return list(scan_topic({"bootstrap_servers": ws.bootstrap}, topic, "keys"))


def key_store(ws: Workspace) -> KeyStore:
    store = KeyStore(refs=REFS.ref)
    for r in everything(ws, keys_topic(ws)):
        store.apply(r.key, r.value)
    return store


def wrapped_of(record: Any) -> bytes:
    """The wrapped key bytes of a keys-topic record (a receipt is their sha256)."""
    store = KeyStore()
    store.apply(record.key, record.value)
    [stored] = store.keys.values()
    return stored.wrapped


def book_with(ws: Workspace, store: KeyStore, record: Any) -> tuple[QuarantineBook, Entry]:
    ring = KeyRing(MASTER, keys_topic(ws), store, refs=REFS.ref)
    book = QuarantineBook(ws.topics["quarantine"], ring, refs=REFS.ref)
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
    assert datum["key"] != s.encode() and datum["subject_id"] == "" and s.encode() not in rec.value
    book, entry = book_with(ws, key_store(ws), rec)
    opened = book.open(entry)
    assert opened.record.value == value and opened.subject_id == s, "the stored key opens it"
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
    [key_rec] = ws.wait_for(keys_topic(ws), lambda r: r.key == key_record_key(REFS.ref(s), key_id))
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
        key = key_record_key(REFS.ref(s), datum["encryption"]["key_id"])
        ws.producer.send(keys_topic(ws), key=key, value=None)
        ws.flush()
        result = ws.cli("quarantine", "release", "--id", datum["quarantine_id"], *APPROVAL)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "data key was destroyed" in result.stderr and s not in result.stderr
    finally:
        ws.start()
    assert not ws.wait_for(ws.sink("clickstream"), lambda r: r.key == s.encode(), 1, 1)


def test_the_wrapped_key_leaves_the_log_by_gone_by_and_a_concurrent_key_is_destroyed_too(
    ws: Workspace,
) -> None:
    """Issue #23, 4: the keys topic is created so that a tombstoned key is compacted away
    within the bound KEY_DESTROYED states (segment.ms and max.compaction.lag.ms of 1 s
    here); a key made by a worker that had not yet read the deletion goes too."""
    s, _ = quarantined_child(ws)
    _, datum = held(ws, s)
    key = key_record_key(REFS.ref(s), datum["encryption"]["key_id"])
    [key_rec] = ws.wait_for(keys_topic(ws), lambda r: r.key == key)
    ws.request(s, f"r-{s}")
    ws.flush()
    [first] = [a for a in audits(ws, s, 3, control=True) if a["action"] == "KEY_DESTROYED"]
    # another worker, not yet aware of the deletion, creates a key for the subject now
    _, late_id, [late] = KeyRing(MASTER, keys_topic(ws), refs=REFS.ref).seal(
        s, "q-late", InRecord("app", 0, 0, None, b"x", None)
    )
    ws.producer.send(keys_topic(ws), key=late.key, value=late.value)
    ws.flush()

    def destroyed(r: Any) -> bool:
        return r.key == late.key and r.value is None

    assert ws.wait_for(keys_topic(ws), destroyed, timeout=30), "the late key is tombstoned"
    second = [a for a in audits(ws, s, 4, control=True) if a["action"] == "KEY_DESTROYED"][1:]
    assert second and second[0]["attrs"]["key_ids"] == late_id
    assert second[0]["attrs"]["late"] == "true"
    gone_by = max(datetime.fromisoformat(a["attrs"]["gone_by"]) for a in (first, second[0]))
    bound_s = (SEGMENT_MS + LAG_MS + DELETE_DELAY_MS + CLEANER_MARGIN_MS) / 1000
    assert gone_by - datetime.now(UTC) < timedelta(seconds=bound_s + 1)
    while True:  # read the log from the beginning until both wrapped keys are gone
        left = [
            r
            for r in everything(ws, keys_topic(ws))
            if r.key in (key_rec.key, late.key) and r.value is not None
        ]
        if not left:
            break
        assert datetime.now(UTC) < gone_by, f"{len(left)} wrapped key(s) in the log past gone_by"
        time.sleep(1.0)


def test_junk_on_the_keys_topic_does_not_stop_the_worker(ws: Workspace) -> None:
    """Issue #23, 5: a value of [] stopped every worker; junk with the smallest key id of
    a subject was chosen for sealing and every seal for that subject failed."""
    s = sid()
    rng = random.Random(23)
    junk = [
        (b"x|k-1", b"[]"),
        (key_record_key(REFS.ref(s), "k-0000"), _junk_key(bytes(60))),  # does not unwrap
        (b"\xff\xfe|k-2", b"{}"),
        *(
            (rng.randbytes(rng.randint(1, 40)), rng.randbytes(rng.randint(0, 90)))
            for _ in range(50)
        ),
    ]
    for k, v in junk:
        ws.producer.send(keys_topic(ws), key=k, value=v)  # a compacted topic needs a key
    ws.subject(s, birth=birthday(9))
    ws.flush()
    value = ws.codec("clickstream").encode(click(s))
    ws.event("clickstream", raw=value, key=s.encode())
    ws.flush()
    assert audits(ws, s)[0]["action"] == "QUARANTINED", "the worker still decides"
    _, datum = held(ws, s)
    assert datum["encryption"]["key_id"] != "k-0000", "never a key that does not unwrap"
    ws.consent(s, f"c-{s}", categories=ALL, effective_at=datetime.now(UTC))
    ws.flush()
    [out] = on_sink(ws, "clickstream", s)
    assert out.value == value
    assert ws.proc is not None and ws.proc.poll() is None, ws.log_tail()
    letters = ws.wait_for(
        ws.topics["deadletter"], lambda r: keys_topic(ws).encode() in (r.value or b""), 3
    )
    assert len(letters) >= 3, "records that do not parse are dead-lettered"


def _junk_key(wrapped: bytes) -> bytes:
    return json.dumps({"v": 2, "alg": "AES-256-GCM", "by": MASTER.key_id, "at": 0,
                       "wrapped": base64.b64encode(wrapped).decode()}).encode()  # fmt: skip


def test_a_keys_topic_that_would_keep_destroyed_keys_is_refused(kafka_bootstrap: str) -> None:
    """Issue #23, 4: cleanup.policy=delete was accepted, and tombstones then do nothing."""
    prefix = f"kpol{uuid.uuid4().hex[:8]}"
    settings = Settings(
        kafka={"bootstrap_servers": kafka_bootstrap},
        topics={"subjects": f"{prefix}.ward.subjects"},
    )
    config = {"bootstrap_servers": kafka_bootstrap}
    ensure_topics(config, [TopicSpec(f"{prefix}.ward.keys", 1, 1, {"cleanup.policy": "delete"})])
    with pytest.raises(StartupError) as refused:
        prepare(settings, [])
    message = str(refused.value)
    assert "cleanup.policy=delete" in message and f"--entity-name {prefix}.ward.keys" in message
    fresh = Settings(
        kafka={"bootstrap_servers": kafka_bootstrap},
        topics={"subjects": f"{prefix}b.ward.subjects"},
    )
    prepare(fresh, [])  # created by the worker: accepted
    assert topic_config(config, f"{prefix}b.ward.keys")["segment.ms"] == "3600000"
