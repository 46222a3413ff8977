"""The keys topic (issue #23): no raw id on it, a bad record never stops a worker, sealing
never picks a key that does not unwrap, late keys of a deleted subject are destroyed, and
the topic settings that bound how long a destroyed key stays readable."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.conftest import RECORDS, REFS
from tests.unit.policy.test_policy_support import T0, pipeline, policy

from wardstream.audit.pseudonym import SubjectPseudonymizer
from wardstream.crypto import MasterKey, new_data_key, open_sealed, seal, wrap_key
from wardstream.domain.enums import AuditAction
from wardstream.enforce.auditor import Auditor
from wardstream.enforce.datakeys import KeyRing
from wardstream.enforce.keystore import BadKeyRecord, KeyStore, key_record_key
from wardstream.enforce.quarantine import QuarantineBook
from wardstream.enforce.records import InRecord, OutRecord
from wardstream.enforce.state import StateStore
from wardstream.lifecycle.applier import LifecycleState, LifecycleTopics, StateApplier
from wardstream.lifecycle.compensation import PassLog
from wardstream.lifecycle.driver import LifecycleDriver
from wardstream.lifecycle.issuer import LifecycleIssuer
from wardstream.lifecycle.shredding import CLEANER_MARGIN_MS, ShredBound, Shredder
from wardstream.serde import AvroCodec, Origin, record_schema

MASTER = MasterKey(bytes(range(32)))
CLOCK = T0.timestamp()
TOPICS = LifecycleTopics(
    *(f"ward.{k}" for k in ("subjects", "consents", "quarantine", "requests")),
    *(f"ward.{k}" for k in ("deletions", "notices", "corrections", "seen")),
    *(f"ward.{k}" for k in ("control", "holds", "keys", "deadletter")),
)
REC = InRecord("app.clicks", 0, 5, b"kid-1", b'{"user_id":"kid-1"}', None)


def _ring(store: KeyStore | None = None, now: float = CLOCK) -> KeyRing:
    return KeyRing(MASTER, "ward.keys", store, refs=REFS.ref, clock=lambda: now)


def _applier(ring: KeyRing) -> StateApplier:
    book = QuarantineBook("ward.quarantine", ring, refs=REFS.ref)
    return StateApplier(
        TOPICS, StateStore(), book, LifecycleState(keys=ring.store, records=RECORDS)
    )


def _audit(action: AuditAction, **fields: Any) -> OutRecord:
    return OutRecord("ward.audit", b"_control/0", repr((action.value, fields)).encode())


# -- what is on the topic -------------------------------------------------------------------
def test_a_key_record_names_the_subject_by_its_ref_only() -> None:
    ring = _ring()
    _, key_id, [record] = ring.seal("kid-1", "q-1", REC)
    assert record.key == key_record_key(REFS.ref("kid-1"), key_id)
    assert b"kid-1" not in (record.key or b"") + (record.value or b"")
    doc = json.loads(record.value or b"")
    assert doc["v"] == 2 and doc["by"] == MASTER.key_id and doc["at"] == int(CLOCK * 1000)
    reader = _ring(KeyStore(refs=REFS.ref))
    reader.store.apply(record.key or b"", record.value)
    assert reader.existing("kid-1") is not None, "a worker that reads it back can use it"


def test_records_of_the_first_format_still_open() -> None:
    """Keyed ``<raw id>|<key id>`` and wrapped with the raw id: read, never lost."""
    data_key = new_data_key()
    wrapped = wrap_key(MASTER, "kid-1", "k-0001", data_key)
    value = json.dumps({"alg": "AES-256-GCM", "wrapped": base64.b64encode(wrapped).decode()})
    ring = _ring(KeyStore(refs=REFS.ref))
    ring.store.apply(b"kid-1|k-0001", value.encode())
    assert ring.data_key_by_id("k-0001") == data_key
    assert ring.existing("kid-1") == ("k-0001", data_key)
    assert KeyStore().apply(b"kid-1|k-0001", value.encode()) is None  # a sink-key holder skips it


# -- a bad record never stops a worker ----------------------------------------------------
BAD_VALUES = [b"[]", b"null", b"7", b"{}", b'{"wrapped": 7}', b'{"wrapped": "!!"}',
              b'{"wrapped": "AAAA"}', b'{"v": 3, "wrapped": "AAAA"}', b"\xff\xfe", b""]  # fmt: skip


@pytest.mark.parametrize("value", BAD_VALUES)
def test_a_bad_value_is_rejected_and_dead_lettered_not_raised(value: bytes) -> None:
    """A value of ``[]`` raised AttributeError out of the state reader before (issue #23, 5)."""
    ring = _ring()
    applier = _applier(ring)
    applier.apply("ward.keys", 0, 3, b"k1:ab|k-1", value)
    assert applier.rejected == 1 and [r.origin.offset for r in applier.rejects] == [3]
    assert ring.store.keys == {}


@settings(max_examples=300, deadline=None)
@given(key=st.binary(max_size=80), value=st.one_of(st.none(), st.binary(max_size=200)))
def test_fuzzed_records_change_nothing_or_are_rejected(key: bytes, value: bytes | None) -> None:
    store = KeyStore(refs=REFS.ref)
    try:
        store.apply(key, value)
    except BadKeyRecord:
        assert store.keys == {}


@settings(max_examples=200, deadline=None)
@given(doc=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c,
                                                                              max_size=4),
                        max_leaves=8))  # fmt: skip
