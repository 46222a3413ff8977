"""The encrypted state snapshot: what it restores, and when it must be ignored (SPEC,
"State snapshots"). No broker: the reader's records are applied by hand, Kafka's facts
(partitions, earliest offsets, delete.retention.ms) are given."""

from __future__ import annotations

import logging
import os
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.conftest import RECORDS, REFS
from tests.unit.policy.test_policy_support import (
    T0,
    born,
    event,
    grant,
    pipeline,
    policy,
    subject,
    withdraw,
)

from wardstream._native import last_offsets
from wardstream.crypto import SealBroken
from wardstream.crypto.derive import SNAPSHOT_PURPOSE, derive_key
from wardstream.domain.consent import ConsentEvent
from wardstream.domain.decision import Decision
from wardstream.domain.enums import Action
from wardstream.domain.subject import SubjectProfile
from wardstream.enforce.quarantine import QuarantineBook
from wardstream.enforce.state import StateStore
from wardstream.engines.snapshot_file import MAGIC, read_chunks, snapshot_path
from wardstream.engines.snapshots import Snapshots
from wardstream.kafka.topic_facts import TopicFacts
from wardstream.lifecycle.applier import LifecycleState, LifecycleTopics, StateApplier
from wardstream.policy.decide import decide
from wardstream.serde import AvroCodec, record_schema

SUBJECTS = AvroCodec(record_schema("SubjectProfile"))
CONSENTS = AvroCodec(record_schema("ConsentEvent"))
NAMES = ("subjects", "consents", "quarantine", "requests", "deletions", "notices", "corrections")
TOPICS = LifecycleTopics(
    **{n: f"ward.{n}" for n in NAMES}, seen="s", control="c", holds="h", keys="k"
)
MINE = ("ward.subjects", "ward.consents")
MASTER = bytes(range(32))
KEY = derive_key(MASTER, SNAPSHOT_PURPOSE)
DAY_MS = 86_400_000
NOW = 1_800_000_000.0
KIDS = ("kid-1", "kid-2", "kid-3", "kid-4")


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def facts(earliest: int = 0, retention_ms: int = DAY_MS, partitions: int = 2) -> TopicFacts:
    parts = list(range(partitions))
    return TopicFacts(
        {t: parts for t in MINE},
        {(t, p): earliest for t in MINE for p in parts},
        {(t, p): 10**6 for t in MINE for p in parts},
        {t: retention_ms for t in MINE},
    )


class Worker:
    """A worker's state and its snapshot; ``feed`` is what its state reader would apply."""

    def __init__(self, directory: Path, clock: Clock, key: bytes = KEY) -> None:
        self.state = StateStore()
        self.lifecycle = LifecycleState(records=RECORDS)
        self.applier = StateApplier(
            TOPICS, self.state, QuarantineBook("ward.quarantine", refs=REFS.ref), self.lifecycle
        )
        self.snaps = Snapshots(directory, key, self.applier, self.state, MINE, 300.0, clock)

    def feed(self, log: list[tuple[str, int, int, bytes, bytes | None]], start: int = 0) -> None:
        ends: dict[tuple[str, int], int] = {(t, p): 0 for t in MINE for p in (0, 1)}
        self.snaps.apply_rows([row for row in log if row[2] >= start])  # as the engine does
        for topic, partition, offset, _, _ in log:
            ends[(topic, partition)] = offset + 1
        self.snaps.reached(ends)

    def decision(self, subject_id: str) -> Decision:
        facts = event(subject_id=subject_id)
        return decide(
            facts,
            self.state.subjects.get(subject_id),
            self.state.consents.get(subject_id),
            pipeline(),
            policy(),
        )


