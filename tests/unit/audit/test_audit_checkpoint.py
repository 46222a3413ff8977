"""Signed checkpoints: the worker's auditor signs its chain heads per interval, and an
auditor holding only the public key tells the worker's records from anyone else's."""

from __future__ import annotations

import base64
import pickle
from datetime import UTC, datetime, timedelta

import pytest

from wardstream.audit.attest import Attestation, AttestKind, CheckpointBook, outcome
from wardstream.audit.chain import GENESIS_HASH, ChainWriter
from wardstream.audit.checkpoint import checkpoint_chain, parse_checkpoint
from wardstream.audit.encode import encode_audit
from wardstream.audit.linkage import Position
from wardstream.audit.pseudonym import SubjectPseudonymizer
from wardstream.crypto.signing import PublicKeys, SigningKey, SigningKeyError
from wardstream.domain.audit import AuditRecord
from wardstream.domain.enums import AuditAction
from wardstream.enforce.auditor import Auditor
from wardstream.serde import AvroCodec, Origin, record_schema

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
CODEC = AvroCodec(record_schema("AuditRecord"))
SEED = "e9132dab882c58ee8eeb0a50000264c9c52573f12247a1e10bace08fb316ec1e"  # fictional
KEY = SigningKey.from_text(SEED)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def auditor(clock: Clock, signer: SigningKey | None = KEY) -> Auditor:
    return Auditor(
        "ward.audit", "w1", SubjectPseudonymizer(b"k" * 32, "k1"),
        clock=clock, signer=signer, checkpoint_interval=timedelta(seconds=60),
    )  # fmt: skip


def decode(value: bytes) -> AuditRecord:
    return AuditRecord.from_dict(CODEC.decode(value, origin=Origin("ward.audit", 0, 0)))


def run(clock: Clock, a: Auditor, chain: str, n: int) -> list[bytes]:
    out = []
    for _ in range(n):
        out.append(a.write(chain, "clickstream", AuditAction.DROPPED, subject_id="u-1").value)
    return out


def test_a_checkpoint_per_interval_signs_the_heads_written_since_the_last() -> None:
    clock = Clock()
    a = auditor(clock)
    run(clock, a, "clickstream/0", 3)
    assert a.checkpoint() == []  # not due yet: nothing per record
    clock.now += timedelta(seconds=61)
    (first,) = a.checkpoint()
    assert first.key == b"_checkpoint/w1"
    cp = parse_checkpoint(decode(first.value))
    assert cp.heads["clickstream/0"][0] == 2 and cp.prev_checkpoint == GENESIS_HASH
    assert cp.key_id == KEY.key_id
    assert PublicKeys.parse(KEY.public_line()).verify(cp.key_id, cp.message, cp.signature)
    clock.now += timedelta(seconds=61)
    assert a.checkpoint() == []  # nothing written since
    run(clock, a, "clickstream/1", 1)
    (second,) = a.checkpoint(flush=True)  # a clean stop: at once
    cp2 = parse_checkpoint(decode(second.value))
    assert set(cp2.heads) == {"clickstream/1"} and cp2.prev_checkpoint == cp.hash


def test_summaries_carry_the_checkpoint_and_without_a_key_there_is_none() -> None:
    clock = Clock()
    with_key, without = auditor(clock), auditor(clock, None)
    for a in (with_key, without):
        run(clock, a, "clickstream/0", 1)
    keys = [r.key for r in with_key.summaries(flush=True)]
    assert keys == [b"_checkpoint/w1"]
    assert without.summaries(flush=True) == []


def test_a_handed_over_chain_is_still_signed() -> None:
    clock = Clock()
    a = auditor(clock)
    run(clock, a, "clickstream/0", 2)
    a.hand_over(["clickstream/0"])
    (out,) = a.checkpoint(flush=True)
    assert parse_checkpoint(decode(out.value)).heads["clickstream/0"][0] == 1


def test_signing_keys_load_from_seed_or_pem_and_never_show() -> None:
    from cryptography.hazmat.primitives import serialization as s

    pem = KEY._key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption())
    assert SigningKey.from_text(pem.decode()).key_id == KEY.key_id
    seed_b64 = base64.b64encode(bytes.fromhex(SEED)).decode()
    assert SigningKey.from_text("base64:" + seed_b64).key_id == KEY.key_id
    assert SEED[:16] not in repr(KEY)
    with pytest.raises(TypeError):
        pickle.dumps(KEY)
    with pytest.raises(SigningKeyError, match="openssl genpkey") as err:
        SigningKey.from_text("22" * 16)
    assert "22" * 16 not in str(err.value)
    with pytest.raises(SigningKeyError):
        SigningKey.from_text("22" * 32)  # 32 bytes, but a placeholder
    with pytest.raises(SigningKeyError, match="line 2"):
        PublicKeys.parse(KEY.public_line() + "\nnot a key\n")


# -- verification --------------------------------------------------------------------


def topic_of(values: list[bytes]) -> list[tuple[Position, AuditRecord]]:
    return [(Position("ward.audit", 0, i), decode(v)) for i, v in enumerate(values)]