def test_fuzzed_json_never_escapes_the_applier(doc: Any) -> None:
    ring = _ring()
    applier = _applier(ring)
    applier.apply("ward.keys", 0, 1, REFS.ref("kid-1").encode() + b"|k-1", json.dumps(doc).encode())
    sealed, _, _ = ring.seal("kid-1", "q-1", REC)  # and sealing still works
    assert sealed.value != REC.value


def test_sealing_never_picks_a_key_that_does_not_unwrap() -> None:
    """Junk of the right shape with the smallest key id was chosen and every seal raised."""
    ref = REFS.ref("kid-1")
    junk = {"v": 2, "alg": "AES-256-GCM", "wrapped": base64.b64encode(bytes(60)).decode(),
            "by": MASTER.key_id, "at": 0}  # fmt: skip
    ring = _ring()
    ring.store.apply(key_record_key(ref, "k-0000"), json.dumps(junk).encode())
    sealed, key_id, [new_key] = ring.seal("kid-1", "q-1", REC)
    assert key_id != "k-0000" and new_key.topic == "ward.keys"
    assert ring.open(key_id, "q-1", sealed) == REC
    assert ring.seal("kid-1", "q-2", REC)[1] == key_id, "the working key is used from then on"


# -- shredding: late keys and the bound ----------------------------------------------------
def test_a_key_created_concurrently_with_the_deletion_is_destroyed_too() -> None:
    ring = _ring()
    shredder = Shredder(ring, _audit, ShredBound(), grace_s=60)
    ring.seal("kid-1", "q-1", REC)
    first = shredder.shred("kid-1", "del-1")
    assert [r.value for r in first if r.topic == "ward.keys"] == [None]
    # another worker, which had not read the deletion, made a key 10 s later
    other = _ring(KeyStore(refs=REFS.ref), now=CLOCK + 10)
    _, late_id, [late] = other.seal("kid-1", "q-2", REC)
    ring.store.apply(late.key or b"", late.value)
    tomb, audit = shredder.destroy_late()
    assert (tomb.key, tomb.value) == (late.key, None) and late_id in (audit.value or b"").decode()
    assert "'late': 'true'" in (audit.value or b"").decode() and shredder.destroy_late() == []
    # a key made after the grace period is new data of a subject still using the service
    _, _, [fresh] = _ring(KeyStore(refs=REFS.ref), now=CLOCK + 600).seal("kid-1", "q-3", REC)
    ring.store.apply(fresh.key or b"", fresh.value)
    assert shredder.destroy_late() == []
    # and so is one made within it by a worker that had read the deletion
    aware = _ring(KeyStore(refs=REFS.ref), now=CLOCK + 20)
    aware.store.note_deleted(REFS.ref("kid-1"), "del-1", int(CLOCK + 60) * 1000)
    _, _, [known] = aware.seal("kid-1", "q-4", REC)
    assert json.loads(known.value or b"")["after"] == "del-1"
    ring.store.apply(known.key or b"", known.value)
    assert shredder.destroy_late() == []


