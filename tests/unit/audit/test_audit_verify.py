"""Verifying hash chains: every single alteration, deletion, insertion and
reorder in a 3-chain log is found and names the exact record."""

from __future__ import annotations

import io
import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import count
from pathlib import Path

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wardstream.audit.chain import ChainWriter, record_hash
from wardstream.audit.verify import BreakKind, ChainVerifier, Position, VerifyResult, verify_all
from wardstream.domain.audit import AuditRecord

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "schemas" / "AuditRecord.avsc"
SCHEMA = fastavro.parse_schema(json.loads(SCHEMA_PATH.read_text()))
CHAINS = ("clickstream/0", "clickstream/1", "_control/0")
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
TOPIC = "ward.audit"


def encode(datum: object) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, SCHEMA, datum)
    return buf.getvalue()


@cache
def base_log(n: int = 50, seed: int = 7) -> tuple[AuditRecord, ...]:
    """``n`` records spread at random over three chains, in topic order."""
    rng = random.Random(seed)
    ids = count()
    writers = {c: ChainWriter(c, encode, new_id=lambda: f"a{next(ids)}") for c in CHAINS}
    log = []
    for i in range(n):
        chain = rng.choice(CHAINS)
        log.append(
            writers[chain].append(
                at=T0 + timedelta(seconds=i),
                worker="worker-1",
                pipeline=chain.split("/")[0],
                action=rng.choice(["QUARANTINED", "REDACTED", "DROPPED"]),
                rule="CN-CPI-2019/art9",
                reason="NO_GUARDIAN_CONSENT",
                subject_ref=f"k1:{i:064x}",
                event_ref=f"app.clickstream/0/{i}",
            )
        )
    return tuple(log)


def verify(log: list[AuditRecord] | tuple[AuditRecord, ...], **options: object) -> VerifyResult:
    return verify_all(((Position(TOPIC, 0, i), r) for i, r in enumerate(log)), encode, **options)


def named(result: VerifyResult) -> list[tuple[BreakKind, int]]:
    return [(b.kind, b.position.offset) for b in result.breaks]


def chain_offsets(log: list[AuditRecord] | tuple[AuditRecord, ...], chain: str) -> list[int]:
    return [i for i, r in enumerate(log) if r.chain == chain]


def test_an_intact_log_has_no_breaks_and_three_chains() -> None:
    result = verify(base_log())
    assert result.ok and result.checked == 50 and result.notes == ()
    assert [c.chain for c in result.chains] == sorted(CHAINS)
    assert sum(c.records for c in result.chains) == 50
    assert all(c.first_seq == 0 and c.last_seq == c.records - 1 for c in result.chains)


@pytest.mark.parametrize(
    "change",
    [
        {"reason": "ADULT"},
        {"action": "PASSED"},
        {"subject_ref": None},
        {"at": T0 - timedelta(days=1)},
        {"seq": 999},
        {"prev_hash": "f" * 64},
        {"hash": "e" * 64},
        {"chain": "clickstream/9"},
        {"chain": "a chain-mate's"},
        {"counts": {"PASSED": 3}},
        {"fields_redacted": ("geo",)},
    ],
    ids=lambda c: next(iter(c)),
)
@pytest.mark.parametrize("at", [0, 1, 20, 49])
def test_an_altered_field_names_exactly_that_record(change: dict[str, object], at: int) -> None:
    log = list(base_log())
    if change.get("chain") == "a chain-mate's":
        change = {"chain": next(c for c in CHAINS if c != log[at].chain)}
    log[at] = replace(log[at], **change)
    assert named(verify(log)) == [(BreakKind.ALTERED, at)]


@pytest.mark.parametrize("at", [0, 5, 20, 48])
@pytest.mark.parametrize("also_prev", [False, True])
def test_a_rewritten_and_rehashed_record_is_named(at: int, also_prev: bool) -> None:
    log = list(base_log())
    changes: dict[str, object] = {"reason": "ADULT"}
    if also_prev:
        changes["prev_hash"] = "a" * 64
    forged = replace(log[at], **changes)
    log[at] = replace(forged, hash=record_hash(forged, encode))
    is_tail = at == chain_offsets(log, log[at].chain)[-1]
    if is_tail and not also_prev:
        assert named(verify(log)) == []  # the end of a chain has no witness
    else:
        assert named(verify(log)) == [(BreakKind.ALTERED, at)]


