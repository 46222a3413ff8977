"""The lifecycle's own compacted topics: what their keys and values look like.

Values are small JSON documents (operational state, like ``ward.subjects``). No raw
subject id is on these topics outside sealed bytes (SPEC, "Topics"): ``ward.seen`` and
``ward.holds`` are keyed by the subject's ref and their values are sealed
(``LifecycleRecords``: AES-256-GCM under a key derived from the id key, the record key
as associated data, so a value cannot be moved to another key):

* ``ward.seen``, key ``<subject ref>|<pipeline>``: sealed ``{"subject_id", "first_at",
  "last_at"}``, times in epoch milliseconds. ``first_at`` is the oldest collection that
  may still be retained (null after a retention deletion removed everything);
  ``last_at`` the newest, kept to within the retention grid. Written by the worker that
  passes or quarantines a child's (or unknown-age) event; moved forward by the issuer
  after a RETENTION_EXPIRED deletion.
* ``ward.control``, key ``stop|<pipeline or *>``: ``{"stopped_at"}``. A stop
  marker is never lifted: collection stays stopped across restarts.
* ``ward.holds``, key ``hold|<subject ref>``: a sealed ``LegalHold``; key
  ``deferred|<deletion_id>``: a sealed ``DeferredDeletion`` (tombstoned once issued).

Sealed values start with the byte 0x02. The first format (raw subject ids in the keys
``<subject_id>|<pipeline>`` and ``hold|<subject_id>``, JSON values in the clear) is
still read; ``legacy`` is true for such a record, and the lifecycle leader writes it
again in the sealed format and tombstones the old key (``lifecycle.driver``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wardstream.crypto.envelope import SealBroken, open_sealed, seal
from wardstream.domain.holds import DeferredDeletion, LegalHold

STOP_ALL = "*"
SEALED = b"\x02"
RECORDS_KEY_LABEL = b"wardstream/lifecycle-records/v1"
"""``IdKey.subkey`` label of the key that seals ``ward.seen`` and ``ward.holds`` values."""


@dataclass(frozen=True, slots=True)
class SeenMark:
    first_at: datetime | None
    last_at: datetime


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def parse_seen_key(key: bytes) -> tuple[str, str]:
    """``(subject ref, pipeline)``; the first format's keys hold the raw subject id."""
    name, _, pipeline = key.decode("utf-8").rpartition("|")
    if not name or not pipeline:
        raise ValueError("a seen key is <subject ref>|<pipeline>")
    return name, pipeline


def _mark(d: dict[str, Any]) -> SeenMark:
    first = d.get("first_at")
    return SeenMark(None if first is None else from_ms(int(first)), from_ms(int(d["last_at"])))


def stop_key(pipeline: str | None) -> bytes:
    return f"stop|{pipeline or STOP_ALL}".encode()


def encode_stop(stopped_at: datetime) -> bytes:
    return json.dumps({"stopped_at": ms(stopped_at)}).encode()


def decode_stop(key: bytes, value: bytes) -> tuple[str, datetime]:
    kind, _, scope = key.decode("utf-8").partition("|")
    if kind != "stop" or not scope:
        raise ValueError("a control key is stop|<pipeline or *>")
    return scope, from_ms(int(json.loads(value)["stopped_at"]))


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {
        k: ms(v) if isinstance(v, datetime) else _jsonable(v) if isinstance(v, dict) else v
        for k, v in data.items()
    }


def _times(data: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: from_ms(v) if k in names and v is not None else v for k, v in data.items()}


def deferred_key(deletion_id: str) -> bytes:
    return f"deferred|{deletion_id}".encode()


def _holds_key(key: bytes) -> tuple[str, str]:
    kind, _, ident = key.decode("utf-8").partition("|")
    if kind not in ("hold", "deferred") or not ident:
        raise ValueError("a holds key is hold|<subject ref> or deferred|<deletion_id>")
    return kind, ident