class Log:
    """The state topics as records, offsets counted per partition (subject ids by hash)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, int, int, bytes, bytes | None]] = []
        self.next: dict[tuple[str, int], int] = {}

    def add(self, topic: str, sid: str, value: bytes | None) -> None:
        partition = int(sid[-1]) % 2
        offset = self.next.get((topic, partition), 0)
        self.next[(topic, partition)] = offset + 1
        self.rows.append((topic, partition, offset, sid.encode(), value))

    def profile(self, sid: str, p: SubjectProfile | None) -> None:
        self.add("ward.subjects", sid, None if p is None else SUBJECTS.encode(p.to_dict()))

    def consent(self, e: ConsentEvent) -> None:
        self.add("ward.consents", e.subject_id, CONSENTS.encode(e.to_dict()))

    def mark(self) -> int:
        return len(self.rows)


def population(log: Log) -> None:
    for sid in KIDS:
        log.profile(sid, subject(born(10), subject_id=sid))
        log.consent(grant(f"c-{sid}", subject_id=sid))
    log.profile("adult-9", subject(born(30), subject_id="adult-9"))
    log.consent(withdraw("c-kid-2", subject_id="kid-2"))


def test_a_batch_of_rows_sets_the_positions_each_row_would(tmp_path: Path) -> None:
    log = Log()
    population(log)
    one, batch = Worker(tmp_path / "a", Clock()), Worker(tmp_path / "b", Clock())
    for row in log.rows:
        one.snaps.apply(*row)
    batch.snaps.apply_rows(log.rows[:3])
    batch.snaps.apply_rows(log.rows[3:])
    assert (batch.snaps.positions, batch.snaps.floor) == (one.snaps.positions, one.snaps.floor)
    assert sorted(batch.state.subjects.table.items()) == sorted(one.state.subjects.table.items())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 2), st.integers(0, 99))))
def test_the_last_offset_of_each_partition_is_its_last_rows(
    rows: list[tuple[str, int, int]],
) -> None:
    full = [(t, p, o, None, b"v") for t, p, o in rows]
    assert last_offsets(full) == {(t, p): o for t, p, o in rows}


def snapshot_after(tmp_path: Path, clock: Clock, log: Log) -> Worker:
    first = Worker(tmp_path, clock)
    first.snaps.partitions = facts().partitions
    first.feed(log.rows)
    assert first.snaps.write() == snapshot_path(tmp_path)
    return first


def restart(tmp_path: Path, clock: Clock, log: Log, f: TopicFacts | None = None) -> Worker:
    """A restarted worker: the snapshot, then each partition from its start offset."""
    w = Worker(tmp_path, clock)
    start = w.snaps.restore(f or facts())
    for row in log.rows:
        topic, partition, offset = row[:3]
        if offset >= start.get((topic, partition), 0):
            w.snaps.apply(*row)
    return w


def full_read(tmp_path: Path, clock: Clock, log: Log) -> Worker:
    w = Worker(tmp_path / "never", clock)
    w.feed(log.rows)
    return w


def same_state(a: Worker, b: Worker) -> None:
    ids = set(a.state.subjects) | set(b.state.subjects) | set(a.state.consents)
    for sid in ids | {"kid-1", "nobody"}:
        assert a.state.subjects.get(sid) == b.state.subjects.get(sid), sid
        assert a.state.consents.get(sid) == b.state.consents.get(sid), sid
        assert a.decision(sid) == b.decision(sid), sid


def test_a_restart_from_the_snapshot_decides_as_a_full_read(tmp_path: Path) -> None:
    clock, log = Clock(), Log()
    population(log)
    snapshot_after(tmp_path, clock, log)
    log.consent(grant("c-late", subject_id="kid-3", purposes=("analytics", "ads")))
    log.profile("kid-5", subject(born(9), subject_id="kid-5"))
    clock.now += 600
    restored, full = restart(tmp_path, clock, log), full_read(tmp_path, clock, log)
    assert restored.snaps.restored == 10  # 5 profiles, 5 consent events (kid-2's two in order)
    same_state(restored, full)
    assert restored.decision("kid-1").action is Action.PASS
    assert restored.decision("kid-2").action is not Action.PASS  # withdrawn before it


def test_a_tombstone_after_the_snapshot_is_honoured(tmp_path: Path) -> None:
    clock, log = Clock(), Log()
    population(log)
    snapshot_after(tmp_path, clock, log)
    log.profile("kid-1", None)
    restored = restart(tmp_path, clock, log)
    assert "kid-1" not in restored.state.subjects
    same_state(restored, full_read(tmp_path, clock, log))


def test_a_deregistration_between_snapshot_and_restart_is_not_lost(tmp_path: Path) -> None:
    clock, log = Clock(), Log()
    population(log)
    snapshot_after(tmp_path, clock, log)
    gone = subject(born(10), subject_id="kid-3", deregistered_at=T0 - timedelta(days=1))
    log.profile("kid-3", gone)
    restored = restart(tmp_path, clock, log)
    assert restored.state.subjects["kid-3"].deregistered_at is not None
    assert restored.decision("kid-3").action is Action.DROP
    bodies = [t.body for t in restored.lifecycle.triggers]
    assert any(isinstance(b, SubjectProfile) and b.subject_id == "kid-3" for b in bodies)
    same_state(restored, full_read(tmp_path, clock, log))


def test_a_flipped_byte_anywhere_is_detected_and_the_worker_reads_everything(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock, log = Clock(), Log()
    population(log)
    snapshot_after(tmp_path, clock, log)
    good = snapshot_path(tmp_path).read_bytes()
    for at in (0, 40, len(good) // 2, len(good) - 1):  # magic, nonce, body, tag
        bad = bytearray(good)
        bad[at] ^= 0x01
        snapshot_path(tmp_path).write_bytes(bytes(bad))
        with caplog.at_level(logging.WARNING):
            w = restart(tmp_path, clock, log)
        assert w.snaps.restored == 0 and "ignored" in caplog.text
        assert not snapshot_path(tmp_path).exists()  # a useless copy of children's data goes
        same_state(w, full_read(tmp_path, clock, log))  # read from the beginning instead
        caplog.clear()


def test_a_snapshot_sealed_under_another_key_is_ignored(tmp_path: Path) -> None:
    clock, log = Clock(), Log()
    population(log)
    snapshot_after(tmp_path, clock, log)
    w = Worker(tmp_path, clock, key=derive_key(bytes(32), SNAPSHOT_PURPOSE))
    assert w.snaps.restore(facts()) == {}
    assert len(w.state.subjects) == 0


def test_the_snapshot_key_is_derived_never_the_master_key(tmp_path: Path) -> None:
    clock, log = Clock(), Log()
    population(log)
    snapshot_after(tmp_path, clock, log)
    path = snapshot_path(tmp_path)
    assert KEY != MASTER and len(KEY) == 32
    assert list(read_chunks(path, KEY))
    with pytest.raises(SealBroken, match="does not open"):
        list(read_chunks(path, MASTER))
    assert b"kid-1" not in path.read_bytes()  # sealed: no subject id in the clear


@pytest.mark.parametrize(
    ("age_s", "used"),
    [(DAY_MS / 2000 - 1, True), (DAY_MS / 2000 + 1, False), (-3600, False)],
    ids=["just-under-half-retention", "past-half-retention", "from-the-future"],
)
def test_the_age_rule(tmp_path: Path, age_s: float, used: bool) -> None:
    clock, log = Clock(), Log()
    population(log)
    snapshot_after(tmp_path, clock, log)
    clock.now += age_s
    w = Worker(tmp_path, clock)
    assert bool(w.snaps.restore(facts(retention_ms=DAY_MS))) is used
    assert snapshot_path(tmp_path).exists() is used


def test_the_smallest_delete_retention_of_the_state_topics_counts(tmp_path: Path) -> None:
    clock, log = Clock(), Log()
    population(log)
    snapshot_after(tmp_path, clock, log)
    clock.now += 3600
    f = facts()
    f.delete_retention_ms["ward.consents"] = 3_600_000  # half of it: 30 minutes
    assert Worker(tmp_path, clock).snaps.restore(f) == {}


def test_unknown_delete_retention_means_a_full_read(tmp_path: Path) -> None:
    clock, log = Clock(), Log()
    population(log)
    snapshot_after(tmp_path, clock, log)
    f = facts()
    del f.delete_retention_ms["ward.subjects"]
    assert Worker(tmp_path, clock).snaps.restore(f) == {}


def test_an_earliest_offset_past_the_recorded_one_means_a_full_read(tmp_path: Path) -> None:
    """The records between the snapshot and the new start are gone: one may have been a
    tombstone, so the snapshot could bring a deleted subject back."""
    clock, log = Clock(), Log()
    population(log)
    first = snapshot_after(tmp_path, clock, log)
    recorded = first.snaps.positions[("ward.subjects", 1)]
    f = facts()
    f.earliest[("ward.subjects", 1)] = recorded + 1
    assert Worker(tmp_path, clock).snaps.restore(f) == {}
    second = snapshot_after(tmp_path, clock, log)
    f.earliest[("ward.subjects", 1)] = second.snaps.floor[("ward.subjects", 1)]
    assert Worker(tmp_path, clock).snaps.restore(f)  # the oldest record held is still there


@pytest.mark.parametrize(
    "change",
    [
        {"topics": ("ward.subjects", "other.consents")},
        {"partitions": 3},
    ],
    ids=["other-topics", "other-partitions"],
)
def test_a_snapshot_for_other_topics_is_ignored(tmp_path: Path, change: dict[str, Any]) -> None:
    clock, log = Clock(), Log()
    population(log)
    snapshot_after(tmp_path, clock, log)
    w = Worker(tmp_path, clock)
    if "topics" in change:
        w.snaps.mine = change["topics"]
        f = facts()
        f.partitions["other.consents"] = [0, 1]
        f.delete_retention_ms["other.consents"] = DAY_MS
        f.earliest.update({("other.consents", p): 0 for p in (0, 1)})
        f.latest.update({("other.consents", p): 10**6 for p in (0, 1)})
    else:
        f = facts(partitions=change["partitions"])
    assert w.snaps.restore(f) == {}
    assert len(w.state.subjects) == 0


def test_the_file_is_replaced_atomically_private_and_alone(tmp_path: Path) -> None:
    clock, log = Clock(), Log()
    population(log)
    first = snapshot_after(tmp_path, clock, log)
    leftover = tmp_path / ".state.snapshot.123.tmp"  # a crash mid-write
    leftover.write_bytes(b"half")
    before = snapshot_path(tmp_path).read_bytes()
    log.profile("kid-1", None)
    first.feed(log.rows[-1:], start=0)
    first.snaps.write()
    assert sorted(p.name for p in tmp_path.iterdir()) == [leftover.name, "state.snapshot"]
    assert snapshot_path(tmp_path).read_bytes() != before  # the previous one is gone
    assert stat.S_IMODE(os.stat(snapshot_path(tmp_path)).st_mode) == 0o600
    w = restart(tmp_path, clock, log)
    assert not leftover.exists()
    assert "kid-1" not in w.state.subjects  # the deleted subject left the disk too


def test_no_snapshot_before_every_partition_was_read_to_an_end(tmp_path: Path) -> None:
    clock, log = Clock(), Log()
    population(log)
    w = Worker(tmp_path, clock)
    w.snaps.partitions = facts(partitions=3).partitions  # partition 2 never reached
    w.feed(log.rows)
    assert w.snaps.write() is None
    assert not snapshot_path(tmp_path).exists()


def test_it_is_written_when_due(tmp_path: Path) -> None:
    clock = Clock()
    w = Worker(tmp_path, clock)
    assert not w.snaps.due()
    clock.now += timedelta(minutes=5).total_seconds()
    assert w.snaps.due()


def _chunks(blob: bytes) -> tuple[bytes, list[bytes]]:
    """The file's head (magic and salt) and its length-prefixed sealed chunks."""
    at = len(MAGIC) + 16
    head, out = blob[:at], []
    while at < len(blob):
        size = int.from_bytes(blob[at : at + 4], "big")
        out.append(blob[at : at + 4 + size])
        at += 4 + size
    return head, out