def test_every_worker_learns_of_the_deletion_from_the_deletions_topic() -> None:
    """A new leader (or a restarted one) destroys keys left behind by the old one."""
    ring = _ring()
    _, key_id, [key] = ring.seal("kid-1", "q-1", REC)
    applier = _applier(_ring(KeyStore(refs=REFS.ref)))
    applier.apply("ward.keys", 0, 0, key.key, key.value)
    codec = AvroCodec(record_schema("DeletionRequest"))
    deletion = {"deletion_id": "del-1", "subject_id": "kid-1", "reason": "DEREGISTERED",
                "pipelines": ["clickstream"], "data_categories": [], "collected_before": T0,
                "issued_at": T0, "deadline": T0 + timedelta(days=15)}  # fmt: skip
    applier.apply("ward.deletions", 0, 0, b"kid-1", codec.encode(deletion))
    assert applier.lifecycle.keys.late == {key_id: "del-1"}


def test_key_destroyed_states_when_the_key_is_gone_and_the_leader_rolls_the_segment() -> None:
    bound = ShredBound(segment_ms=1000, max_compaction_lag_ms=2000)
    ring = _ring()
    shredder = Shredder(ring, _audit, bound)
    ring.seal("kid-1", "q-1", REC)
    tomb, audit = shredder.shred("kid-1", "del-1")
    ms = 1000 + 2000 + 60_000 + CLEANER_MARGIN_MS  # segment, lag, file.delete.delay, cleaner
    gone_by = datetime.fromtimestamp(CLOCK, UTC) + timedelta(milliseconds=ms)
    assert f"'gone_by': '{gone_by.isoformat(timespec='seconds')}'" in (audit.value or b"").decode()
    assert shredder.roll(CLOCK + 1.5) == []
    [roll] = shredder.roll(CLOCK + 2.0)  # the same tombstone again: its partition rolls
    assert (roll.topic, roll.key, roll.value) == ("ward.keys", tomb.key, None)
    assert shredder.roll(CLOCK + 9) == []
    ring.store.apply(roll.key or b"", None)  # read back by every worker: still destroyed
    assert len(ring.store.destroyed) == 1 and ring.store.keys == {}
    assert shredder.roll(CLOCK + 99) == [], "a roll read back is not rolled again"


def test_each_tombstone_is_rolled_segment_ms_after_itself() -> None:
    """The CI failure: a late key tombstoned 0.8 s after the first shred was rolled with
    it, 0.2 s after its own tombstone, which rolled nothing: on a quiet partition its
    wrapped key stayed in the active segment for good."""
    bound = ShredBound(segment_ms=1000, max_compaction_lag_ms=2000)
    ring = _ring()
    shredder = Shredder(ring, _audit, bound, grace_s=60)
    ring.seal("kid-1", "q-1", REC)
    shredder.shred("kid-1", "del-1")
    _, _, [late] = _ring(KeyStore(refs=REFS.ref), now=CLOCK + 0.5).seal("kid-1", "q-2", REC)
    ring.store.apply(late.key or b"", late.value)
    ring.clock = lambda: CLOCK + 0.8
    shredder.destroy_late()
    assert len(shredder.roll(CLOCK + 2.0)) == 1, "the first tombstone's roll only"
    assert shredder.roll(CLOCK + 2.7) == []
    [roll] = shredder.roll(CLOCK + 2.8)
    assert roll.key == late.key


