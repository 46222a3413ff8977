"""``ward.seen`` and ``ward.holds`` carry no raw subject id outside sealed bytes (issue #23,
SPEC "Topics"), and records of the first format (raw ids in the clear) are written again
sealed by the lifecycle leader, their old keys tombstoned."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from tests.unit.conftest import RECORDS, REFS
from tests.unit.policy.test_policy_support import T0, pipeline, policy

from wardstream.domain.enums import DeletionReason
from wardstream.domain.holds import DeferredDeletion, LegalHold
from wardstream.domain.requests import DeletionRequest
from wardstream.enforce.auditor import Auditor
from wardstream.enforce.quarantine import QuarantineBook
from wardstream.enforce.records import OutRecord
from wardstream.enforce.state import StateStore
from wardstream.lifecycle.applier import LifecycleState, LifecycleTopics, StateApplier
from wardstream.lifecycle.compensation import PassLog
from wardstream.lifecycle.driver import LifecycleDriver
from wardstream.lifecycle.issuer import LifecycleIssuer
from wardstream.lifecycle.records import LifecycleRecords, SeenMark
from wardstream.lifecycle.records import _jsonable as lr_jsonable

TOPICS = LifecycleTopics(
    *(f"ward.{k}" for k in ("subjects", "consents", "quarantine", "requests")),
    *(f"ward.{k}" for k in ("deletions", "notices", "corrections", "seen")),
    *(f"ward.{k}" for k in ("control", "holds", "keys", "deadletter")),
)
SUBJECT = "kid-73519"
MARK = SeenMark(T0, T0 + timedelta(days=3))
NOW_MS = int(T0.timestamp() * 1000)
HOLD_READ = LegalHold(hold_id="h-1", subject_id=SUBJECT, placed_at=T0, case_ref="c")
HOLD = LegalHold(hold_id="h-1", subject_id=SUBJECT, placed_at=T0, case_ref="case-17")


def _deferred(deletion_id: str) -> DeferredDeletion:
    deletion = DeletionRequest(
        deletion_id=deletion_id,
        subject_id=SUBJECT,
        reason=DeletionReason.GUARDIAN_REQUEST,
        pipelines=("clickstream",),
        collected_before=T0,
        issued_at=T0,
        deadline=T0 + timedelta(days=15),
    )
    return DeferredDeletion(deletion=deletion, hold_id="h-1", deferred_at=T0)


def _no_raw_id(*parts: bytes | None) -> None:
    for part in parts:
        assert SUBJECT.encode() not in (part or b""), part


def test_seen_and_holds_records_are_keyed_by_ref_and_sealed() -> None:
    key, value = RECORDS.seen(SUBJECT, "clickstream", MARK)
    assert key == f"{REFS.ref(SUBJECT)}|clickstream".encode()
    assert RECORDS.read_seen(key, value) == (SUBJECT, "clickstream", MARK, False)
    hold_key, hold_value = RECORDS.hold(HOLD)
    assert hold_key == f"hold|{REFS.ref(SUBJECT)}".encode()
    assert RECORDS.read_holds(hold_key, hold_value) == ("hold", SUBJECT, HOLD, False)
    deferred = _deferred("d-1")
    d_key, d_value = RECORDS.deferred(deferred)
    assert RECORDS.read_holds(d_key, d_value) == ("deferred", "d-1", deferred, False)
    _no_raw_id(key, value, hold_key, hold_value, d_key, d_value)


def test_a_sealed_record_opens_only_under_its_key_and_with_its_own_record_key() -> None:
    key, value = RECORDS.seen(SUBJECT, "clickstream", MARK)
    other_key, _ = RECORDS.seen("kid-2", "clickstream", MARK)
    with pytest.raises(ValueError, match="does not open"):
        RECORDS.read_seen(other_key, value)  # moved to another subject's key
    with pytest.raises(ValueError, match="does not open"):
        RECORDS.read_seen(key, value[:-1] + bytes([value[-1] ^ 1]))
    stranger = LifecycleRecords(REFS.ref, bytes(32))
    with pytest.raises(ValueError, match="another pseudonym key"):
        stranger.read_seen(key, value)


def _applier() -> StateApplier:
    book = QuarantineBook("ward.quarantine", refs=REFS.ref)
    state = StateStore(caught_up_at=T0.timestamp())
    return StateApplier(TOPICS, state, book, LifecycleState(records=RECORDS))


def _driver(applier: StateApplier) -> LifecycleDriver:
    auditor = Auditor("ward.audit", "w1", REFS)
    issuer = LifecycleIssuer(
        (pipeline(),), policy(), applier.state, applier.lifecycle, auditor, TOPICS
    )
    passes = PassLog({}, policy(), applier.state)
    return LifecycleDriver(applier, issuer, passes, auditor, "ward.deadletter")


def _apply(applier: StateApplier, records: list[OutRecord]) -> None:
    for offset, r in enumerate(records, start=100):
        applier.apply(r.topic, 0, offset, r.key, r.value)


def test_the_leader_writes_first_format_records_again_sealed_and_tombstones_them() -> None:
    applier = _applier()
    old_seen = (
        f"{SUBJECT}|clickstream".encode(),
        json.dumps({"first_at": NOW_MS, "last_at": NOW_MS}),
    )
    old_hold = (f"hold|{SUBJECT}".encode(), json.dumps({"hold_id": "h-1", "subject_id": SUBJECT,
                 "placed_at": NOW_MS, "case_ref": "c", "lifted_at": None}))  # fmt: skip
    applier.apply("ward.seen", 0, 0, old_seen[0], old_seen[1].encode())
    applier.apply("ward.holds", 0, 0, old_hold[0], old_hold[1].encode())
    lc = applier.lifecycle
    assert set(lc.seen) == {SUBJECT} and set(lc.holds) == {SUBJECT}, "the old format is read"
    driver = _driver(applier)
    assert [r for r in driver.tick(T0.timestamp(), leader=False) if r.topic != "ward.audit"] == []
    out = driver.tick(T0.timestamp(), leader=True)
    mine = [r for r in out if r.topic in ("ward.seen", "ward.holds")]
    tombstones = {(r.topic, r.key) for r in mine if r.value is None}
    assert tombstones == {("ward.seen", old_seen[0]), ("ward.holds", old_hold[0])}
    sealed = {r.key for r in mine if r.value is not None and b"deferred|" not in (r.key or b"")}
    assert sealed == {RECORDS.seen(SUBJECT, "clickstream", MARK)[0], RECORDS.hold_key(SUBJECT)}
    new = [r for r in mine if r.value is not None]  # (a tombstone names the old key)
    _no_raw_id(*(r.key for r in new), *(r.value for r in new))
    _apply(applier, out)  # every worker reads them back: the hold stays, nothing is left
    # (the issuer's own output here, a deletion deferred by the hold, is sealed too)
    assert lc.holds == {SUBJECT: HOLD_READ} and "clickstream" in lc.seen[SUBJECT]
    assert lc.legacy == {}
    again = driver.tick(T0.timestamp() + 1, leader=True)
    assert [r for r in again if r.topic == "ward.holds" or r.value is None] == []


def test_a_hold_keyed_by_ref_is_removed_by_its_tombstone() -> None:
    applier = _applier()
    key, value = RECORDS.hold(HOLD)
    applier.apply("ward.holds", 0, 0, key, value)
    assert applier.lifecycle.holds == {SUBJECT: HOLD}
    applier.apply("ward.holds", 0, 1, key, None)
    assert applier.lifecycle.holds == {}


def test_a_first_format_deferred_deletion_is_sealed_under_its_own_key() -> None:
    deferred = _deferred("d-9")
    key = b"deferred|d-9"
    old = json.dumps(lr_jsonable(deferred.to_dict())).encode()
    leader, follower = _applier(), _applier()
    for a in (leader, follower):
        a.apply("ward.holds", 0, 0, *RECORDS.hold(HOLD))  # still held: it stays deferred
        a.apply("ward.holds", 0, 1, key, old)
        assert a.lifecycle.deferred == {"d-9": deferred} and a.lifecycle.legacy
    mine = [r for r in _driver(leader).tick(T0.timestamp(), leader=True) if r.key == key]
    assert len(mine) == 1 and mine[0].value is not None, "sealed, and no tombstone"
    _no_raw_id(mine[0].value)
    _apply(follower, mine)
    assert follower.lifecycle.deferred == {"d-9": deferred} and follower.lifecycle.legacy == {}
