"""Streaming verification of the audit topic, every chain on its own.

Feed records in topic order with their Kafka position; ``finish`` returns the
breaks, each naming one exact record (topic, partition, offset), its chain and
seq, a kind and a plain-English message:

- ALTERED: the record's contents do not match its hash (or, if it was re-hashed,
  its neighbours recorded a different hash for it);
- MISSING: seqs absent before this record (records deleted);
- INSERTED: a record that is not part of the chain (forged, or an exact replay);
- REORDERED: a chain record moved in the topic;
- FORKED: several records continuing the chain beside its main line.

A record that extends its chain's tail costs one hash and no memory beyond a
window of the last ``keep`` records per chain. Anything else opens an episode:
the chain's records are kept until ``settle`` records in a row extend it again,
then ``linkage.resolve`` decides what happened. A record that turns up after
its chain has moved more than ``keep`` records on is matched to the one-record
hole it left (REORDERED); other records that far out are INSERTED. A record
deleted from the very end of a chain cannot be seen by any hash chain: compare
the chains' last seqs with the workers' (or a SUMMARY heartbeat) for that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from wardstream.audit.chain import Encoder, hash_of_written, record_hash
from wardstream.audit.linkage import (
    GENESIS_HASH,
    BreakKind,
    Entry,
    Finding,
    Position,
    resolve,
)
from wardstream.domain.audit import AuditRecord, to_utc_millis

__all__ = [
    "Break",
    "BreakKind",
    "ChainStatus",
    "ChainVerifier",
    "Position",
    "VerifyResult",
    "verify_all",
]


@dataclass(frozen=True, slots=True)
class Break:
    kind: BreakKind
    position: Position
    chain: str
    seq: int
    message: str
    related: Position | None = None

    def __str__(self) -> str:
        return f"{self.kind} {self.position} chain={self.chain} seq={self.seq}: {self.message}"


@dataclass(frozen=True, slots=True)
class ChainStatus:
    chain: str
    records: int
    first_seq: int
    last_seq: int
    trusted_from: Position | None  # verification started here, trusting this record


@dataclass(frozen=True, slots=True)
class VerifyResult:
    breaks: tuple[Break, ...]
    chains: tuple[ChainStatus, ...]
    checked: int
    skipped: int  # outside the since/until bounds
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.breaks


@dataclass(slots=True)
class _Chain:
    name: str
    window: list[Entry] = field(default_factory=list)
    tail: Entry | None = None
    anchor: Entry | None = None
    last: Entry | None = None
    open: bool = False
    clean_run: int = 0
    max_seq: int = -1
    records: int = 0
    min_seq: int = -1
    trusted: Entry | None = None
    findings: dict[int, list[Finding]] = field(default_factory=dict)
    holes: dict[str, Finding] = field(default_factory=dict)  # one-record gaps, by hash


class ChainVerifier:
    """Checks every chain of an audit topic as its records stream past."""

    def __init__(
        self,
        encode: Encoder,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        require_genesis: bool = True,
        settle: int = 32,
        keep: int = 256,
        max_window: int = 50_000,
    ) -> None:
        """``since``/``until`` bound the records checked by their ``at``; from a
        mid-point each chain trusts its first record seen. ``require_genesis``
        (ignored with ``since``) reports chains that do not start at seq 0;
        turn it off when retention has already removed the topic's start."""
        if settle < 1 or keep < 1 or max_window < keep:
            raise ValueError("settle and keep must be >= 1 and max_window >= keep")
        self._encode = encode
        self._since = None if since is None else to_utc_millis(since, "since")
        self._until = None if until is None else to_utc_millis(until, "until")
        self._require_genesis = require_genesis and since is None
        self._settle, self._keep, self._max_window = settle, keep, max_window
        self._chains: dict[str, _Chain] = {}
        self._altered: dict[str, Entry] = {}
        self._count = 0
        self._skipped = 0

    def feed(self, position: Position, record: AuditRecord, written: bytes | None = None) -> None:
        """Check one record. ``written`` (its schemaless Avro bytes, without any
        framing) lets the hash be checked whatever schema version wrote it."""
        since, until = self._since, self._until
        if (since is not None and record.at < since) or (until is not None and record.at > until):
            self._skipped += 1
            return
        expected = hash_of_written(written) if written is not None else None
        if expected is None:
            expected = record_hash(record, self._encode)
        valid = expected == record.hash
        entry = Entry(self._count, position, record.seq, record.hash, record.prev_hash, valid)
        self._count += 1
        if not entry.valid:
            self._altered[entry.hash] = entry
        chain = self._chains.get(record.chain)
        if chain is None:
            chain = self._chains[record.chain] = _Chain(record.chain)
        chain.records += 1
        if chain.min_seq < 0 or entry.seq < chain.min_seq:
            chain.min_seq = entry.seq
        if not chain.open and entry.valid and _extends(chain, entry):
            self._extend(chain, entry)
        else:
            self._hold(chain, entry)

    def _extend(self, chain: _Chain, entry: Entry) -> None:
        entry.on_main = True
        chain.window.append(entry)
        chain.tail = chain.last = entry
        if len(chain.window) > 2 * self._keep:
            del chain.window[: -self._keep]
            chain.anchor = next(e for e in chain.window if e.on_main)

    def _hold(self, chain: _Chain, entry: Entry) -> None:
        if not chain.open:
            chain.open = True
            chain.clean_run = 0
            chain.max_seq = chain.tail.seq if chain.tail else -1
        last = chain.last
        clean = entry.valid and last is not None and _follows(last, entry)
        chain.clean_run = chain.clean_run + 1 if clean else 0
        chain.max_seq = max(chain.max_seq, entry.seq)
        chain.window.append(entry)
        chain.last = entry
        settled = chain.clean_run >= self._settle and chain.max_seq == entry.seq
        if settled or len(chain.window) >= self._max_window:
            self._resolve(chain)

    def _resolve(self, chain: _Chain) -> None:
        res = resolve(chain.window, chain.anchor, self._require_genesis, self._altered)
        for entry in chain.window:
            if entry is not chain.anchor:
                chain.findings.pop(entry.idx, None)
                chain.holes.pop(entry.prev, None)
        for finding in map(partial(_fill_hole, chain), res.findings):
            known = chain.findings.setdefault(finding.entry.idx, [])
            if all(f.kind != finding.kind for f in known):  # one finding of a kind each
                known.append(finding)
            if finding.kind == BreakKind.MISSING and _one_missing(finding):
                chain.holes[finding.entry.prev] = finding
        if chain.anchor is None:
            chain.trusted = res.trusted_start
        chain.tail = res.main[-1]
        chain.open = False
        kept = res.main[-self._keep :]
        if len(kept) < len(res.main) or len(chain.window) >= self._max_window:
            keep, low = set(kept), kept[0].idx
            window = [e for e in chain.window if e in keep or (not e.on_main and e.idx > low)]
            chain.window = window if len(window) < self._max_window else kept
            chain.anchor = kept[0]

    def finish(self) -> VerifyResult:
        """Resolve what is still open and return every break, in topic order."""
        for chain in self._chains.values():
            if chain.open:
                self._resolve(chain)
        found = [
            (f, c.name) for c in self._chains.values() for fs in c.findings.values() for f in fs
        ]
        found.sort(key=lambda item: (item[0].entry.idx, item[0].kind))
        chains = sorted(self._chains.values(), key=lambda c: c.name)
        return VerifyResult(
            breaks=tuple(_to_break(f, name) for f, name in found),
            chains=tuple(_status(c) for c in chains),
            checked=self._count,
            skipped=self._skipped,
            notes=tuple(_note(c.name, c.trusted) for c in chains if c.trusted is not None),
        )