@pytest.mark.parametrize("at", [0, 1, 2, 10, 25, 40])
def test_a_deleted_record_is_named_by_the_next_record_of_its_chain(at: int) -> None:
    log = list(base_log())
    gone = log.pop(at)
    later = [i for i in chain_offsets(log, gone.chain) if i >= at]
    result = verify(log)
    assert named(result) == [(BreakKind.MISSING, later[0])]
    assert f"seq {gone.seq}" in result.breaks[0].message


def test_deleting_the_last_record_of_a_chain_is_invisible() -> None:
    log = list(base_log())
    del log[chain_offsets(log, "clickstream/0")[-1]]
    assert verify(log).ok


@pytest.mark.parametrize(("parent", "at"), [(3, 4), (3, 30), (0, 49), (12, 13), (20, 50)])
def test_a_forged_continuation_is_named_inserted(parent: int, at: int) -> None:
    log = list(base_log())
    source = log[parent]
    forger = ChainWriter(source.chain, encode, last=source)
    forged = forger.append(
        at=source.at, worker="intruder", pipeline=source.pipeline, action="PASSED"
    )
    log.insert(at, forged)
    assert named(verify(log)) == [(BreakKind.INSERTED, at)]


@pytest.mark.parametrize(("original", "at"), [(10, 30), (0, 50), (30, 2), (48, 50)])
def test_a_replayed_record_is_named_inserted(original: int, at: int) -> None:
    log = list(base_log())
    log.insert(at, log[original])
    result = verify(log)
    assert named(result) == [(BreakKind.INSERTED, at)]
    assert "exact copy" in result.breaks[0].message


def test_records_swapped_within_a_chain_are_named_reordered() -> None:
    log = list(base_log())
    offsets = chain_offsets(log, "clickstream/0")
    i, j = offsets[2], offsets[6]
    log[i], log[j] = log[j], log[i]
    assert named(verify(log)) == [(BreakKind.REORDERED, i), (BreakKind.REORDERED, j)]


@pytest.mark.parametrize("direction", ["later", "earlier"])
def test_a_record_moved_past_others_of_its_chain_is_named(direction: str) -> None:
    log = list(base_log())
    offsets = chain_offsets(log, "clickstream/1")
    src, dst = (offsets[3], offsets[8]) if direction == "later" else (offsets[8], offsets[3])
    moved = log.pop(src)
    log.insert(dst, moved)
    assert named(verify(log)) == [(BreakKind.REORDERED, dst)]


def test_records_of_different_chains_may_change_places() -> None:
    log = list(base_log())

    def swappable(i: int, j: int) -> bool:  # different chains, no chain-mate of either between
        chains = {log[i].chain, log[j].chain}
        return len(chains) == 2 and all(log[k].chain not in chains for k in range(i + 1, j))

    # the widest such pair, so the swap also moves both past records of the third chain
    i, j = max(
        ((i, j) for i in range(len(log)) for j in range(i + 1, len(log)) if swappable(i, j)),
        key=lambda pair: pair[1] - pair[0],
    )
    assert j - i >= 2, "the fixture has no such pair with a record between them"
    log[i], log[j] = log[j], log[i]
    assert verify(log).ok


@pytest.mark.parametrize("settle", [1, 2, 32])
def test_two_writers_continuing_one_chain_are_named_forked(settle: int) -> None:
    log = list(base_log(30))
    tail = log[chain_offsets(log, "_control/0")[-1]]
    a = ChainWriter("_control/0", encode, last=tail)
    b = ChainWriter("_control/0", encode, last=tail)
    offset = len(log)
    for _ in range(6):
        for writer, worker in ((a, "worker-1"), (b, "zombie")):
            log.append(
                writer.append(at=T0, worker=worker, pipeline="_control", action="CONSENT_RECORDED")
            )
    result = verify(log, settle=settle)
    assert named(result) == [(BreakKind.FORKED, offset + 1)]
    assert "6 records" in result.breaks[0].message


