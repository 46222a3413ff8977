"""The keys topic read into memory: wrapped data keys by key id and by subject ref.

Record format 2 (written since issue #23)::

    key    b"<subject ref>|<key id>"         the ref is the audit's keyed HMAC of the subject id
    value  {"v": 2, "alg": "AES-256-GCM", "wrapped": "<base64>", "by": "<wrapping key id>",
            "at": <created, epoch ms>, "after": <deletion id or null>}

``wrapped`` is the data key sealed by the wrapping key ``by`` (the master key, or the
sink key for ``encrypt: true`` sink fields; ``MasterKey.key_id``) with associated data
``<subject ref>|<key id>``: the raw subject id is on the topic nowhere. ``after`` names
the subject's shredding deletion its creator had read (a key made by a worker that had
not, shortly after the deletion, is destroyed too). A tombstone destroys the key.

Format 1 (before): key ``<raw subject id>|<key id>``, value ``{"alg", "wrapped"}``,
wrapped by the master with associated data ``<raw subject id>|<key id>``. It is still
read (the ref is computed here, the raw id kept in memory only as the wrapping's
associated data) so nothing sealed before is lost; ``wardstream keys rotate`` rewrites
such records in format 2 and tombstones the old ones.

A record that does not parse raises ``BadKeyRecord`` (a ``ValueError``) and changes
nothing: the applier counts it and the lifecycle leader dead-letters it once. Key ids
are random (``new_key_id``), so a key id names one key.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from wardstream.crypto import ALGORITHM
from wardstream.crypto.envelope import KEY_BYTES, NONCE_BYTES

FORMAT = 2
WRAPPED_BYTES = NONCE_BYTES + KEY_BYTES + 16
LEGACY = ""
"""``StoredKey.wrapped_by`` of a format-1 record: wrapped by a master key, which one unknown."""


class BadKeyRecord(ValueError):
    """A keys-topic record that does not parse: ignored, dead-lettered once."""


@dataclass(frozen=True, slots=True)
class StoredKey:
    owner: str
    """The subject ref the key belongs to."""
    wrapped: bytes
    record_key: bytes
    """The key of its record on the keys topic: what a tombstone must name."""
    bound_to: str
    """The identity in the wrapping's associated data: the ref (format 1: the raw id)."""
    wrapped_by: str
    """``MasterKey.key_id`` of the wrapping key; ``LEGACY`` for format 1."""
    created_ms: int | None = None
    after: str | None = None
    """The subject's shredding deletion the key's creator knew of (a key for new data)."""


def key_record_key(ref: str, key_id: str) -> bytes:
    return f"{ref}|{key_id}".encode()


def encode_key_value(stored: StoredKey) -> bytes:
    return json.dumps(
        {
            "v": FORMAT,
            "alg": ALGORITHM,
            "wrapped": base64.b64encode(stored.wrapped).decode(),
            "by": stored.wrapped_by,
            "at": stored.created_ms,
            "after": stored.after,
        }
    ).encode()


def _split(key: bytes) -> tuple[str, str]:
    try:
        name, _, key_id = key.decode("utf-8").rpartition("|")
    except UnicodeDecodeError:
        raise BadKeyRecord("a keys-topic key is UTF-8 '<subject ref>|<key id>'") from None
    if not name or not key_id:
        raise BadKeyRecord("a keys-topic key is '<subject ref>|<key id>'")
    return name, key_id


def _wrapped(doc: dict[str, object]) -> bytes:
    text = doc.get("wrapped")
    if doc.get("alg", ALGORITHM) != ALGORITHM or not isinstance(text, str):
        raise BadKeyRecord(f"a key record holds an {ALGORITHM} key as base64 text 'wrapped'")
    try:
        wrapped = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadKeyRecord("a key record's 'wrapped' is not base64") from None
    if len(wrapped) != WRAPPED_BYTES:
        raise BadKeyRecord(f"a wrapped data key is {WRAPPED_BYTES} bytes, not {len(wrapped)}")
    return wrapped


def parse_value(
    key: bytes, value: bytes, refs: Callable[[str], str] | None
) -> tuple[str, StoredKey] | None:
    """``(key id, StoredKey)`` of a key record; None for a format-1 record when no ``refs``
    is given (a holder of the sink key only needs format 2). ``BadKeyRecord`` otherwise."""
    name, key_id = _split(key)
    try:
        doc = json.loads(value)
    except (UnicodeDecodeError, ValueError):
        raise BadKeyRecord("a key record's value is JSON") from None
    if not isinstance(doc, dict):
        raise BadKeyRecord("a key record's value is a JSON object")
    wrapped = _wrapped(doc)
    version = doc.get("v")
    if version == FORMAT:
        by, at, after = doc.get("by"), doc.get("at"), doc.get("after")
        if not isinstance(by, str) or not by or not (at is None or isinstance(at, int)):
            raise BadKeyRecord("a format-2 key record names its wrapping key ('by') and 'at'")
        if ":" not in name or not (after is None or isinstance(after, str)):
            raise BadKeyRecord("a format-2 key record is keyed by a subject ref '<key id>:<hex>'")
        return key_id, StoredKey(name, wrapped, key, name, by, at, after)
    if version is not None:
        raise BadKeyRecord(f"key record format {version!r} is unknown (this worker reads 1, 2)")
    if refs is None:
        return None
    return key_id, StoredKey(refs(name), wrapped, key, name, LEGACY)