def verify_all(
    items: Iterable[tuple[Position, AuditRecord] | tuple[Position, AuditRecord, bytes]],
    encode: Encoder,
    **options: Any,
) -> VerifyResult:
    """Verify ``(position, record[, written])`` items in topic order; options as
    for ``ChainVerifier``."""
    verifier = ChainVerifier(encode, **options)
    for item in items:
        verifier.feed(*item)
    return verifier.finish()


def _one_missing(finding: Finding) -> bool:
    before = finding.related
    return finding.entry.seq == (before.seq + 2 if before is not None else 1)


def _fill_hole(chain: _Chain, finding: Finding) -> Finding:
    """A record that arrives long after the hole it belongs in was reported: the
    hole's record has left the window, so ``resolve`` saw an unlinked record."""
    entry = finding.entry
    hole = chain.holes.get(entry.hash)
    if finding.kind != BreakKind.INSERTED or finding.related is not None or hole is None:
        return finding
    before = hole.related
    if before is None:
        if entry.prev != GENESIS_HASH or entry.seq != 0:
            return finding
    elif entry.prev != before.hash or entry.seq != before.seq + 1:
        return finding
    del chain.holes[entry.hash]
    others = [f for f in chain.findings.get(hole.entry.idx, ()) if f.kind != BreakKind.MISSING]
    chain.findings[hole.entry.idx] = others
    msg = (
        f"seq {entry.seq} appears after seq {hole.entry.seq} at {hole.entry.pos}, far from "
        "its place: moved in the topic"
    )
    return Finding(BreakKind.REORDERED, entry, msg, hole.entry)


def _extends(chain: _Chain, entry: Entry) -> bool:
    if chain.tail is None:
        return not chain.window and entry.seq == 0 and entry.prev == GENESIS_HASH
    return _follows(chain.tail, entry)


def _follows(before: Entry, entry: Entry) -> bool:
    return entry.seq == before.seq + 1 and entry.prev == before.hash


def _to_break(finding: Finding, chain: str) -> Break:
    related = finding.related.pos if finding.related is not None else None
    entry = finding.entry
    return Break(finding.kind, entry.pos, chain, entry.seq, finding.message, related)


def _status(chain: _Chain) -> ChainStatus:
    return ChainStatus(
        chain=chain.name,
        records=chain.records,
        first_seq=chain.min_seq,
        last_seq=chain.tail.seq if chain.tail is not None else -1,
        trusted_from=chain.trusted.pos if chain.trusted is not None else None,
    )


def _note(name: str, trusted: Entry) -> str:
    return (
        f"chain {name}: verification starts at seq {trusted.seq} ({trusted.pos}); that "
        "record is trusted, the records before it were not checked (outside the time "
        "bounds or removed by retention)"
    )