def _holds_value(kind: str, d: dict[str, Any]) -> LegalHold | DeferredDeletion:
    if kind == "hold":
        return LegalHold.from_dict(_times(d, "placed_at", "lifted_at"))
    deletion = _times(d["deletion"], "collected_before", "issued_at", "deadline", "collected_after")
    return DeferredDeletion.from_dict({**_times(d, "deferred_at"), "deletion": deletion})


class LifecycleRecords:
    """Keys and sealed values of ``ward.seen`` and ``ward.holds`` (see the module doc):
    ``refs`` makes subject refs, ``key`` (32 bytes, ``IdKey.subkey(RECORDS_KEY_LABEL)``)
    seals the values. A value that does not open or parse raises ``ValueError``."""

    __slots__ = ("_key", "refs")

    def __init__(self, refs: Callable[[str], str], key: bytes) -> None:
        self.refs, self._key = refs, key

    def __repr__(self) -> str:
        return "LifecycleRecords(key=<hidden>)"

    # -- ward.seen ------------------------------------------------------------------
    def seen(self, subject_id: str, pipeline: str, mark: SeenMark) -> tuple[bytes, bytes]:
        key = f"{self.refs(subject_id)}|{pipeline}".encode()
        first = None if mark.first_at is None else ms(mark.first_at)
        doc = {"subject_id": subject_id, "first_at": first, "last_at": ms(mark.last_at)}
        return key, self._seal(key, doc)

    def read_seen(self, key: bytes, value: bytes) -> tuple[str, str, SeenMark, bool]:
        """``(subject id, pipeline, mark, legacy)`` of a seen record."""
        name, pipeline = parse_seen_key(key)
        if not value.startswith(SEALED):
            return name, pipeline, _mark(json.loads(value)), True
        d = self._open(key, value)
        if not isinstance(d.get("subject_id"), str):
            raise ValueError("a sealed seen record names its subject")
        return d["subject_id"], pipeline, _mark(d), False

    # -- ward.holds -----------------------------------------------------------------
    def hold_key(self, subject_id: str) -> bytes:
        return f"hold|{self.refs(subject_id)}".encode()

    def hold(self, hold: LegalHold) -> tuple[bytes, bytes]:
        key = self.hold_key(hold.subject_id)
        return key, self._seal(key, _jsonable(hold.to_dict()))

    def deferred(self, deferred: DeferredDeletion) -> tuple[bytes, bytes]:
        key = deferred_key(deferred.deletion.deletion_id)
        return key, self._seal(key, _jsonable(deferred.to_dict()))

    def read_holds(
        self, key: bytes, value: bytes | None
    ) -> tuple[str, str, LegalHold | DeferredDeletion | None, bool]:
        """``(kind, id, record, legacy)``: the id of a hold is its subject's id (of a
        tombstone: the key's ref), of a deferred deletion the deletion id."""
        kind, ident = _holds_key(key)
        if value is None:
            return kind, ident, None, False
        if not value.startswith(SEALED):
            return kind, ident, _holds_value(kind, json.loads(value)), True
        record = _holds_value(kind, self._open(key, value))
        if isinstance(record, LegalHold):
            ident = record.subject_id
        return kind, ident, record, False

    # -- sealing --------------------------------------------------------------------
    def _seal(self, key: bytes, doc: dict[str, Any]) -> bytes:
        return SEALED + seal(self._key, key, json.dumps(doc).encode())

    def _open(self, key: bytes, value: bytes) -> dict[str, Any]:
        try:
            doc = json.loads(open_sealed(self._key, key, value[len(SEALED) :]))
        except SealBroken:
            raise ValueError(
                "a sealed lifecycle record does not open: written under another pseudonym key "
                "(audit.hmac_key), or altered"
            ) from None
        if not isinstance(doc, dict):
            raise ValueError("a sealed lifecycle record holds a JSON object")
        return doc
