"""Signing what operator commands append to the audit topic.

Workers sign their chains in periodic checkpoints; an operator command (``audit
lookup``, ``quarantine release``, ...) appends one record and exits, so when the
signing key is configured where it runs it signs that record at once: a
CHECKPOINT on ``_checkpoint/_operator`` that vouches for exactly that record,
produced in the same transaction. Without the key the record stays UNANCHORED
for ``audit verify --public-keys``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from wardstream.audit.chain import ChainWriter
from wardstream.audit.checkpoint import Signer, checkpoint_chain, sign_checkpoint
from wardstream.domain.audit import AuditRecord
from wardstream.kafka.audit_log import audit_codec, chain_tail

OPERATOR_CHECKPOINTS = checkpoint_chain("_operator")


def operator_checkpoint(
    config: Mapping[str, Any], topic: str, record: AuditRecord, signer: Signer, at: datetime
) -> tuple[bytes, bytes]:
    """(key, value) of a CHECKPOINT vouching for ``record`` alone, continuing the
    operators' checkpoint chain from its tail (read under the caller's transaction id)."""
    tail = chain_tail(config, topic, OPERATOR_CHECKPOINTS)
    writer = ChainWriter(OPERATOR_CHECKPOINTS, audit_codec().encode, tail)
    head = {record.chain: (record.seq, record.hash, record.seq - 1)}
    value = sign_checkpoint(writer, signer, record.worker, at, head)
    return OPERATOR_CHECKPOINTS.encode(), value
