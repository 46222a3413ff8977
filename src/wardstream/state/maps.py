"""``ProfileMap`` and ``LedgerMap``: the state's mappings, compact underneath, decoded on lookup.

Both are ``MutableMapping[str, ...]`` (``get``, ``[]``, ``in``, ``pop``,
``values()``, ...). Underneath, a ``BlobTable`` holds each subject's Avro
value bytes: a profile without its subject id (the key says it; the table
packs it to about half, and hands it back as it was), a ledger as its consent
events one after another (packed: a third to a half of their Avro).
``get`` decodes on a miss and keeps the object in a bounded two-generation
cache: a subject looked up again soon gets the same object, so the policy memo
on it stays valid; one not looked up for a while is decoded again (equal, not
identical - a memo miss, never a wrong answer). Writes replace the cached object of a hot subject.

An object that does not survive encoding (set by a caller, with a time finer
than the millisecond Avro keeps) is kept as it is, in a small side dict.
Values stored were accepted by the same codec that decodes them again, so a
lookup cannot fail to decode; if it ever did, ``StateCorrupt`` stops the
worker rather than guess (a missing profile would read as "age unknown").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping, ValuesView
from typing import Generic, TypeVar

from wardstream.domain.consent import ConsentEvent
from wardstream.domain.subject import SubjectProfile
from wardstream.errors import WardstreamError
from wardstream.policy.ledger import ConsentLedger
from wardstream.serde import DecodeError, Origin
from wardstream.state.consent_codec import ConsentCodec
from wardstream.state.profile_codec import ProfileCodec, id_head
from wardstream.state.table import BlobTable

V = TypeVar("V")
Row = tuple[str, int, int, bytes | None, bytes | None]
"""A state topic's record as read: topic, partition, offset, key, value."""
CACHE_SIZE = 65_536
_MISSING = object()
_STORED = Origin("state", -1, -1)


class StateCorrupt(WardstreamError):
    """Bytes the state accepted no longer decode: a bug, never a reason to guess an age."""


