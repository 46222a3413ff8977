"""``encrypt: true`` sink fields: a child's value sealed with the subject's data key.

A pipeline may mark fields ``{category: ..., encrypt: true}``. When a child's
or minor's event (any event not treated as an adult's) goes to the sink, each
such field that holds a value is replaced by a sealed token. The key is a
per-subject data key on the keys topic (``enforce.datakeys``) wrapped by the
*sink key* - a key of its own, configured (``lifecycle.sink_key``) or derived
from the master key (HKDF, label ``sink-key/v1``) - never by the master key, so
holders of sink data never need the master key. Deleting the subject
(DEREGISTERED, GUARDIAN_REQUEST, SERVICE_STOPPED) destroys every data key of it,
after which every sink copy is unreadable too. Adults' events are never touched.

Format, version 1 (``wsenc1``)::

    string field:  "wsenc1:<key_id>:<base64 of nonce || ciphertext || tag>"
    bytes field:   b"wsenc1:<key_id>:" + nonce || ciphertext || tag

AES-256-GCM (12-byte random nonce, 16-byte tag) under the data key
``<key_id>``; associated data ``b"wardstream/sink-field/v1|" + <field path>``
(UTF-8), so a token moved to another field does not open; the plaintext is the
UTF-8 of the string, or the bytes. Base64 is standard with padding.

To decrypt, a downstream holder with the sink key (never the master key) reads the
keys topic (format: ``enforce.keystore``) into a ``KeyStore`` and calls
:func:`open_field`::

    store = KeyStore()
    for rec in keys_topic_records:            # from the beginning, every partition
        store.apply(rec.key, rec.value)
    keys = SinkKeys(MasterKey(parse_key(sink_key_hex)), store)
    open_field(keys, "geo.city", value)       # -> the plaintext str (or bytes)

``open_field`` raises ``KeyDestroyed`` once the subject was deleted,
``KeyUnavailable`` while the key is not known, ``SealBroken`` if the token was
altered or moved, and ``NotSealed`` for a value that is no token.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from typing import Any

from wardstream.crypto import KeyUnavailable, MasterKey, open_sealed, seal, unwrap_key
from wardstream.domain.pipeline import Pipeline
from wardstream.enforce.datakeys import KeyRing, stored_key
from wardstream.enforce.keystore import KeyStore
from wardstream.enforce.records import OutRecord
from wardstream.errors import WardstreamError
from wardstream.serde import get_path

VERSION = "wsenc1"
_PREFIX = VERSION + ":"
_AAD = b"wardstream/sink-field/v1|"


class SinkEncryptionUnavailable(WardstreamError):
    """A pipeline marks fields ``encrypt: true`` but the worker has no key ring."""


class NotSealed(WardstreamError, ValueError):
    """The value is not a ``wsenc1`` token."""


def field_aad(path: str) -> bytes:
    return _AAD + path.encode("utf-8")


def subject_key(ring: KeyRing, subject_id: str) -> tuple[str, bytes, list[OutRecord]]:
    """``(key id, data key, key records to send first)``: the subject's oldest sink-field
    key that unwraps, or a new one wrapped by the sink key, written to the keys topic."""
    return ring.data_key(subject_id, ring.sink)


class SinkKeys:
    """What a downstream holder opens sink fields with: the sink key and the keys topic."""

    def __init__(self, sink_key: MasterKey, store: KeyStore) -> None:
        self.sink_key, self.store = sink_key, store

    def __repr__(self) -> str:
        return f"SinkKeys({self.sink_key!r}, {self.store!r})"

    def data_key_by_id(self, key_id: str) -> bytes:
        stored = stored_key(self.store, key_id)
        if stored.wrapped_by != self.sink_key.key_id:
            raise KeyUnavailable(
                f"data key {key_id} is not wrapped by this sink key ({self.sink_key.key_id})"
            )
        return unwrap_key(self.sink_key, stored.bound_to, key_id, stored.wrapped)


def seal_value(data_key: bytes, key_id: str, path: str, value: str | bytes) -> str | bytes:
    """The token of one field value (str in, str out; bytes in, bytes out)."""
    if isinstance(value, str):
        blob = seal(data_key, field_aad(path), value.encode("utf-8"))
        return f"{_PREFIX}{key_id}:{base64.b64encode(blob).decode('ascii')}"
    return f"{_PREFIX}{key_id}:".encode("ascii") + seal(data_key, field_aad(path), bytes(value))


def parse_token(token: str | bytes) -> tuple[str, bytes]:
    """``(key id, sealed blob)`` of a token; ``NotSealed`` if it is none."""
    if isinstance(token, str):
        if not token.startswith(_PREFIX):
            raise NotSealed(f"not a {VERSION} token")
        key_id, sep, text = token[len(_PREFIX) :].partition(":")
        try:
            blob = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise NotSealed(f"a {VERSION} string token carries base64 after the key id") from None
    else:
        if not bytes(token).startswith(_PREFIX.encode("ascii")):
            raise NotSealed(f"not a {VERSION} token")
        raw_id, raw_sep, blob = bytes(token)[len(_PREFIX) :].partition(b":")
        key_id, sep = raw_id.decode("ascii", errors="replace"), raw_sep.decode("ascii")
    if not sep or not key_id:
        raise NotSealed(f"a {VERSION} token is {VERSION}:<key_id>:<sealed>")
    return key_id, blob


def is_sealed(value: Any) -> bool:
    """Whether ``value`` looks like a ``wsenc1`` token."""
    if isinstance(value, str):
        return value.startswith(_PREFIX)
    return isinstance(value, bytes) and value.startswith(_PREFIX.encode("ascii"))


def open_field(
    keys: KeyRing | SinkKeys, path: str, token: str | bytes, subject_id: str | None = None
) -> str | bytes:
    """The plaintext of a sealed field (the data key is found by the token's key id;
    ``subject_id`` is accepted for callers of the first version and not needed)."""
    key_id, blob = parse_token(token)
    plain = open_sealed(keys.data_key_by_id(key_id), field_aad(path), blob)
    return plain.decode("utf-8") if isinstance(token, str) else plain


class FieldSealer:
    """Seals a pipeline's ``encrypt: true`` fields of a decoded record (copy on write).

    Data keys it creates are kept in ``pending`` until the processor takes them
    (``take``) and sends them ahead of the sink record.
    """

    def __init__(self, ring: KeyRing, paths: Iterable[str]) -> None:
        self.ring = ring
        self.paths = tuple(sorted(paths))
        self.pending: list[OutRecord] = []

    def __repr__(self) -> str:
        return f"FieldSealer({len(self.paths)} fields, {self.ring!r})"

    def seal(self, subject_id: str, record: Mapping[str, Any]) -> Mapping[str, Any]:
        """``record`` with each marked field that holds a string or bytes sealed; the
        same object when none does."""
        present = [(p, v) for p in self.paths if isinstance(v := get_path(record, p), str | bytes)]
        if not present:
            return record
        key_id, data_key, keys = subject_key(self.ring, subject_id)
        self.pending += keys
        out = dict(record)
        for path, value in present:
            _set(out, path.split("."), seal_value(data_key, key_id, path, value))
        return out

    def take(self) -> list[OutRecord]:
        """The key records created since the last call (to send before the sink record)."""
        taken, self.pending = self.pending, []
        return taken


def field_sealer(pipeline: Pipeline, ring: KeyRing | None) -> FieldSealer | None:
    """The pipeline's sealer (None without ``encrypt: true`` fields); fails without a ring."""
    if not pipeline.encrypted_fields:
        return None
    if ring is None:
        raise SinkEncryptionUnavailable(missing_ring_message(pipeline))
    return FieldSealer(ring, pipeline.encrypted_fields)


def missing_ring_message(pipeline: Pipeline) -> str:
    return (
        f"pipeline {pipeline.name} marks sink fields encrypt: true "
        f"({', '.join(sorted(pipeline.encrypted_fields))}); they are sealed with per-subject "
        "data keys, which need the key ring: set WARDSTREAM__LIFECYCLE__MASTER_KEY (32 random "
        "bytes, hex or base64) or lifecycle.master_key_file, and keep "
        "lifecycle.encrypt_quarantine: true - or remove encrypt: true"
    )


def _set(record: dict[str, Any], parts: list[str], value: Any) -> None:
    node = record
    for part in parts[:-1]:
        node[part] = node = dict(node[part])
    node[parts[-1]] = value
