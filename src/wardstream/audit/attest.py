"""Checking the audit topic against the workers' signed checkpoints, with no secret.

Two passes over the topic. First every CHECKPOINT (``CheckpointBook.add``): its
signature under the auditor's public keys, its key, and its predecessor (the
worker's previous checkpoint, which must be on the topic). Then every other
record (``Attestation.feed``, beside ``ChainVerifier``): a record at a signed
head must have exactly the signed hash (so, with the hash chain intact, every
record up to a head is what the worker signed); a record past its chain's last
signed head and older than the grace period is UNANCHORED (nobody holding the
signing key vouched for it); a chain that ends before a signed head was cut
short (TRUNCATED, with the missing seqs). ``Anchor`` adds heads an auditor kept
outside Kafka (``anchor.py``).

What it cannot see: anything done by someone holding the signing key.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from wardstream.audit.chain import hash_of_written
from wardstream.audit.checkpoint import (
    Checkpoint,
    CheckpointFormatError,
    is_checkpoint_chain,
    parse_checkpoint,
)
from wardstream.audit.linkage import Position
from wardstream.domain.audit import AuditRecord


class PublicKeySet(Protocol):
    """The auditor's public keys (``crypto.signing.PublicKeys``)."""

    def __contains__(self, key_id: object) -> bool: ...

    def verify(self, key_id: str, message: bytes, signature: bytes) -> bool: ...


CLOCK_SKEW = timedelta(minutes=5)


class AttestKind(StrEnum):
    UNANCHORED = "UNANCHORED"  # past every signed head and older than the grace period
    TRUNCATED = "TRUNCATED"  # the chain ends before a head that was signed (or anchored)
    NOT_SIGNED = "NOT_SIGNED"  # at a signed head, but not the record that was signed
    BAD_SIGNATURE = "BAD_SIGNATURE"  # a checkpoint whose signature does not verify
    UNKNOWN_KEY = "UNKNOWN_KEY"  # a checkpoint signed by a key not in the public-keys file
    MISSING_PREDECESSOR = "MISSING_PREDECESSOR"  # its previous checkpoint is not on the topic
    RETAINED = "RETAINED"  # an anchored record is gone, and so is its offset: retention


TAMPERED = frozenset(AttestKind) - {AttestKind.UNANCHORED, AttestKind.RETAINED}


@dataclass(frozen=True, slots=True)
class Finding:
    kind: AttestKind
    position: Position | None  # None: no record left to point at (see ``related``)
    chain: str
    seq: int
    message: str
    related: Position | None = None

    @property
    def tampered(self) -> bool:
        return self.kind in TAMPERED


@dataclass(frozen=True, slots=True)
class Signed:
    """A signed head: the hash a checkpoint vouches for, and where that checkpoint is."""

    hash: str
    by: Position
    worker: str
    at: datetime


