"""The lifecycle's own compacted topics: what their keys and values look like.

Values are small JSON documents (operational state, like ``ward.subjects``):

* ``ward.seen``, key ``<subject_id>|<pipeline>``: ``{"first_at", "last_at"}``
  in epoch milliseconds. ``first_at`` is the oldest collection that may still
  be retained (null after a retention deletion removed everything); ``last_at``
  the newest, kept to within the retention grid. Written by the worker that
  passes or quarantines a child's (or unknown-age) event; moved forward by
  the issuer after a RETENTION_EXPIRED deletion.
* ``ward.control``, key ``stop|<pipeline or *>``: ``{"stopped_at"}``. A stop
  marker is never lifted: collection stays stopped across restarts.
* ``ward.holds``, key ``hold|<subject_id>``: a ``LegalHold``; key
  ``deferred|<deletion_id>``: a ``DeferredDeletion`` (tombstoned once issued).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wardstream.domain.holds import DeferredDeletion, LegalHold

STOP_ALL = "*"


@dataclass(frozen=True, slots=True)
class SeenMark:
    first_at: datetime | None
    last_at: datetime


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def seen_key(subject_id: str, pipeline: str) -> bytes:
    return f"{subject_id}|{pipeline}".encode()


def parse_seen_key(key: bytes) -> tuple[str, str]:
    subject_id, _, pipeline = key.decode("utf-8").rpartition("|")
    if not subject_id or not pipeline:
        raise ValueError("a seen key is <subject_id>|<pipeline>")
    return subject_id, pipeline


def encode_mark(mark: SeenMark) -> bytes:
    first = None if mark.first_at is None else ms(mark.first_at)
    return json.dumps({"first_at": first, "last_at": ms(mark.last_at)}).encode()


def decode_mark(value: bytes) -> SeenMark:
    d = json.loads(value)
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


def hold_key(subject_id: str) -> bytes:
    return f"hold|{subject_id}".encode()


def deferred_key(deletion_id: str) -> bytes:
    return f"deferred|{deletion_id}".encode()


def encode_hold(hold: LegalHold) -> bytes:
    return json.dumps(_jsonable(hold.to_dict())).encode()


def encode_deferred(deferred: DeferredDeletion) -> bytes:
    return json.dumps(_jsonable(deferred.to_dict())).encode()


def decode_holds_record(
    key: bytes, value: bytes | None
) -> tuple[str, str, LegalHold | DeferredDeletion | None]:
    """``(kind, id, record)``: kind ``hold`` (id = subject) or ``deferred`` (id = deletion)."""
    kind, _, ident = key.decode("utf-8").partition("|")
    if kind not in ("hold", "deferred") or not ident:
        raise ValueError("a holds key is hold|<subject_id> or deferred|<deletion_id>")
    if value is None:
        return kind, ident, None
    d = json.loads(value)
    if kind == "hold":
        return kind, ident, LegalHold.from_dict(_times(d, "placed_at", "lifted_at"))
    deletion = _times(d["deletion"], "collected_before", "issued_at", "deadline", "collected_after")
    return (
        kind,
        ident,
        DeferredDeletion.from_dict({**_times(d, "deferred_at"), "deletion": deletion}),
    )