class _CachedMap(MutableMapping[str, V], Generic[V]):
    """The cache, the side dict and the mapping protocol; subclasses store and decode."""

    def __init__(self, cache_size: int, new_table: Callable[[], BlobTable] = BlobTable) -> None:
        self._new_table = new_table
        self.table = new_table()
        self._hot: dict[str, V] = {}
        self._warm: dict[str, V] = {}
        self._half = max(1, cache_size // 2)
        self._pinned: dict[str, V] = {}

    def _decode(self, subject_id: str, stored: bytes) -> V:
        raise NotImplementedError

    # -- reads ------------------------------------------------------------------------
    def get(self, subject_id: str, default: V | None = None) -> V | None:  # type: ignore[override]
        found = self._hot.get(subject_id)
        if found is not None:
            return found
        found = self._warm.pop(subject_id, None)
        if found is None:
            found = self._load(subject_id)
            if found is None:
                return default
        self._keep(subject_id, found)
        return found

    def _load(self, subject_id: str) -> V | None:
        if not isinstance(subject_id, str):
            return None
        if self._pinned and subject_id in self._pinned:
            return self._pinned[subject_id]
        stored = self.table.get(subject_id.encode())
        return None if stored is None else self._safely(subject_id, stored)

    def _safely(self, subject_id: str, stored: bytes) -> V:
        try:
            return self._decode(subject_id, stored)
        except (DecodeError, ValueError, KeyError, TypeError) as exc:
            raise StateCorrupt(
                f"a stored state value no longer decodes ({type(exc).__name__}); restart the "
                "worker to read the state topics again, and report this as a bug"
            ) from exc

    def _keep(self, subject_id: str, value: V) -> None:
        hot = self._hot
        hot[subject_id] = value
        if len(hot) > self._half:
            self._warm, self._hot = hot, {}

    def _forget(self, subject_id: str) -> V | None:
        """Drop the cached object; it, or None if it was not cached."""
        found = self._hot.pop(subject_id, None)
        return found if found is not None else self._warm.pop(subject_id, None)

    def __getitem__(self, subject_id: str) -> V:
        found = self.get(subject_id, _MISSING)  # type: ignore[arg-type]
        if found is _MISSING:
            raise KeyError(subject_id)
        return found  # type: ignore[return-value]

    def __contains__(self, subject_id: object) -> bool:
        if not isinstance(subject_id, str):
            return False
        if subject_id in self._hot or subject_id in self._warm or subject_id in self._pinned:
            return True
        return self.table.get(subject_id.encode()) is not None

    def __len__(self) -> int:
        return len(self.table) + len(self._pinned)

    def __iter__(self) -> Iterator[str]:
        yield from list(self._pinned)
        for key in list(self.table.keys()):
            yield key.decode()

    def values(self) -> ValuesView[V]:
        """Every value, decoded one at a time (cached objects as they are; not cached)."""
        return _Values(self)

    def _values(self) -> Iterator[V]:
        yield from list(self._pinned.values())
        for key, stored in list(self.table.items()):
            subject_id = key.decode()
            found = self._hot.get(subject_id)
            if found is None:
                found = self._warm.get(subject_id)
            yield found if found is not None else self._safely(subject_id, stored)

    def __delitem__(self, subject_id: str) -> None:
        if subject_id not in self:
            raise KeyError(subject_id)
        self._remove(subject_id)

    def _remove(self, subject_id: str) -> V | None:
        """Remove ``subject_id``; what it held, or None."""
        cached = self._forget(subject_id)
        pinned = self._pinned.pop(subject_id, None)
        stored = self.table.pop(subject_id.encode())
        if cached is not None:
            return cached
        if pinned is not None:
            return pinned
        return None if stored is None else self._safely(subject_id, stored)

    def clear(self) -> None:
        self.table = self._new_table()

    def reserve(self, additional: int) -> None:
        """Room in the table for ``additional`` more subjects at once (a bulk read's)."""
        self.table.reserve(additional)

    def settle(self) -> None:
        """Give back the room ``reserve`` made and no subject came to use."""
        self.table.shrink_index()
        self._hot, self._warm, self._pinned = {}, {}, {}


class _Values(ValuesView[V]):
    def __init__(self, mapping: _CachedMap[V]) -> None:
        super().__init__(mapping)
        self._map = mapping

    def __iter__(self) -> Iterator[V]:
        return self._map._values()  # noqa: SLF001 - the view of its own mapping


class ProfileMap(_CachedMap[SubjectProfile]):
    """Subject id -> ``SubjectProfile``; stores each value without its subject id."""

    def __init__(self, codec: ProfileCodec | None = None, cache_size: int = CACHE_SIZE) -> None:
        self.codec = codec = codec or ProfileCodec()
        super().__init__(cache_size, lambda: BlobTable(profile_bands=len(codec.bands)))
        self.gone: set[bytes] = set()
        """Ids whose profile has a deregistered_at (a snapshot replays them: they trigger)."""

    def _remove(self, subject_id: str) -> SubjectProfile | None:
        self.gone.discard(subject_id.encode())
        return super()._remove(subject_id)

    def clear(self) -> None:
        super().clear()
        self.gone = set()

    def _decode(self, subject_id: str, stored: bytes) -> SubjectProfile:
        key = subject_id.encode()
        return self.codec.decode_rest(subject_id, id_head(key) + key, stored)

    def __setitem__(self, subject_id: str, profile: SubjectProfile) -> None:
        self.swap(subject_id, profile)

    def swap(
        self, subject_id: str, profile: SubjectProfile | None, value: bytes | None = None
    ) -> SubjectProfile | None:
        """Store ``profile`` (None removes it); the profile stored before, or None.

        ``value``: the Avro bytes ``profile`` was decoded from, when there are any
        (stored as they are, without re-encoding).
        """
        if profile is None:
            return self._remove(subject_id)
        key = subject_id.encode()
        head = id_head(key) + key
        if value is None or not value.startswith(head) or profile.subject_id != subject_id:
            value = self._encoded(subject_id, profile, head)
        if value is None:  # kept as the object itself
            before = self._remove(subject_id)
            self._pinned[subject_id] = profile
            return before  # replayed whole by a snapshot, deregistered or not
        if profile.deregistered_at is None:
            self.gone.discard(key)
        else:
            self.gone.add(key)
        cached = self._hot.pop(subject_id, None)
        if cached is None and self._warm:
            cached = self._warm.pop(subject_id, None)
        pinned = self._pinned.pop(subject_id, None) if self._pinned else None
        old = self.table.put(key, value[len(head) :])
        if cached is not None:
            self._keep(subject_id, profile)
            return cached
        if pinned is not None:
            return pinned
        return None if old is None else self._safely(subject_id, old)

    def _encoded(self, subject_id: str, profile: SubjectProfile, head: bytes) -> bytes | None:
        """Canonical bytes that decode to an equal profile, or None."""
        try:
            value = self.codec.encode(profile)
            same = self.codec.decode(value, _STORED) == profile
        except (DecodeError, ValueError, TypeError):
            return None
        return value if same and value.startswith(head) else None

    def absorb(self, rows: list[Row], start: int, topic: str) -> int:
        """Store the leading run of ``topic``'s rows from ``start`` on natively, without a
        Python object per record, as ``swap`` would have (the value's own bytes, without the
        id); where it stopped. The caller applies the row it stopped at record by record.

        The table takes only values the quick path reads itself, never a tombstone or a
        profile deregistered before or now (``native/src/profile.rs``), and only while
        nothing is cached or pinned here, so ``gone`` and the cache stay true. The caller
        must know that nobody else is to be told of these changes (``StateApplier``)."""
        if self._hot or self._warm or self._pinned or not self.codec.quick:
            return start
        return self.table.absorb_profiles(rows, start, topic)

    def load_stored(self, key: bytes, stored: bytes) -> None:
        """Store a value in the table's own form (from a snapshot), as ``swap`` would have."""
        self._remove(key.decode())
        self.table.put(key, stored)

    def load_stored_run(self, chunk: bytes, head: int, start: int) -> tuple[int, int]:
        """``load_stored`` for a snapshot chunk's run of stored records from ``start`` on,
        in the table, without a Python object per record; (where it stopped, how many).

        Only while nothing is cached, pinned or deregistered (a restore's first records),
        when ``load_stored`` comes down to ``table.put`` of a new key; the table stops at a
        key it holds already, or one ``load_stored`` would not take (not UTF-8), and leaves
        it to ``load_stored``."""
        if self._hot or self._warm or self._pinned or self.gone:
            return start, 0
        return self.table.load_run(chunk, head, start)


class LedgerMap(_CachedMap[ConsentLedger]):
    """Subject id -> ``ConsentLedger``; stores the subject's consent events in order, each
    usual one packed (without its subject id, its data categories as a byte each:
    ``native/src/consent.rs``), an unusual one as its Avro bytes."""

    def __init__(self, codec: ConsentCodec | None = None, cache_size: int = CACHE_SIZE) -> None:
        super().__init__(cache_size)
        self.codec = codec or ConsentCodec()

    def _decode(self, subject_id: str, stored: bytes) -> ConsentLedger:
        decode = self.codec.decode
        events = [decode(v, _STORED) for v in self.values_of(subject_id.encode(), stored)]
        return ConsentLedger(subject_id, tuple(events))

    def values_of(self, key: bytes, stored: bytes) -> list[bytes]:
        """The Avro values of a stored ledger's events, in order (packed ones unpacked)."""
        ledger, out, i = self.codec.shape.unpack(stored, key), [], 0
        while i < len(ledger):
            j = i + 2 + (ledger[i] | ledger[i + 1] << 8)
            out.append(ledger[i + 2 : j])
            i = j
        return out

    def __setitem__(self, subject_id: str, ledger: ConsentLedger) -> None:
        self._remove(subject_id)
        if not ledger.events:  # an empty ledger is still an entry
            self._pinned[subject_id] = ledger
        for event in ledger.events:
            self.add(event, subject_id=subject_id)

    def add(
        self, event: ConsentEvent, value: bytes | None = None, *, subject_id: str | None = None
    ) -> ConsentLedger | None:
        """Fold ``event`` into its subject's ledger; the ledger before, or None.

        ``value``: the Avro bytes ``event`` was decoded from, when there are any.
        """
        sid = event.subject_id if subject_id is None else subject_id
        if value is None or sid != event.subject_id:
            value = self._encoded(event)
        # a two-byte length and the event, packed when usual (native/src/consent.rs)
        entry = None if value is None else self.codec.shape.entry(value)
        if entry is None or sid in self._pinned:  # None: past 65,535 bytes (or unstorable)
            before = self._remove(sid)  # kept as the ledger object itself from now on
            self._pinned[sid] = (before or ConsentLedger.empty(sid)).apply(event)
            return before
        cached = self._forget(sid)
        key = sid.encode()
        old = self.table.get(key)
        self.table.put(key, entry if old is None else old + entry)
        if cached is not None:
            self._keep(sid, cached.apply(event))
            return cached
        return None if old is None else self._safely(sid, old)

    def absorb(self, rows: list[Row], start: int, topic: str) -> tuple[int, bytes]:
        """``add`` the leading run of ``topic``'s rows from ``start`` on natively, without a
        Python object per record; (where it stopped, the grants with an expiry packed as
        ``ExpiryIndex.note_packed`` takes them). The caller applies the row it stopped at
        record by record.

        The table takes only grants the quick path reads itself, never a withdrawal or a
        refusal (``native/src/consent.rs``), and only while nothing is cached or pinned
        here. The caller must know that nobody else is to be told of them (``StateApplier``)."""
        if self._hot or self._warm or self._pinned or not self.codec.quick:
            return start, b""
        return self.table.absorb_grants(rows, start, topic, self.codec.shape)

    def _encoded(self, event: ConsentEvent) -> bytes | None:
        try:
            value = self.codec.encode(event)
            same = self.codec.decode(value, _STORED) == event
        except (DecodeError, ValueError, TypeError):
            return None
        return value if same else None