@pytest.mark.parametrize(
    "cut",
    [
        lambda c: c[:-1],  # cut short at a chunk boundary
        lambda c: [c[0], c[2], c[1], *c[3:]],  # two chunks swapped
        lambda c: [c[0], c[1], c[1], *c[2:]],  # a chunk twice
        lambda c: [*c, c[-1]],  # one more after the last
        lambda c: [c[0], *c[2:]],  # a chunk dropped
    ],
    ids=["cut-short", "swapped", "repeated", "appended", "dropped"],
)
def test_chunks_cut_moved_or_dropped_are_detected_before_anything_is_applied(
    tmp_path: Path, cut: Any
) -> None:
    clock, log = Clock(), Log()
    population(log)
    first = Worker(tmp_path, clock)
    first.snaps.partitions = facts().partitions
    first.snaps.chunk_bytes = 64  # a few records per chunk
    first.feed(log.rows)
    first.snaps.write()
    head, chunks = _chunks(snapshot_path(tmp_path).read_bytes())
    assert len(chunks) >= 4
    snapshot_path(tmp_path).write_bytes(head + b"".join(cut(chunks)))
    w = Worker(tmp_path, clock)
    assert w.snaps.restore(facts()) == {}
    assert len(w.state.subjects) == 0 and len(w.state.consents) == 0  # nothing half-applied