@dataclass(slots=True)
class CheckpointBook:
    """The valid checkpoints of the topic and the heads they sign (first pass)."""

    keys: PublicKeySet
    trimmed: bool = False  # retention or --from: a checkpoint chain may start mid-way
    findings: list[Finding] = field(default_factory=list)
    heads: dict[str, dict[int, Signed]] = field(default_factory=dict)
    latest: dict[str, tuple[Position, Checkpoint]] = field(default_factory=dict)
    key_ids: dict[str, int] = field(default_factory=dict)  # valid checkpoints per key
    vouched: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # (from, to]
    _valid: list[tuple[Position, Checkpoint]] = field(default_factory=list)

    def add(self, position: Position, record: AuditRecord, written: bytes | None = None) -> None:
        if written is not None and hash_of_written(written) != record.hash:
            return  # altered: ChainVerifier reports it; nothing it says is trusted
        where = (record.chain, record.seq)
        try:
            cp = parse_checkpoint(record)
        except CheckpointFormatError as exc:
            self._find(AttestKind.BAD_SIGNATURE, position, *where, f"{exc}: forged or damaged")
            return
        if cp.key_id not in self.keys:
            msg = f"signed with key {cp.key_id}, which is not in the public-keys file"
            self._find(AttestKind.UNKNOWN_KEY, position, *where, msg)
            return
        if not self.keys.verify(cp.key_id, cp.message, cp.signature):
            msg = f"the signature does not verify under {cp.key_id}: forged or altered"
            self._find(AttestKind.BAD_SIGNATURE, position, *where, msg)
            return
        self._valid.append((position, cp))
        self.key_ids[cp.key_id] = self.key_ids.get(cp.key_id, 0) + 1
        known = self.latest.get(cp.chain)
        if known is None or cp.seq > known[1].seq:
            self.latest[cp.chain] = (position, cp)
        for chain, (seq, digest, start) in cp.heads.items():
            self.heads.setdefault(chain, {})[seq] = Signed(digest, position, cp.worker, cp.at)
            self.vouched.setdefault(chain, []).append((start, seq))

    def finish(self) -> None:
        """Check every valid checkpoint's predecessor (call once all are added)."""
        hashes = {cp.hash for _, cp in self._valid}
        first: dict[str, tuple[Position, Checkpoint]] = {}
        for pos, cp in self._valid:
            if cp.chain not in first or cp.seq < first[cp.chain][1].seq:
                first[cp.chain] = (pos, cp)
        for pos, cp in self._valid:
            linked = cp.is_first or cp.prev_checkpoint in hashes
            if linked or (self.trimmed and first[cp.chain][1] is cp):
                continue
            msg = (
                f"worker {cp.worker}'s previous checkpoint (hash {cp.prev_checkpoint[:12]}...) "
                "is not on the topic: a checkpoint was removed"
            )
            self._find(AttestKind.MISSING_PREDECESSOR, pos, cp.chain, cp.seq, msg)

    def _find(self, kind: AttestKind, pos: Position, chain: str, seq: int, msg: str) -> None:
        self.findings.append(Finding(kind, pos, chain, seq, msg))


@dataclass(frozen=True, slots=True)
class AnchoredHead:
    """A head an auditor kept outside Kafka (``audit anchor``), with its place."""

    chain: str
    seq: int
    hash: str
    position: Position


@dataclass(slots=True)
class _Tail:
    seq: int
    position: Position


