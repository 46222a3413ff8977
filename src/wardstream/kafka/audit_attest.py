"""Verifying the audit topic against signed checkpoints and an anchor: the Kafka side.

First pass: only the records keyed ``_checkpoint/...`` are decoded (the others
are read, not decoded) into ``audit.attest.CheckpointBook``. Second pass:
``verify_topic`` (the hash chains) with every record also fed to
``Attestation``. A checkpoint written under another key is not trusted: the
records it claims to cover stay UNANCHORED, which fails closed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from wardstream.audit.attest import (
    AnchoredHead,
    Attestation,
    CheckpointBook,
    Finding,
    PublicKeySet,
    outcome,
)
from wardstream.audit.checkpoint import CHECKPOINT_CHAINS
from wardstream.audit.verify import Position, VerifyResult
from wardstream.domain.audit import AuditRecord
from wardstream.kafka.audit_log import (
    Progress,
    _consumer,
    _partitions,
    audit_codec,
    decode_entry,
    scan_topic,
    verify_topic,
)

_PREFIX = CHECKPOINT_CHAINS.encode()


class _NoKeys:
    def __contains__(self, key_id: object) -> bool:
        return False

    def verify(self, key_id: str, message: bytes, signature: bytes) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class SignedVerification:
    chains: VerifyResult
    findings: tuple[Finding, ...]
    attestation: Attestation
    state: str  # intact | tampered | unanchored

    @property
    def unanchored(self) -> int:
        return self.attestation.unanchored


def read_checkpoints(config: Mapping[str, Any], topic: str, book: CheckpointBook) -> int:
    """Feed every checkpoint of ``topic`` to ``book``; the number of checkpoints read."""
    codec, n = audit_codec(), 0
    for message in scan_topic(config, topic, "audit"):
        if message.key is None or not message.key.startswith(_PREFIX):
            continue
        pos = Position(message.topic, message.partition, message.offset)
        entry = decode_entry(codec, pos, message.key, message.value)
        if entry.record is not None:
            book.add(pos, entry.record, entry.written)
            n += 1
    book.finish()
    return n


def earliest_offsets(config: Mapping[str, Any], topic: str) -> dict[int, int]:
    """Each partition's earliest offset: where retention has brought the topic's start."""
    consumer = _consumer(config)
    try:
        tps = _partitions(consumer, topic)
        return {tp.partition: off for tp, off in consumer.beginning_offsets(tps).items()}
    finally:
        consumer.close()


def verify_signed(
    config: Mapping[str, Any],
    topic: str,
    keys: PublicKeySet | None,
    *,
    now: datetime,
    grace: timedelta,
    since: datetime | None = None,
    until: datetime | None = None,
    trimmed: bool = False,
    anchored: Iterable[AnchoredHead] = (),
    on_record: Callable[[AuditRecord], None] | None = None,
    on_progress: Progress | None = None,
) -> SignedVerification:
    """Both passes; ``keys=None`` checks the anchor (and the chains) only."""
    book = CheckpointBook(keys if keys is not None else _NoKeys(), trimmed or since is not None)
    if keys is not None:
        read_checkpoints(config, topic, book)
    anchored = list(anchored)
    att = Attestation(book, now, grace, until=until, anchored=anchored, coverage=keys is not None)
    result = verify_topic(
        config, topic, since=since, until=until, require_genesis=not trimmed,
        on_record=on_record, on_progress=on_progress, on_entry=att.feed,
    )  # fmt: skip
    earliest = earliest_offsets(config, topic) if anchored else None
    findings = tuple(att.finish(earliest))
    return SignedVerification(result, findings, att, outcome(findings, len(result.breaks)))