def test_a_chain_verified_from_a_midpoint_trusts_its_first_record_and_says_so() -> None:
    log = base_log()
    result = verify(log, since=T0 + timedelta(seconds=20))
    assert result.ok and result.skipped == 20
    assert len(result.notes) == 3 and all("trusted" in n for n in result.notes)
    assert {c.trusted_from for c in result.chains} == {
        Position(
            TOPIC,
            0,
            chain_offsets(log, c)[next(i for i, o in enumerate(chain_offsets(log, c)) if o >= 20)],
        )
        for c in CHAINS
    }


def test_until_bounds_the_records_checked() -> None:
    result = verify(base_log(), until=T0 + timedelta(seconds=9))
    assert result.ok and result.checked == 10 and result.skipped == 40


def test_a_chain_that_does_not_start_at_genesis_is_reported_unless_told_otherwise() -> None:
    log = [r for r in base_log() if r.chain == "clickstream/0"][3:]
    assert named(verify(log)) == [(BreakKind.MISSING, 0)]
    relaxed = verify(log, require_genesis=False)
    assert relaxed.ok and relaxed.chains[0].trusted_from == Position(TOPIC, 0, 0)


def test_written_bytes_verify_records_of_an_evolved_schema() -> None:
    evolved = json.loads(SCHEMA_PATH.read_text())
    at = next(i for i, f in enumerate(evolved["fields"]) if f["name"] == "prev_hash")
    evolved["fields"].insert(at, {"name": "region", "type": "string", "default": "eu"})
    new_schema = fastavro.parse_schema(evolved)

    def encode_v2(datum: object) -> bytes:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, new_schema, {**datum, "region": "cn"})  # type: ignore[dict-item]
        return buf.getvalue()

    writer = ChainWriter("clickstream/0", encode_v2)
    written = []
    for i in range(5):
        writer.append(at=T0, worker="w", pipeline="clickstream", action="DROPPED", reason=str(i))
        written.append(writer.last_written)
    by_bytes, by_encoding = ChainVerifier(encode), ChainVerifier(encode)
    for offset, data in enumerate(written):
        datum = fastavro.schemaless_reader(io.BytesIO(data), new_schema, SCHEMA)  # read as v1
        record = AuditRecord.from_dict(datum)
        by_bytes.feed(Position(TOPIC, 0, offset), record, data)
        by_encoding.feed(Position(TOPIC, 0, offset), record)
    assert by_bytes.finish().ok
    assert {b.kind for b in by_encoding.finish().breaks} == {BreakKind.ALTERED}


def test_altered_written_bytes_are_named() -> None:
    writer = ChainWriter("c/0", encode)
    verifier = ChainVerifier(encode)
    for offset in range(4):
        record = writer.append(at=T0, worker="w", pipeline="c", action="DROPPED", reason="R1")
        data = writer.last_written
        if offset == 2:
            data = data.replace(b"R1", b"R2")
        verifier.feed(Position(TOPIC, 0, offset), record, data)
    assert [(b.kind, b.position.offset) for b in verifier.finish().breaks] == [
        (BreakKind.ALTERED, 2)
    ]


@pytest.mark.parametrize("index", [0, 2])
def test_a_record_moved_further_than_the_window_is_still_named(index: int) -> None:
    log = list(base_log(120, seed=3))
    moved = log.pop(chain_offsets(log, "clickstream/0")[index])
    log.append(moved)
    result = verify(log, settle=2, keep=4)
    assert named(result) == [(BreakKind.REORDERED, len(log) - 1)]


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="settle"):
        ChainVerifier(encode, settle=0)


# -- the property: any single change is found and named exactly ---------------


