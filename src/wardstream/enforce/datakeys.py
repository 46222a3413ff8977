"""Per-subject data keys on the keys topic: what quarantine and ``encrypt: true`` fields seal with.

Every quarantined payload (key, value, header values) is sealed with its
subject's data key (``wardstream.crypto``). Data keys are wrapped by the master
key - or, for ``encrypt: true`` sink fields, by the separate *sink key*, so that a
downstream holder opens sink fields without ever holding the master key - and kept
on the compacted keys topic (``derived(settings, "keys")``), keyed by the subject's
ref, never its raw id (format: ``enforce.keystore``). A tombstone destroys a key.

A key id is random, so two workers that create a key for the same subject at
once create two keys, both kept. Destroying them is the lifecycle's business
(``wardstream.lifecycle.shredding``). A key that does not unwrap (junk on the topic,
another master key) is never chosen for sealing: a new key is made instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from wardstream.crypto import (
    KeyUnavailable,
    MasterKey,
    new_data_key,
    new_key_id,
    open_sealed,
    sealer,
    unwrap_key,
    wrap_key,
)
from wardstream.enforce.keystore import (
    LEGACY,
    KeyStore,
    StoredKey,
    encode_key_value,
    key_record_key,
)
from wardstream.enforce.records import InRecord, OutRecord

KEY_DESTROYED = "KEY_DESTROYED"
SINK_KEY_LABEL = "sink-key/v1"
"""HKDF label of the sink key derived from the master key (when none is configured)."""
MAX_UNWRAPPED = 100_000
"""Subjects' quarantine keys a ring keeps unwrapped (past it, it starts afresh)."""

__all__ = [
    "KEY_DESTROYED",
    "KeyDestroyed",
    "KeyRing",
    "KeyStore",
    "encode_key_value",
    "key_record_key",
    "open_record",
    "seal_record",
]


class KeyDestroyed(KeyUnavailable):
    """The subject's data key was destroyed: its quarantined payloads are unreadable."""


def _aad(quarantine_id: str, part: str) -> bytes:
    return f"{quarantine_id}|{part}".encode()


def _header_part(index: int, name: str) -> str:
    return f"header|{index}|{name}"


def seal_record(data_key: bytes, quarantine_id: str, rec: InRecord) -> InRecord:
    """``rec`` with key, value and header values sealed (None stays None)."""
    seal_one = sealer(data_key)

    def s(part: str, data: bytes | None) -> bytes | None:
        return None if data is None else seal_one(_aad(quarantine_id, part), data)

    headers = tuple((k, s(_header_part(i, k), v)) for i, (k, v) in enumerate(rec.headers))
    key, value = s("key", rec.key), s("value", rec.value)
    return InRecord(
        rec.topic, rec.partition, rec.offset, key, value, rec.timestamp_ms, headers, rec.arrival
    )


def open_record(data_key: bytes, quarantine_id: str, rec: InRecord) -> InRecord:
    """The plaintext of ``seal_record``; ``SealBroken`` if anything does not open."""

    def o(part: str, data: bytes | None) -> bytes | None:
        return None if data is None else open_sealed(data_key, _aad(quarantine_id, part), data)

    headers = tuple((k, o(_header_part(i, k), v)) for i, (k, v) in enumerate(rec.headers))
    return rec._replace(key=o("key", rec.key), value=o("value", rec.value), headers=headers)


