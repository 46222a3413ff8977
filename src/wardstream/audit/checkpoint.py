"""Signed checkpoints: a worker's signature over the heads of the chains it wrote.

A CHECKPOINT record lives on the worker's own chain ``_checkpoint/<worker>``,
so its ``prev_hash`` is the hash of the worker's previous checkpoint (a chain
of checkpoints per worker, also named in ``attrs["prev_checkpoint"]``). Its
``attrs`` carry:

- ``heads``: JSON ``{"<chain>": [seq, "<hash>", from], ...}``, the last record
  of every chain the worker wrote since its previous checkpoint, and the seq
  it vouches from: the worker vouches for seqs ``from + 1 .. seq``. ``from`` is
  its own previously signed head of the chain, or, when it took the chain over
  (a start, an assignment), the record it continued from, which it did not
  write and does not vouch for (-1: the chain's start);
- ``key_id``: the signing key's id (``ed25519-<16 hex>``);
- ``sig``: base64 Ed25519 signature over ``checkpoint_message``: the worker,
  the checkpoint's chain, seq and time, the key id, the previous checkpoint's
  hash and the heads, as canonical JSON after a domain-separation prefix.

The record's own ``hash`` covers all of it, like any record's. The signer is
injected (``crypto.signing.SigningKey`` has the shape of ``Signer``), so this
module needs no cryptography library; verification is in ``attest``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from wardstream.audit.chain import GENESIS_HASH, ChainWriter
from wardstream.audit.errors import AuditError
from wardstream.domain.audit import AuditRecord, to_utc_millis
from wardstream.domain.enums import AuditAction

CHECKPOINT_CHAINS = "_checkpoint/"
CHECKPOINT_PIPELINE = "_checkpoint"
_PREFIX = b"wardstream-checkpoint-v1\n"
Head = tuple[int, str, int]
"""(seq, hash, from) of a chain's last record: the signer vouches for seqs from+1..seq."""


class Signer(Protocol):
    @property
    def key_id(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


class CheckpointFormatError(AuditError):
    """A CHECKPOINT record lacks a field or holds one that does not parse."""


def checkpoint_chain(worker: str) -> str:
    return CHECKPOINT_CHAINS + worker


def is_checkpoint_chain(chain: str) -> bool:
    return chain.startswith(CHECKPOINT_CHAINS)


def checkpoint_message(
    *,
    worker: str,
    chain: str,
    seq: int,
    at: datetime,
    key_id: str,
    prev_checkpoint: str,
    heads: Mapping[str, Head],
) -> bytes:
    """The exact bytes a checkpoint's signature covers."""
    body = {
        "at": int(to_utc_millis(at, "at").timestamp() * 1000),
        "chain": chain,
        "heads": {c: list(head) for c, head in sorted(heads.items())},
        "key_id": key_id,
        "prev_checkpoint": prev_checkpoint,
        "seq": seq,
        "worker": worker,
    }
    return _PREFIX + json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def heads_text(heads: Mapping[str, Head]) -> str:
    return json.dumps({c: list(h) for c, h in sorted(heads.items())}, separators=(",", ":"))


def sign_checkpoint(
    writer: ChainWriter, signer: Signer, worker: str, at: datetime, heads: Mapping[str, Head]
) -> bytes:
    """Append the next CHECKPOINT to ``writer`` (the worker's checkpoint chain); its bytes."""
    at = to_utc_millis(at, "at")
    prev = writer.last_hash
    message = checkpoint_message(
        worker=worker, chain=writer.chain_id, seq=writer.next_seq, at=at,
        key_id=signer.key_id, prev_checkpoint=prev, heads=heads,
    )  # fmt: skip
    attrs = {
        "heads": heads_text(heads),
        "key_id": signer.key_id,
        "prev_checkpoint": prev,
        "sig": base64.b64encode(signer.sign(message)).decode("ascii"),
    }
    return writer.write(
        at=at, worker=worker, pipeline=CHECKPOINT_PIPELINE, action=AuditAction.CHECKPOINT,
        attrs=attrs,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A CHECKPOINT record's parts, as ``attest`` checks them."""

    worker: str
    chain: str
    seq: int
    at: datetime
    key_id: str
    prev_checkpoint: str
    heads: Mapping[str, Head]
    signature: bytes
    hash: str

    @property
    def message(self) -> bytes:
        return checkpoint_message(
            worker=self.worker, chain=self.chain, seq=self.seq, at=self.at, key_id=self.key_id,
            prev_checkpoint=self.prev_checkpoint, heads=self.heads,
        )  # fmt: skip

    @property
    def is_first(self) -> bool:
        return self.prev_checkpoint == GENESIS_HASH


def parse_checkpoint(record: AuditRecord) -> Checkpoint:
    """The checkpoint in ``record``; ``CheckpointFormatError`` says what is wrong."""
    attrs = record.attrs
    missing = [k for k in ("heads", "key_id", "prev_checkpoint", "sig") if k not in attrs]
    if record.action != AuditAction.CHECKPOINT or missing:
        raise CheckpointFormatError(f"not a CHECKPOINT record (missing {', '.join(missing)})")
    try:
        raw = json.loads(attrs["heads"])
        heads = {str(c): (int(v[0]), str(v[1]), int(v[2])) for c, v in raw.items()}
        signature = base64.b64decode(attrs["sig"], validate=True)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, binascii.Error):
        raise CheckpointFormatError("the checkpoint's heads or signature do not parse") from None
    return Checkpoint(
        worker=record.worker, chain=record.chain, seq=record.seq, at=record.at,
        key_id=attrs["key_id"], prev_checkpoint=attrs["prev_checkpoint"], heads=heads,
        signature=signature, hash=record.hash,
    )  # fmt: skip


class CheckpointClock:
    """When the next checkpoint is due: every ``interval`` of the injected clock."""

    __slots__ = ("_clock", "_interval", "_next")

    def __init__(self, interval: timedelta, clock: Callable[[], datetime]) -> None:
        if interval <= timedelta(0):
            raise ValueError("the checkpoint interval must be positive, e.g. 60 seconds")
        self._interval, self._clock = interval, clock
        self._next = clock() + interval

    def due(self) -> bool:
        return self._clock() >= self._next

    def done(self) -> None:
        self._next = self._clock() + self._interval