class Attestation:
    """The second pass: every record that is not a checkpoint, in any order."""

    def __init__(
        self,
        book: CheckpointBook,
        now: datetime,
        grace: timedelta,
        *,
        until: datetime | None = None,
        anchored: Iterable[AnchoredHead] = (),
        coverage: bool = True,
    ) -> None:
        """``coverage=False`` (no public keys, an anchor only): no UNANCHORED findings."""
        self.book, self.now, self.grace, self.until = book, now, grace, until
        self.coverage = coverage
        self.pending = 0  # past every signed head, but within the grace period
        self.unanchored = 0
        self._findings: list[Finding] = []
        self._top = {c: max(s) for c, s in book.heads.items()}
        self._vouched = {c: _merge(spans) for c, spans in book.vouched.items()}
        self._tails: dict[str, _Tail] = {}
        self.top_positions: dict[str, Position] = {}  # where each chain's top signed head is
        self.signed_positions: set[Position] = set()  # records that are exactly a signed head
        self._anchored = {(a.chain, a.seq): a for a in anchored}
        self._seen_anchored: set[tuple[str, int]] = set()

    def feed(self, position: Position, record: AuditRecord) -> None:
        chain, seq = record.chain, record.seq
        anchor = self._anchored.get((chain, seq))
        if anchor is not None:
            self._seen_anchored.add((chain, seq))
            if anchor.hash != record.hash:
                msg = f"not the record the anchor file holds (it was at {anchor.position})"
                self._findings.append(Finding(AttestKind.NOT_SIGNED, position, chain, seq, msg))
        if is_checkpoint_chain(chain):
            return
        tail = self._tails.get(chain)
        if tail is None or seq > tail.seq:
            self._tails[chain] = _Tail(seq, position)
        signed = self.book.heads.get(chain, {}).get(seq)
        if signed is not None and signed.hash != record.hash:
            msg = (
                f"not the record worker {signed.worker} signed at {signed.by}: inserted or replaced"
            )
            self._findings.append(
                Finding(AttestKind.NOT_SIGNED, position, chain, seq, msg, signed.by)
            )
        elif signed is not None:
            self.signed_positions.add(position)
            if seq == self._top[chain]:
                self.top_positions[chain] = position
        if self.coverage and not _covers(self._vouched.get(chain, ()), seq):
            self._unanchored(position, record)

    def _unanchored(self, position: Position, record: AuditRecord) -> None:
        recent = self.now - self.grace <= record.at <= self.now + CLOCK_SKEW
        if recent and record.seq > self._top.get(record.chain, -1):
            self.pending += 1
            return
        self.unanchored += 1
        msg = (
            f"written by {record.worker!r} at {record.at:%Y-%m-%dT%H:%M:%SZ} and covered by "
            "no signed checkpoint: not vouched for by any worker's key"
        )
        self._findings.append(
            Finding(AttestKind.UNANCHORED, position, record.chain, record.seq, msg)
        )

    def finish(self, earliest: Mapping[int, int] | None = None) -> list[Finding]:
        """Every finding of both passes. ``earliest`` (partition -> the topic's earliest
        offset) tells retention from deletion for anchored records that are gone."""
        out = [*self.book.findings, *self._findings]
        for chain, top in sorted(self._top.items()):
            signed = self.book.heads[chain][top]
            if self.until is not None and signed.at > self.until:
                continue  # signed after --to: the records it covers may lie past it
            tail = self._tails.get(chain)
            if tail is None and self.book.trimmed:
                continue  # the whole chain may have aged out of the topic
            last = -1 if tail is None else tail.seq
            if last < top:
                msg = (
                    f"the chain ends at seq {last} but worker {signed.worker} signed seq {top} "
                    f"at {signed.by}: seqs {last + 1}..{top} were cut off"
                )
                where = None if tail is None else tail.position
                out.append(Finding(AttestKind.TRUNCATED, where, chain, last + 1, msg, signed.by))
        for key, head in sorted(self._anchored.items()):
            if key not in self._seen_anchored:
                out.append(_lost_anchor(head, self._tails.get(head.chain), earliest))
        return out


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Half-open spans (from, to] merged where they touch or overlap, sorted."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _covers(spans: Sequence[tuple[int, int]], seq: int) -> bool:
    i = bisect_left(spans, (seq, -1)) - 1  # the last span starting below seq
    return i >= 0 and spans[i][0] < seq <= spans[i][1]


def _lost_anchor(
    head: AnchoredHead, tail: _Tail | None, earliest: Mapping[int, int] | None
) -> Finding:
    _, partition, offset = head.position
    gone = earliest is not None and earliest.get(partition, 0) > offset
    if gone:
        msg = (
            f"the anchored record at {head.position} was removed by retention (the partition "
            f"now starts at offset {earliest[partition] if earliest else '?'}): not tampering"
        )
        return Finding(AttestKind.RETAINED, None, head.chain, head.seq, msg, head.position)
    last = -1 if tail is None else tail.seq
    msg = (
        f"the anchor file holds seq {head.seq} (at {head.position}) but the topic no longer "
        f"does, and retention has not reached that offset: seqs {last + 1}..{head.seq} are gone"
    )
    where = None if tail is None else tail.position
    return Finding(AttestKind.TRUNCATED, where, head.chain, head.seq, msg, head.position)


def outcome(findings: Iterable[Finding], chain_breaks: int) -> str:
    """``tampered``, ``unanchored`` or ``intact`` (RETAINED alone is intact)."""
    kinds = {f.kind for f in findings}
    if chain_breaks or kinds & TAMPERED:
        return "tampered"
    if AttestKind.UNANCHORED in kinds:
        return "unanchored"
    return "intact"


__all__ = [
    "AnchoredHead",
    "AttestKind",
    "Attestation",
    "CheckpointBook",
    "Finding",
    "Signed",
    "outcome",
]