class KeyRing:
    """Data keys of subjects: created on first use, unwrapped on demand, destroyed on shred.

    ``refs`` turns a subject id into its ref (the audit's pseudonymizer); ``retired``
    master keys still unwrap (during a rotation) but never wrap; ``sink`` wraps the
    keys of ``encrypt: true`` sink fields (default: derived from the master key)."""

    def __init__(
        self,
        master: MasterKey,
        topic: str,
        store: KeyStore | None = None,
        *,
        refs: Callable[[str], str],
        retired: Iterable[MasterKey] = (),
        sink: MasterKey | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.master, self.topic, self.refs, self.clock = master, topic, refs, clock
        self.retired = tuple(retired)
        self.sink = sink if sink is not None else MasterKey(master.derive(SINK_KEY_LABEL))
        self.retired_sinks = () if sink is not None else tuple(
            MasterKey(k.derive(SINK_KEY_LABEL)) for k in self.retired
        )  # fmt: skip
        self.store = store if store is not None else KeyStore()
        if self.store.refs is None:
            self.store.refs = refs
        self._by_id = {k.key_id: k for k in (master, *self.retired, self.sink, *self.retired_sinks)}
        # subject ref -> its key for quarantines, unwrapped (an AES unwrap and a sort were
        # a tenth of a quarantine); dropped whenever the ref's keys change, so a destroyed
        # key is never held here after the store read its tombstone
        self._unwrapped: dict[str, tuple[str, bytes]] = {}
        self.store.watchers.append(self._unwrapped_changed)

    def __repr__(self) -> str:
        return f"KeyRing(topic={self.topic!r}, {self.store!r})"

    def ref(self, subject_id: str) -> str:
        return self.refs(subject_id)

    def family(self, wrapper: MasterKey) -> tuple[MasterKey, ...]:
        """The keys whose wrapped data keys serve the purpose ``wrapper`` wraps for."""
        if wrapper is self.sink:
            return (self.sink, *self.retired_sinks)
        return (self.master, *self.retired)

    # -- unwrapping -----------------------------------------------------------------
    def unwrap(self, key_id: str, stored: StoredKey) -> bytes:
        """The data key; ``KeyUnavailable`` if no key of this ring unwraps it."""
        if stored.wrapped_by == LEGACY:  # format 1: one of the master keys
            for master in (self.master, *self.retired):
                try:
                    return unwrap_key(master, stored.bound_to, key_id, stored.wrapped)
                except KeyUnavailable:
                    continue
            raise KeyUnavailable(f"data key {key_id} does not unwrap with the master key(s)")
        wrapper = self._by_id.get(stored.wrapped_by)
        if wrapper is None:
            raise KeyUnavailable(
                f"data key {key_id} is wrapped by {stored.wrapped_by}, which this ring does not "
                "hold (a rotated-away master key, or another deployment's)"
            )
        return unwrap_key(wrapper, stored.bound_to, key_id, stored.wrapped)

    def data_key_by_id(self, key_id: str) -> bytes:
        """``KeyDestroyed`` once shredded, ``KeyUnavailable`` while not known (yet)."""
        return self.unwrap(key_id, stored_key(self.store, key_id))

    def existing(
        self, subject_id: str, wrapper: MasterKey | None = None
    ) -> tuple[str, bytes] | None:
        """The subject's oldest key of ``wrapper``'s family that unwraps (current wrapper
        first), or None. A key that does not unwrap is never chosen."""
        ref = self.ref(subject_id)
        kept = wrapper is None or wrapper is self.master
        found = self._unwrapped.get(ref) if kept else None
        if found is None:
            found = self._existing(ref, wrapper or self.master)
            if kept and found is not None:
                self._keep(ref, found)
        return found

    def _keep(self, ref: str, found: tuple[str, bytes]) -> None:
        if len(self._unwrapped) >= MAX_UNWRAPPED:
            self._unwrapped.clear()
        self._unwrapped[ref] = found

    def _existing(self, ref: str, wrapper: MasterKey) -> tuple[str, bytes] | None:
        family = self.family(wrapper)
        ids = {k.key_id for k in family} | ({LEGACY} if family[0] is self.master else set())
        candidates = [
            (s.wrapped_by != family[0].key_id, kid, s)
            for kid, s in self.store.of(ref)
            if s.wrapped_by in ids
        ]
        for _, key_id, stored in sorted(candidates, key=lambda c: (c[0], c[1])):
            try:
                return key_id, self.unwrap(key_id, stored)
            except KeyUnavailable:
                continue
        return None

    def _unwrapped_changed(self, ref: str) -> None:
        self._unwrapped.pop(ref, None)

    # -- sealing --------------------------------------------------------------------
    def data_key(
        self, subject_id: str, wrapper: MasterKey | None = None
    ) -> tuple[str, bytes, list[OutRecord]]:
        """``(key id, data key, key records to send first)``: an existing key that unwraps,
        or a new one wrapped by ``wrapper`` (default: the master key)."""
        found = self.existing(subject_id, wrapper)
        if found is not None:
            return found[0], found[1], []
        wrapper = wrapper or self.master
        ref = self.ref(subject_id)
        key_id, data_key = new_key_id(), new_data_key()
        gone = self.store.deleted.get(ref)  # a deletion this worker read: the key is for new data
        stored = StoredKey(
            ref,
            wrap_key(wrapper, ref, key_id, data_key),
            key_record_key(ref, key_id),
            ref,
            wrapper.key_id,
            int(self.clock() * 1000),
            gone.deletion_id if gone is not None else None,
        )
        self.store.put(key_id, stored)
        if wrapper is self.master:  # the subject's only key of the family: existing's choice
            self._keep(ref, (key_id, data_key))
        return (
            key_id,
            data_key,
            [OutRecord(self.topic, stored.record_key, encode_key_value(stored))],
        )

    def seal(
        self, subject_id: str, quarantine_id: str, rec: InRecord
    ) -> tuple[InRecord, str, list[OutRecord]]:
        """``(sealed record, key id, key records to send first)``."""
        key_id, data_key, out = self.data_key(subject_id)
        return seal_record(data_key, quarantine_id, rec), key_id, out

    def open(self, key_id: str, quarantine_id: str, rec: InRecord) -> InRecord:
        """The plaintext record; ``KeyDestroyed`` once shredded, ``KeyUnavailable``
        while the key is not known (yet), ``SealBroken`` if the blobs do not open."""
        return open_record(self.data_key_by_id(key_id), quarantine_id, rec)

    def is_destroyed(self, key_id: str | None) -> bool:
        return key_id is not None and key_id in self.store.destroyed


def stored_key(store: KeyStore, key_id: str) -> StoredKey:
    """The stored (wrapped) key ``key_id``: ``KeyDestroyed`` once shredded,
    ``KeyUnavailable`` while not on the keys topic (yet)."""
    if key_id in store.destroyed:
        raise KeyDestroyed(f"data key {key_id} was destroyed (crypto-shredded)")
    stored = store.keys.get(key_id)
    if stored is None:
        raise KeyUnavailable(f"data key {key_id} is not on the keys topic (yet)")
    return stored