@dataclass(slots=True)
class Deleted:
    """A subject whose keys were (to be) destroyed: keys created until ``until_ms`` are too."""

    deletion_id: str
    until_ms: int


@dataclass(slots=True)
class KeyStore:
    """The wrapped data keys read from the keys topic (never unwrapped here).

    ``destroyed`` holds the key ids seen tombstoned, so payloads of a destroyed key are
    closed as KEY_DESTROYED while a key merely not read yet keeps them held. ``deleted``
    holds the subjects a shredding deletion was issued for: a key of theirs created
    before ``Deleted.until_ms`` (a worker that had not yet read the deletion) lands in
    ``late``, for the lifecycle leader to destroy too.
    """

    refs: Callable[[str], str] | None = None
    keys: dict[str, StoredKey] = field(default_factory=dict)
    by_owner: dict[str, set[str]] = field(default_factory=dict)
    destroyed: set[str] = field(default_factory=set)
    deleted: dict[str, Deleted] = field(default_factory=dict)
    late: dict[str, str] = field(default_factory=dict)
    """Key id -> deletion id: live keys of deleted subjects, to destroy."""
    tombstoned: list[bytes] = field(default_factory=list)
    """Record keys of live keys whose tombstone was just read: their segments must roll
    (``lifecycle.shredding.Shredder.roll`` takes them). A tombstone of a key already
    destroyed (a roll, a repeat) is not added, so rolls do not beget rolls."""
    watchers: list[Callable[[str], None]] = field(default_factory=list)
    """Told the subject ref whenever its keys change (a key written, destroyed, or a
    deletion noted): what ``KeyRing`` keeps unwrapped goes with it."""

    def __repr__(self) -> str:
        return f"KeyStore({len(self.keys)} keys)"

    def apply(self, key: bytes, value: bytes | None) -> None:
        """Fold one record of the keys topic in; ``BadKeyRecord`` changes nothing."""
        if value is None:
            key_id = _split(key)[1]
            stored = self.keys.get(key_id)
            if stored is not None and stored.record_key == key:
                self.tombstoned.append(key)
            if stored is None or stored.record_key == key:
                self.forget(key_id)
            # else: the old record of a key re-written under another record key (a
            # first-format record migrated by `keys rotate`): the key itself lives on
            return
        parsed = parse_value(key, value, self.refs)
        if parsed is not None:
            self.put(*parsed)

    def put(self, key_id: str, stored: StoredKey) -> None:
        self._changed(stored.owner)
        self.keys[key_id] = stored
        self.by_owner.setdefault(stored.owner, set()).add(key_id)
        gone = self.deleted.get(stored.owner)
        if gone is not None and stored.after == gone.deletion_id:
            gone = None  # made knowing of the deletion: a key for new data
        if key_id in self.destroyed or (gone and (stored.created_ms or 0) <= gone.until_ms):
            # re-written after its tombstone (a rotation racing a shred), or created by a
            # worker that had not read the deletion yet: it goes too
            self.late[key_id] = gone.deletion_id if gone else "redestroy"

    def forget(self, key_id: str) -> None:
        stored = self.keys.pop(key_id, None)
        if stored is not None:
            self._changed(stored.owner)
            ids = self.by_owner.get(stored.owner, set())
            ids.discard(key_id)
            if not ids:
                self.by_owner.pop(stored.owner, None)
        self.late.pop(key_id, None)
        self.destroyed.add(key_id)

    def _changed(self, owner: str) -> None:
        for watcher in self.watchers:
            watcher(owner)

    def of(self, owner: str) -> list[tuple[str, StoredKey]]:
        """The live keys of a subject ref, by key id."""
        return [(kid, self.keys[kid]) for kid in sorted(self.by_owner.get(owner, ()))]

    def note_deleted(self, owner: str, deletion_id: str, until_ms: int) -> None:
        """A shredding deletion of ``owner``: its keys created until ``until_ms`` must go."""
        self._changed(owner)
        self.deleted[owner] = Deleted(deletion_id, until_ms)
        for key_id, stored in self.of(owner):
            if (stored.created_ms or 0) <= until_ms and stored.after != deletion_id:
                self.late.setdefault(key_id, deletion_id)
