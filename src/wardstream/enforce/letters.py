"""Dead letters sealed: the record that could not be processed, unreadable without a key.

A ``DeadLetter`` record keeps in the clear only what an operator needs to find and
triage it: the error (type, code, message - which never quotes the record), the
pipeline and the origin (topic/partition/offset). The original key, value and
headers are sealed (AES-256-GCM) with

* the subject's data key when the subject is known and has one that unwraps (a
  rejected state record keyed by its subject id): deleting the subject then
  crypto-shreds its dead letters too;
* else the *dead-letter key*, derived from the master key with HKDF under its own
  label (``dead-letter/v1``), named ``dl:<master key id>``.

Associated data ``wardstream/dead-letter/v1|<topic>/<partition>/<offset>|<part>``
(part: ``key``, ``value``, ``headers``); the headers are sealed as one JSON list of
``[name, base64 value or null]``. ``wardstream deadletter show`` opens one record,
approved and audited. Without a key ring (``lifecycle.encrypt_quarantine: false``,
no master key) nothing is sealed: the operator turned encryption off.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from wardstream.crypto import ALGORITHM, KeyUnavailable, MasterKey, open_sealed, seal
from wardstream.enforce.datakeys import KeyRing
from wardstream.serde import DecodeError, dead_letter_record
from wardstream.serde.types import Record

DEAD_LETTER_LABEL = "dead-letter/v1"
_AAD = "wardstream/dead-letter/v1|"
Headers = Sequence[tuple[str, bytes | None]]


def dead_letter_key_id(master: MasterKey) -> str:
    return "dl:" + master.key_id


def _aad(origin: str, part: str) -> bytes:
    return f"{_AAD}{origin}|{part}".encode()


def _headers_json(headers: Iterable[tuple[str, bytes | None]]) -> bytes:
    rows = [[k, None if v is None else base64.b64encode(bytes(v)).decode()] for k, v in headers]
    return json.dumps(rows).encode()


def _headers_of(data: bytes) -> tuple[tuple[str, bytes | None], ...]:
    return tuple((str(k), None if v is None else base64.b64decode(v)) for k, v in json.loads(data))


@dataclass(frozen=True, slots=True)
class Opened:
    """A dead letter's original key, value and headers, in the clear."""

    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]


class LetterSealer:
    """Seals dead letters (``ring`` None: writes them as they are)."""

    def __init__(self, ring: KeyRing | None) -> None:
        self.ring = ring
        self._keys: dict[str, bytes] = {}
        if ring is not None:
            for master in (ring.master, *ring.retired):
                self._keys[dead_letter_key_id(master)] = master.derive(DEAD_LETTER_LABEL)

    def __repr__(self) -> str:
        return f"LetterSealer(sealed={self.ring is not None})"

    def _key_for(self, subject_id: str | None) -> tuple[str, bytes] | None:
        if self.ring is None:
            return None
        if subject_id:
            found = self.ring.existing(subject_id)
            if found is not None:
                return found
        key_id = dead_letter_key_id(self.ring.master)
        return key_id, self._keys[key_id]

    def record(
        self,
        error: DecodeError,
        *,
        key: bytes | None,
        value: bytes | None,
        headers: Headers | None,
        timestamp_ms: int | None,
        pipeline: str | None,
        at: datetime,
        subject_id: str | None = None,
    ) -> Record:
        """The ``DeadLetter`` datum, its payload sealed."""
        found = self._key_for(subject_id)
        if found is None:
            return dead_letter_record(
                error, key=key, value=value, headers=headers,
                timestamp_ms=timestamp_ms, pipeline=pipeline, at=at,
            )  # fmt: skip
        key_id, data_key = found
        origin = f"{error.topic}/{error.partition}/{error.offset}"

        def s(part: str, data: bytes | None) -> bytes | None:
            return None if data is None else seal(data_key, _aad(origin, part), data)

        datum = dead_letter_record(error, key=s("key", key), value=s("value", value), headers=None,
                                   timestamp_ms=None, pipeline=pipeline, at=at)  # fmt: skip
        datum["sealed_headers"] = s("headers", _headers_json(headers or ()))
        datum["encryption"] = {"key_id": key_id, "alg": ALGORITHM}
        return datum

    def open(self, datum: Record) -> Opened:
        """The plaintext of a dead letter; ``KeyUnavailable`` (``KeyDestroyed``) when its key
        cannot be had, ``SealBroken`` if altered."""
        enc = datum.get("encryption")
        headers = tuple((h["key"], h["value"]) for h in datum.get("headers") or ())
        if enc is None:
            return Opened(datum.get("key"), datum.get("value"), headers)
        key_id = enc["key_id"]
        data_key = self._keys.get(key_id)
        if data_key is None:
            if self.ring is None or key_id.startswith("dl:"):
                raise KeyUnavailable(
                    f"dead letter sealed with {key_id}: derived from a master key this "
                    "configuration does not hold (lifecycle.master_key / retired_master_keys)"
                )
            data_key = self.ring.data_key_by_id(key_id)
        origin = f"{datum['origin_topic']}/{datum['origin_partition']}/{datum['origin_offset']}"

        def o(part: str, data: bytes | None) -> bytes | None:
            return None if data is None else open_sealed(data_key, _aad(origin, part), data)

        sealed_headers = o("headers", datum.get("sealed_headers"))
        return Opened(
            o("key", datum.get("key")),
            o("value", datum.get("value")),
            _headers_of(sealed_headers) if sealed_headers is not None else (),
        )