def test_a_write_that_fails_removes_the_previous_snapshot(tmp_path: Path) -> None:
    """Else a subject deleted since would stay on disk past one interval."""
    clock, log = Clock(), Log()
    population(log)
    first = snapshot_after(tmp_path, clock, log)
    odd = subject(born(10), subject_id="kid-odd", updated_at=T0 + timedelta(microseconds=7))
    first.state.put_subject("kid-odd", odd)  # not writable as record bytes (Avro keeps ms)
    assert first.snaps.write() is None
    assert not snapshot_path(tmp_path).exists()


def test_a_deregistration_in_the_snapshot_triggers_its_deletion_again_as_a_full_read_does(
    tmp_path: Path,
) -> None:
    """Profiles restored in the store's own form skip the hooks; a deregistered one is
    applied again, so the issuer sees its trigger (and skips it if the id was issued)."""
    clock, log = Clock(), Log()
    population(log)
    log.profile("kid-4", subject(born(10), subject_id="kid-4", deregistered_at=T0))
    snapshot_after(tmp_path, clock, log)
    restored, full = restart(tmp_path, clock, log), full_read(tmp_path, clock, log)

    def triggered(w: Worker) -> set[str]:
        return {
            b.subject_id for t in w.lifecycle.triggers if isinstance((b := t.body), SubjectProfile)
        }

    assert triggered(restored) == triggered(full) == {"kid-4"}
    withdrawals = [t for t in restored.lifecycle.triggers if isinstance(t.body, tuple)]
    assert len(withdrawals) == 1  # kid-2's withdrawal, applied again from the snapshot
    same_state(restored, full)