def attest(
    values: list[bytes], keys: PublicKeys | None = None, now: datetime | None = None
) -> tuple[Attestation, list]:
    book = CheckpointBook(keys or PublicKeys.parse(KEY.public_line()))
    items = topic_of(values)
    for pos, rec in items:
        if rec.chain.startswith("_checkpoint/"):
            book.add(pos, rec)
    book.finish()
    att = Attestation(book, now or T0 + timedelta(minutes=1), timedelta(minutes=2))
    for pos, rec in items:
        att.feed(pos, rec)
    return att, att.finish()


def worker_log(clock: Clock) -> list[bytes]:
    a = auditor(clock)
    values = run(clock, a, "clickstream/0", 5)
    values += [r.value for r in a.checkpoint(flush=True)]
    values += run(clock, a, "clickstream/0", 3)
    values += [r.value for r in a.checkpoint(flush=True)]
    return values


def test_an_untouched_signed_log_is_intact() -> None:
    att, found = attest(worker_log(Clock()))
    assert found == [] and outcome(found, 0) == "intact"


def test_a_forged_record_with_correct_plain_hashes_is_unanchored_then_not_signed() -> None:
    clock = Clock()
    values = worker_log(clock)
    last = decode(values[8])  # seq 7, the chain's last record
    forger = ChainWriter("clickstream/0", encode_audit, last)
    forged = forger.write(at=T0, worker="w1", pipeline="clickstream", action="PASSED")
    _, found = attest([*values, forged], now=T0 + timedelta(hours=1))
    assert [(f.kind, f.seq) for f in found] == [(AttestKind.UNANCHORED, 8)]
    assert outcome(found, 0) == "unanchored"
    # the worker's own next record at seq 8, signed, makes the forgery a NOT_SIGNED one
    a = auditor(clock)
    a.resume([last])
    a.resume([decode(values[-1])])
    values += run(clock, a, "clickstream/0", 1) + [r.value for r in a.checkpoint(flush=True)]
    _, found = attest([*values, forged])
    kinds = [(f.kind, f.seq, f.position.offset) for f in found if f.position]
    assert kinds == [(AttestKind.NOT_SIGNED, 8, len(values))]
    assert outcome(found, 0) == "tampered"


def test_the_last_three_records_cut_off_are_a_truncation_with_the_seq_range() -> None:
    values = worker_log(Clock())
    cut = values[:6] + values[9:]  # seqs 5..7 of clickstream/0 removed
    _, found = attest(cut)
    (f,) = found
    assert f.kind == AttestKind.TRUNCATED and f.chain == "clickstream/0" and f.seq == 5
    assert "seqs 5..7" in f.message


def test_a_flipped_signature_byte_and_an_unknown_key_fail() -> None:
    values = worker_log(Clock())
    record = decode(values[-1])
    sig = bytearray(base64.b64decode(record.attrs["sig"]))
    sig[0] ^= 1
    attrs = {**record.attrs, "sig": base64.b64encode(bytes(sig)).decode()}
    bad = ChainWriter(record.chain, encode_audit, decode(values[5])).append(
        **{k: v for k, v in record.to_dict().items() if k in ("at", "worker", "pipeline",
           "action")}, attrs=attrs,
    )  # fmt: skip
    _, found = attest([*values[:-1], CODEC.encode(bad.to_dict())], now=T0 + timedelta(hours=1))
    assert {f.kind for f in found} >= {AttestKind.BAD_SIGNATURE, AttestKind.UNANCHORED}
    other = SigningKey.generate()
    _, found = attest(values, PublicKeys.parse(other.public_line()), T0 + timedelta(hours=1))
    assert {f.kind for f in found} >= {AttestKind.UNKNOWN_KEY, AttestKind.UNANCHORED}


def test_a_removed_checkpoint_leaves_its_successor_without_predecessor() -> None:
    values = worker_log(Clock())
    _, found = attest(values[:5] + values[6:])
    assert [(f.kind, f.seq) for f in found] == [
        (AttestKind.MISSING_PREDECESSOR, 1),
        *((AttestKind.UNANCHORED, seq) for seq in range(5)),  # vouched for by it alone
    ]
    assert checkpoint_chain("w1") == found[0].chain


def test_a_worker_that_continues_a_forged_tail_does_not_vouch_for_it() -> None:
    clock = Clock()
    values = worker_log(clock)
    forged = ChainWriter("clickstream/0", encode_audit, decode(values[8])).write(
        at=T0, worker="w1", pipeline="clickstream", action="PASSED"
    )
    restarted = auditor(clock)  # a restart reads the chain's tail back: the forgery
    restarted.resume([decode(forged), decode(values[-1])])
    more = run(clock, restarted, "clickstream/0", 2) + [
        r.value for r in restarted.checkpoint(flush=True)
    ]
    _, found = attest([*values, forged, *more], now=T0 + timedelta(hours=1))
    assert [(f.kind, f.seq) for f in found] == [(AttestKind.UNANCHORED, 8)]


def test_records_within_the_grace_period_are_pending_not_unanchored() -> None:
    clock = Clock()
    a = auditor(clock)
    values = run(clock, a, "clickstream/0", 2)
    att, found = attest(values, now=T0 + timedelta(seconds=30))
    assert found == [] and att.pending == 2
