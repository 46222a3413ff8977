"""Hash chains of audit records.

``hash`` = SHA-256 hex of the record's canonical bytes: its schemaless Avro
encoding (AuditRecord.avsc) with ``hash`` set to ``""`` and ``prev_hash``
included. The encoder is injected (the serde layer passes fastavro's), so this
module needs no Avro library.

Because ``hash`` is the last field of AuditRecord.avsc, a written record's
bytes end with ``varint(128) + 64 hex digits``; the canonical bytes are the
same bytes ending in a single ``0x00`` instead. ``hash_of_written`` uses that
to verify records written under any schema version, without re-encoding.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from wardstream.audit.errors import ChainError
from wardstream.domain.audit import AuditRecord, epoch_millis, to_utc_millis
from wardstream.domain.enums import AuditAction

Encoder = Callable[[Mapping[str, object]], bytes]
"""Schemaless Avro encoding of an AuditRecord datum (``AuditRecord.to_dict()``)."""

Sealer = Callable[..., tuple[bytes, str]]
"""A record's written bytes and hash from its fields in the schema's order (times in epoch
milliseconds, maps as sorted lists of pairs), less ``hash``: the native core's
``seal_audit``, which writes exactly what ``write`` writes with the Python encoder."""

BatchSealer = Callable[..., tuple[list[bytes], str]]
"""Consecutive records of a chain sealed at once (the native core's ``seal_audits``):
``(at_ms, worker, pipeline, chain, seq, prev_hash, rows)``, see :meth:`ChainWriter.write_many`."""

Row = tuple[str, str | None, str | None, str | None, str | None, str | None, Sequence[str]]
"""A record of :meth:`ChainWriter.write_many`: ``(action, rule, reason, subject_ref,
event_ref, consent_id, fields_redacted)``."""

GENESIS_HASH = "0" * 64
_HASH_TRAILER = b"\x80\x01"  # zig-zag varint of the length 64


def record_hash(record: AuditRecord, encode: Encoder) -> str:
    """The hash ``record`` should carry, computed from its fields."""
    datum = record.to_dict()
    datum["hash"] = ""
    return hashlib.sha256(encode(datum)).hexdigest()


def hash_of_written(written: bytes) -> str | None:
    """The hash a written (schemaless Avro) record should carry, from its bytes alone.

    None when the bytes do not end in a 64-character ``hash`` field.
    """
    if len(written) < 66 or written[-66:-64] != _HASH_TRAILER:
        return None
    return hashlib.sha256(written[:-66] + b"\x00").hexdigest()


def is_intact(record: AuditRecord, encode: Encoder) -> bool:
    """Whether ``record.hash`` matches its contents."""
    return record_hash(record, encode) == record.hash


class ChainWriter:
    """Appends records to one chain, continuing from its last written record.

    After a restart or rebalance, pass the chain's last record read back from
    the audit topic as ``last``: the writer continues at ``last.seq + 1``
    linked to ``last.hash`` and never starts a second branch. ``last=None``
    starts the chain at seq 0 with the genesis ``prev_hash``.
    """

    __slots__ = (
        "_chain",
        "_encode",
        "_last_hash",
        "_last_written",
        "_next_seq",
        "_new_id",
        "_sealer",
        "_batch",
    )

    def __init__(
        self,
        chain_id: str,
        encode: Encoder,
        last: AuditRecord | None = None,
        *,
        new_id: Callable[[], str] | None = None,
        sealer: Sealer | None = None,
        batch: BatchSealer | None = None,
    ) -> None:
        if not chain_id:
            raise ChainError("a chain id is needed, e.g. 'clickstream/3' or '_control/0'")
        if last is not None:
            _check_last(chain_id, last, encode)
        self._chain = chain_id
        self._encode = encode
        self._last_hash = GENESIS_HASH if last is None else last.hash
        self._next_seq = 0 if last is None else last.seq + 1
        self._new_id = new_id or _IdSource()
        self._last_written = b""
        self._sealer = sealer
        self._batch = batch

    @property
    def chain_id(self) -> str:
        return self._chain

    @property
    def next_seq(self) -> int:
        return self._next_seq

    @property
    def last_hash(self) -> str:
        return self._last_hash

    def append(self, *, audit_id: str | None = None, **fields: Any) -> AuditRecord:
        """Seal the next record of the chain (chain, seq, prev_hash and hash filled in).

        ``fields`` are ``AuditRecord``'s own (``at``, ``worker``, ``pipeline``,
        ``action``, and optionally ``rule`` ... ``attrs``; see ``write``), checked by it.
        ``last_written`` then holds the record's schemaless Avro bytes, which the
        stream layer can produce (framed as its serde requires) instead of
        encoding the record a second time.
        """
        draft = AuditRecord(
            audit_id=audit_id or self._new_id(),
            chain=self._chain,
            seq=self._next_seq,
            prev_hash=self._last_hash,
            **fields,
        )
        digest = self._seal(draft.to_dict())
        object.__setattr__(draft, "hash", digest)  # sealed before anyone else sees it
        return draft

    def write(
        self,
        *,
        at: datetime,
        worker: str,
        pipeline: str,
        action: AuditAction | str,
        rule: str | None = None,
        reason: str | None = None,
        subject_ref: str | None = None,
        event_ref: str | None = None,
        consent_id: str | None = None,
        fields_redacted: Sequence[str] = (),
        counts: Mapping[str, int] | None = None,
        deadline: datetime | None = None,
        attrs: Mapping[str, str] | None = None,
    ) -> bytes:
        """``append`` for the hot path: the sealed record's bytes, no ``AuditRecord``.

        The same record and bytes as ``append`` (``tests/unit/audit/test_audit_chain.py``), at
        about half the cost: the datum is built directly, not through the validating
        dataclass. Values of the wrong type still fail, in the encoder (``ChainError``).
        With a ``sealer`` the bytes are encoded and hashed natively, identically.
        """
        if self._sealer is not None:
            return self._sealed_natively(
                at, worker, pipeline, action, rule, reason, subject_ref, event_ref,
                consent_id, fields_redacted, counts, deadline, attrs,
            )  # fmt: skip
        self._seal(
            {
                "audit_id": self._new_id(),
                "at": to_utc_millis(at, "at"),
                "worker": worker,
                "pipeline": pipeline,
                "chain": self._chain,
                "seq": self._next_seq,
                "action": str(action),
                "rule": rule,
                "reason": reason,
                "subject_ref": subject_ref,
                "event_ref": event_ref,
                "consent_id": consent_id,
                "fields_redacted": list(fields_redacted),
                "counts": dict(sorted(counts.items())) if counts else {},
                "deadline": None if deadline is None else to_utc_millis(deadline, "deadline"),
                "attrs": dict(sorted(attrs.items())) if attrs else {},
                "prev_hash": self._last_hash,
                "hash": "",
            }
        )
        return self._last_written

    def write_many(
        self, *, at: datetime, worker: str, pipeline: str, rows: list[Row]
    ) -> list[bytes]:
        """``write`` for several records at once, all at ``at`` and without counts,
        deadline or attrs: the same records and bytes as writing them one by one, sealed
        in one call with a ``batch`` sealer."""
        if self._batch is None or not rows:
            return [
                self.write(
                    at=at,
                    worker=worker,
                    pipeline=pipeline,
                    action=action,
                    rule=rule,
                    reason=reason,
                    subject_ref=ref,
                    event_ref=event,
                    consent_id=consent,
                    fields_redacted=removed,
                )
                for action, rule, reason, ref, event, consent, removed in rows
            ]
        new_id = self._new_id
        try:
            written, digest = self._batch(
                epoch_millis(to_utc_millis(at, "at")),
                worker,
                pipeline,
                self._chain,
                self._next_seq,
                self._last_hash,
                [(new_id(), *row) for row in rows],
            )
        except (TypeError, OverflowError) as exc:
            raise ChainError(f"not AuditRecord data: {type(exc).__name__} {exc}") from None
        self._last_written, self._last_hash = written[-1], digest
        self._next_seq += len(rows)
        return written

    def _sealed_natively(
        self,
        at: datetime,
        worker: str,
        pipeline: str,
        action: AuditAction | str,
        rule: str | None,
        reason: str | None,
        subject_ref: str | None,
        event_ref: str | None,
        consent_id: str | None,
        fields_redacted: Sequence[str],
        counts: Mapping[str, int] | None,
        deadline: datetime | None,
        attrs: Mapping[str, str] | None,
    ) -> bytes:
        assert self._sealer is not None  # noqa: S101
        try:
            written, digest = self._sealer(
                self._new_id(),
                epoch_millis(to_utc_millis(at, "at")),
                worker,
                pipeline,
                self._chain,
                self._next_seq,
                str(action),
                rule,
                reason,
                subject_ref,
                event_ref,
                consent_id,
                list(fields_redacted),
                sorted(counts.items()) if counts else [],
                None if deadline is None else epoch_millis(to_utc_millis(deadline, "deadline")),
                sorted(attrs.items()) if attrs else [],
                self._last_hash,
            )
        except (TypeError, OverflowError) as exc:
            raise ChainError(f"not an AuditRecord datum: {type(exc).__name__} {exc}") from None
        self._last_written, self._last_hash = written, digest
        self._next_seq += 1
        return written

    def _seal(self, datum: Mapping[str, object]) -> str:
        """Encode ``datum`` (hash ""), hash it, remember the bytes, advance the chain."""
        canonical = self._encode(datum)
        if not canonical.endswith(b"\x00"):
            raise ChainError("the encoder must write AuditRecord.avsc, whose last field is hash")
        digest = hashlib.sha256(canonical).hexdigest()
        self._last_written = canonical[:-1] + _HASH_TRAILER + digest.encode("ascii")
        self._last_hash = digest
        self._next_seq += 1
        return digest

    @property
    def last_written(self) -> bytes:
        """Schemaless Avro bytes of the record ``append`` returned last."""
        return self._last_written


def _check_last(chain_id: str, last: AuditRecord, encode: Encoder) -> None:
    if last.chain != chain_id:
        raise ChainError(
            f"cannot continue chain {chain_id!r} from a record of chain {last.chain!r}; "
            "pass the last record of this chain, or None for a new chain"
        )
    if not is_intact(last, encode):
        raise ChainError(
            f"the last record of chain {chain_id!r} (seq {last.seq}) does not match its "
            "hash; run `wardstream audit verify` before writing more to this chain"
        )


def last_records(records: Iterable[AuditRecord]) -> dict[str, AuditRecord]:
    """The record with the highest seq of each chain: what ``ChainWriter`` continues from."""
    tails: dict[str, AuditRecord] = {}
    for record in records:
        known = tails.get(record.chain)
        if known is None or record.seq > known.seq:
            tails[record.chain] = record
    return tails


class _IdSource:
    """Unique audit ids without a random draw per record: a random prefix per
    writer, then a counter."""

    __slots__ = ("_n", "_prefix")

    def __init__(self) -> None:
        self._prefix = uuid.uuid4().hex[:20]
        self._n = 0

    def __call__(self) -> str:
        self._n += 1
        return f"{self._prefix}{self._n:012x}"
