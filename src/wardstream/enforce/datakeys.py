"""Per-subject data keys on the keys topic: what quarantine and ``encrypt: true`` fields seal with.

Every quarantined payload (key, value, header values) is sealed with its
subject's data key (``wardstream.crypto``). Data keys are wrapped by the
master key and kept on the compacted keys topic (``derived(settings, "keys")``):

* key ``<subject_id>|<key_id>``, value ``{"alg", "wrapped"}`` (base64);
* a tombstone destroys that key: ``KeyStore`` remembers which keys it saw
  destroyed, so their payloads are closed as EXPIRED/KEY_DESTROYED while a key
  that is merely not read yet (another worker just created it) keeps its
  payloads held.

A key id is random, so two workers that create a key for the same subject at
once create two keys, both kept. Destroying them is the lifecycle's business
(``wardstream.lifecycle.shredding``).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field, replace

from wardstream.crypto import (
    ALGORITHM,
    KeyUnavailable,
    MasterKey,
    new_data_key,
    new_key_id,
    open_sealed,
    seal,
    unwrap_key,
    wrap_key,
)
from wardstream.enforce.records import InRecord, OutRecord

KEY_DESTROYED = "KEY_DESTROYED"


class KeyDestroyed(KeyUnavailable):
    """The subject's data key was destroyed: its quarantined payloads are unreadable."""


def key_record_key(subject_id: str, key_id: str) -> bytes:
    return f"{subject_id}|{key_id}".encode()


def parse_key_record_key(key: bytes) -> tuple[str, str]:
    subject_id, _, key_id = key.decode("utf-8").rpartition("|")
    if not subject_id or not key_id:
        raise ValueError("a keys-topic key is <subject_id>|<key_id>")
    return subject_id, key_id


@dataclass(slots=True)
class KeyStore:
    """The wrapped data keys read from the keys topic (never unwrapped here)."""

    wrapped: dict[str, dict[str, bytes]] = field(default_factory=dict)
    destroyed: set[tuple[str, str]] = field(default_factory=set)

    def __repr__(self) -> str:
        return f"KeyStore({sum(map(len, self.wrapped.values()))} keys)"

    def apply(self, key: bytes, value: bytes | None) -> None:
        subject_id, key_id = parse_key_record_key(key)
        if value is None:
            self.forget(subject_id, key_id)
            return
        doc = json.loads(value)
        if doc.get("alg", ALGORITHM) != ALGORITHM:
            raise ValueError("unknown key algorithm")
        self.wrapped.setdefault(subject_id, {})[key_id] = base64.b64decode(doc["wrapped"])

    def forget(self, subject_id: str, key_id: str) -> None:
        keys = self.wrapped.get(subject_id, {})
        keys.pop(key_id, None)
        if not keys:
            self.wrapped.pop(subject_id, None)
        self.destroyed.add((subject_id, key_id))


def encode_key_value(wrapped: bytes) -> bytes:
    return json.dumps({"alg": ALGORITHM, "wrapped": base64.b64encode(wrapped).decode()}).encode()


def _aad(quarantine_id: str, part: str) -> bytes:
    return f"{quarantine_id}|{part}".encode()


def _header_part(index: int, name: str) -> str:
    return f"header|{index}|{name}"


def seal_record(data_key: bytes, quarantine_id: str, rec: InRecord) -> InRecord:
    """``rec`` with key, value and header values sealed (None stays None)."""

    def s(part: str, data: bytes | None) -> bytes | None:
        return None if data is None else seal(data_key, _aad(quarantine_id, part), data)

    headers = tuple((k, s(_header_part(i, k), v)) for i, (k, v) in enumerate(rec.headers))
    return replace(rec, key=s("key", rec.key), value=s("value", rec.value), headers=headers)


def open_record(data_key: bytes, quarantine_id: str, rec: InRecord) -> InRecord:
    """The plaintext of ``seal_record``; ``SealBroken`` if anything does not open."""

    def o(part: str, data: bytes | None) -> bytes | None:
        return None if data is None else open_sealed(data_key, _aad(quarantine_id, part), data)

    headers = tuple((k, o(_header_part(i, k), v)) for i, (k, v) in enumerate(rec.headers))
    return replace(rec, key=o("key", rec.key), value=o("value", rec.value), headers=headers)


class KeyRing:
    """Data keys of subjects: created on first use, unwrapped on demand, destroyed on shred."""

    def __init__(self, master: MasterKey, topic: str, store: KeyStore | None = None) -> None:
        self.master, self.topic = master, topic
        self.store = store if store is not None else KeyStore()

    def __repr__(self) -> str:
        return f"KeyRing(topic={self.topic!r}, {self.store!r})"

    def seal(
        self, subject_id: str, quarantine_id: str, rec: InRecord
    ) -> tuple[InRecord, str, list[OutRecord]]:
        """``(sealed record, key id, key records to send first)``."""
        out: list[OutRecord] = []
        known = self.store.wrapped.get(subject_id)
        if known:
            key_id = min(known)
            data_key = unwrap_key(self.master, subject_id, key_id, known[key_id])
        else:
            key_id, data_key = new_key_id(), new_data_key()
            wrapped = wrap_key(self.master, subject_id, key_id, data_key)
            self.store.wrapped.setdefault(subject_id, {})[key_id] = wrapped
            value = encode_key_value(wrapped)
            out.append(OutRecord(self.topic, key_record_key(subject_id, key_id), value))
        return seal_record(data_key, quarantine_id, rec), key_id, out

    def open(self, subject_id: str, key_id: str, quarantine_id: str, rec: InRecord) -> InRecord:
        """The plaintext record; ``KeyDestroyed`` once shredded, ``KeyUnavailable``
        while the key is not known (yet), ``SealBroken`` if the blobs do not open."""
        if (subject_id, key_id) in self.store.destroyed:
            raise KeyDestroyed(f"data key {key_id} was destroyed (crypto-shredded)")
        wrapped = self.store.wrapped.get(subject_id, {}).get(key_id)
        if wrapped is None:
            raise KeyUnavailable(f"data key {key_id} is not on the keys topic (yet)")
        return open_record(unwrap_key(self.master, subject_id, key_id, wrapped), quarantine_id, rec)

    def is_destroyed(self, subject_id: str, key_id: str | None) -> bool:
        return key_id is not None and (subject_id, key_id) in self.store.destroyed