def test_the_store_knows_which_profiles_are_deregistered() -> None:
    state = StateStore()
    kid = subject(born(10), subject_id="kid-9")
    state.put_subject("kid-9", replace_gone(kid, T0))
    assert state.subjects.gone == {b"kid-9"}
    state.put_subject("kid-9", kid)  # registered again
    assert state.subjects.gone == set()
    state.put_subject("kid-9", replace_gone(kid, T0))
    state.put_subject("kid-9", None)  # a tombstone
    assert state.subjects.gone == set()


def replace_gone(p: SubjectProfile, when: Any) -> SubjectProfile:
    return SubjectProfile(**{**p.to_dict(), "deregistered_at": when})


def test_a_topic_that_now_ends_before_the_snapshot_means_a_full_read(tmp_path: Path) -> None:
    """Recreated under the same name: the snapshot's subjects may all be gone."""
    clock, log = Clock(), Log()
    population(log)
    first = snapshot_after(tmp_path, clock, log)
    f = facts()
    f.latest[("ward.consents", 0)] = first.snaps.positions[("ward.consents", 0)] - 1
    assert Worker(tmp_path, clock).snaps.restore(f) == {}


def test_records_the_topic_deleted_since_but_the_snapshot_holds_mean_a_full_read(
    tmp_path: Path,
) -> None:
    """ward.consents with a retention: a worker reading it from the beginning no longer
    knows the oldest grants; one restored from the snapshot would, and decide otherwise."""
    clock, log = Clock(), Log()
    population(log)
    first = snapshot_after(tmp_path, clock, log)
    assert first.snaps.floor[("ward.consents", 0)] == 0
    f = facts()
    f.earliest[("ward.consents", 0)] = 1  # the first grant of partition 0 expired
    w = Worker(tmp_path, clock)
    assert w.snaps.restore(f) == {}
    assert len(w.state.consents) == 0


def test_a_restored_snapshot_keeps_its_floor_for_the_next_one(tmp_path: Path) -> None:
    clock, log = Clock(), Log()
    population(log)
    snapshot_after(tmp_path, clock, log)
    w = restart(tmp_path, clock, log)
    assert w.snaps.floor[("ward.subjects", 1)] == 0
    w.snaps.write()
    f = facts()
    f.earliest[("ward.subjects", 1)] = 1
    assert Worker(tmp_path, clock).snaps.restore(f) == {}