def _expected(
    log: list[AuditRecord], op: str, data: st.DataObject
) -> tuple[list[AuditRecord], set[tuple[BreakKind, int]], int]:
    """Apply one change; return the new log, the breaks allowed, and how many must appear."""
    n = len(log)
    if op == "alter":
        i = data.draw(st.integers(0, n - 1))
        field, value = data.draw(
            st.sampled_from(
                [
                    ("reason", "X"),
                    ("seq", 77),
                    ("prev_hash", "f" * 64),
                    ("hash", "1" * 64),
                    ("chain", "other/0"),
                    ("at", T0 - timedelta(days=1)),
                ]
            )
        )
        log[i] = replace(log[i], **{field: value})
        return log, {(BreakKind.ALTERED, i)}, 1
    if op == "delete":
        i = data.draw(st.integers(0, n - 1))
        gone = log.pop(i)
        later = [k for k in chain_offsets(log, gone.chain) if k >= i]
        return log, ({(BreakKind.MISSING, later[0])} if later else set()), (1 if later else 0)
    if op == "forge":
        j = data.draw(st.integers(0, n - 1))
        k = data.draw(st.integers(j + 1, n))
        src = log[j]
        forged = ChainWriter(src.chain, encode, last=src).append(
            at=src.at, worker="x", pipeline="p", action="PASSED"
        )
        log.insert(k, forged)
        mates = chain_offsets(log, src.chain)
        successors = [m for m in mates if log[m].seq == src.seq + 1 and m != k]
        if not successors:
            return log, set(), 0  # a valid continuation of the chain's end
        allowed = {(BreakKind.INSERTED, k)}
        succ = successors[0]
        if succ == mates[-1] and k < succ:  # two unfollowed records claim one seq
            allowed.add((BreakKind.INSERTED, succ))
        return log, allowed, 1
    if op == "replay":
        j = data.draw(st.integers(0, n - 1))
        k = data.draw(st.integers(0, n))
        copy = log[j]
        log.insert(k, copy)
        orig = j + 1 if k <= j else j
        allowed = {(BreakKind.INSERTED, k)}
        pred = [m for m in chain_offsets(log, copy.chain) if log[m].seq == copy.seq - 1]
        if k < orig and (not pred or pred[0] < k):
            allowed.add((BreakKind.INSERTED, orig))
        return log, allowed, 1
    # move one record to another place
    i = data.draw(st.integers(0, n - 1))
    k = data.draw(st.integers(0, n - 1))
    moved = log.pop(i)
    log.insert(k, moved)
    lo, hi = (i, k) if i < k else (k + 1, i + 1)
    passed = [m for m in range(lo, hi) if log[m].chain == moved.chain and m != k]
    if not passed:
        return log, set(), 0
    if len(passed) == 1:
        return log, {(BreakKind.REORDERED, k), (BreakKind.REORDERED, passed[0])}, 1
    return log, {(BreakKind.REORDERED, k)}, 1


@settings(max_examples=250, deadline=None)
@given(
    seed=st.integers(0, 5),
    op=st.sampled_from(["alter", "delete", "forge", "replay", "move"]),
    settle=st.sampled_from([1, 3, 8, 32]),
    data=st.data(),
)
def test_any_single_change_is_found_and_named_exactly(
    seed: int, op: str, settle: int, data: st.DataObject
) -> None:
    log, allowed, how_many = _expected(list(base_log(48, seed)), op, data)
    found = set(named(verify(log, settle=settle, keep=64)))
    assert len(found) == how_many and found <= allowed, (op, found, allowed)


def test_a_flood_of_forged_records_is_named_and_memory_stays_bounded() -> None:
    log = list(base_log())
    rng = random.Random(1)
    for n in range(400):
        fake = replace(log[0], seq=rng.randrange(1, 40), prev_hash=f"{n:064x}", audit_id=f"f{n}")
        log.insert(rng.randrange(len(log) + 1), replace(fake, hash=record_hash(fake, encode)))
    verifier = ChainVerifier(encode, settle=4, keep=16, max_window=64)
    for offset, record in enumerate(log):
        verifier.feed(Position(TOPIC, 0, offset), record)
        assert all(len(c.window) <= 64 for c in verifier._chains.values())
    forged = {i for i, r in enumerate(log) if r.audit_id.startswith("f")}
    assert forged <= {b.position.offset for b in verifier.finish().breaks}