def test_a_new_leader_rolls_the_tombstones_the_old_one_wrote() -> None:
    """Every worker schedules a roll for each tombstone it reads of a live key, so the
    roll survives the leader that wrote the tombstone; only the leader writes it."""
    bound = ShredBound(segment_ms=1000)
    _, _, [key] = _ring().seal("kid-1", "q-1", REC)
    ring = _ring(KeyStore(refs=REFS.ref))
    shredder = Shredder(ring, _audit, bound)
    ring.store.apply(key.key or b"", key.value)
    ring.store.apply(key.key or b"", None)  # the old leader's tombstone
    ring.store.apply(key.key or b"", None)  # and its roll, read before this worker's tick
    assert shredder.roll(CLOCK, leader=False) == []
    assert shredder.roll(CLOCK + 2.5, leader=False) == [], "due, but not the leader"
    [roll] = shredder.roll(CLOCK + 2.6, leader=True)  # it became leader
    assert (roll.key, roll.value) == (key.key, None)
    assert shredder.roll(CLOCK + 99, leader=True) == []
    # a worker that stays a follower drops the schedule one segment.ms after it was due
    ring.store.apply(key.key or b"", key.value)
    ring.store.apply(key.key or b"", None)
    shredder.roll(CLOCK + 100, leader=False)
    assert shredder.roll(CLOCK + 104, leader=False) == [] and shredder._rolls == {}


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"cleanup.policy": "delete"}, "cleanup.policy=delete"),
        ({"cleanup.policy": "compact,delete"}, "cleanup.policy=compact,delete"),
        ({"segment.ms": "604800000"}, "segment.ms=604800000"),
        ({"max.compaction.lag.ms": "9223372036854775807"}, "max.compaction.lag.ms="),
        ({"delete.retention.ms": "999999999"}, "delete.retention.ms="),
        ({"file.delete.delay.ms": "86400000"}, "file.delete.delay.ms="),
    ],
)
def test_a_keys_topic_that_breaks_the_bound_is_named(config: dict[str, str], problem: str) -> None:
    bound = ShredBound()
    good = bound.topic_config()
    assert bound.violations(good) == []
    [message] = bound.violations({**good, **config})
    assert problem in message


# -- dead letters of state records: sealed, once ------------------------------------------
def _driver(ring: KeyRing) -> tuple[LifecycleDriver, StateApplier]:
    applier = _applier(ring)
    applier.state.caught_up_at = CLOCK
    auditor = Auditor("ward.audit", "w1", SubjectPseudonymizer(b"k" * 32, "k1"))
    state, lifecycle = applier.state, applier.lifecycle
    issuer = LifecycleIssuer((pipeline(),), policy(), state, lifecycle, auditor, TOPICS)
    passes = PassLog({}, policy(), state)
    shredder = Shredder(ring, _audit)
    return LifecycleDriver(applier, issuer, passes, auditor, "ward.deadletter", shredder), applier


def test_a_rejected_profile_is_dead_lettered_sealed_and_only_once() -> None:
    ring = _ring()
    ring.seal("kid-1", "q-1", REC)  # the subject has a data key: its letter is sealed with it
    driver, applier = _driver(ring)
    profile = b'{"subject_id": "kid-1", "birth_date": "2015-06-01", "junk'
    applier.apply("ward.subjects", 0, 9, b"kid-1", profile)
    letters = [r for r in driver.tick(CLOCK, leader=True) if r.topic == "ward.deadletter"]
    [letter] = letters
    assert letter.key is None and letter.headers == ()
    assert b"kid-1" not in (letter.value or b"") and b"2015-06-01" not in (letter.value or b"")
    codec = AvroCodec(record_schema("DeadLetter"))
    datum = codec.decode(letter.value or b"", origin=Origin.unknown())
    found = ring.existing("kid-1")
    assert found is not None and datum["encryption"]["key_id"] == found[0]
    # a restart: the record is read again, and so is the letter already written
    again, applier2 = _driver(ring)
    applier2.apply("ward.deadletter", 0, 0, None, letter.value)
    applier2.apply("ward.subjects", 0, 9, b"kid-1", profile)
    assert [r for r in again.tick(CLOCK, leader=True) if r.topic == "ward.deadletter"] == []


def test_the_dead_letter_key_is_derived_and_opens_nothing_else() -> None:
    key = MASTER.derive("dead-letter/v1")
    assert key != MASTER.derive("sink-key/v1") and len(key) == 32
    blob = seal(key, b"a", b"2015-06-01")
    with pytest.raises(Exception, match="does not open"):
        open_sealed(MasterKey(bytes(range(1, 33))).derive("dead-letter/v1"), b"a", blob)
