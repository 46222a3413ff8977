"""The state snapshot's contents: the records that rebuild the state, and what they cover (pure).

A snapshot holds, for each topic it was written for (``ward.subjects`` and
``ward.consents``), the records a perfectly compacted copy of that topic would
hold for the state applied so far: each subject's current profile, and each
subject's consent events in order (a ledger is the fold of all of them). A
restart applies them through the same ``StateApplier`` as records read from
Kafka, so hooks, triggers and decisions behave as after a full read; then it
reads each partition from the recorded offset (``offsets``, the next offset
to read) to its end.

The store supplies its records through ``SnapshotSource.records()`` as the
bytes they came in (``ProfileMap`` and ``LedgerMap`` rebuild them from their
compact form without decoding); a native store only has to do the same, so the
format does not change with the store.

Layout, in chunks that the caller seals one by one: the header (JSON), then
chunks of whole records; a record is ``u8 topic index (| 0x80: stored form) |
u32 key length (0xFFFFFFFF: none) | key | u32 value length | value``. Nothing
here does I/O.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from wardstream.errors import WardstreamError

VERSION = 1
_U32 = struct.Struct("<I")
_HEAD = struct.Struct("<BI")
_NONE = 0xFFFFFFFF
STORED = 0x80  # in a record's topic byte: the value is in the store's own form
Offsets = Mapping[str, Mapping[int, int]]
"""topic -> partition -> the next offset to read (everything before it is in the snapshot)."""


class SnapshotUnreadable(WardstreamError):
    """The snapshot's plaintext is not in this format (a bug or another version)."""


class NotSnapshotable(WardstreamError):
    """The state holds a value that cannot be written as its record bytes; no snapshot is
    written (the next start reads the topics from the beginning)."""


class SnapshotSource(Protocol):
    def stored(self) -> Iterator[tuple[bytes, bytes]]:
        """(key, value in the store's own form): put back with ``load_stored``, no hook runs."""
        ...

    def records(self) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) as on the topic: applied again through the applier, in this order."""
        ...

    def load_stored(self, key: bytes, stored: bytes) -> None: ...

    def load_run(self, chunk: bytes, head: int, start: int) -> tuple[int, int]:
        """``load_stored`` for the records of ``chunk`` from ``start`` on with this head byte,
        as many as it can at once; (where it stopped, how many it loaded)."""
        ...


@dataclass(frozen=True, slots=True)
class SnapshotMeta:
    topics: tuple[str, ...]
    offsets: dict[str, dict[int, int]]
    written_at: float  # epoch seconds
    floor: dict[str, dict[int, int]] = field(default_factory=dict)
    """The lowest offset of a record the state holds, per partition that had any."""

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "version": VERSION,
                "topics": list(self.topics),
                "offsets": {
                    t: {str(p): o for p, o in ps.items()} for t, ps in self.offsets.items()
                },
                "written_at": self.written_at,
                "floor": {t: {str(p): o for p, o in ps.items()} for t, ps in self.floor.items()},
            },
            sort_keys=True,
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> SnapshotMeta:
        try:
            data = json.loads(raw)
            if data["version"] != VERSION:
                raise SnapshotUnreadable(
                    f"snapshot format version {data['version']}, not {VERSION}"
                )
            return cls(
                tuple(str(t) for t in data["topics"]),
                _per_partition(data["offsets"]),
                float(data["written_at"]),
                _per_partition(data["floor"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SnapshotUnreadable(f"snapshot header unreadable ({type(exc).__name__})") from None


def _per_partition(data: dict[str, dict[str, int]]) -> dict[str, dict[int, int]]:
    return {str(t): {int(p): int(o) for p, o in ps.items()} for t, ps in data.items()}


CHUNK_BYTES = 1 << 20


def encode(
    topics: tuple[str, ...],
    offsets: Offsets,
    written_at: float,
    sources: Mapping[str, SnapshotSource],
    chunk_bytes: int = CHUNK_BYTES,
    floor: Offsets | None = None,
) -> Iterator[bytes]:
    """The plaintext of a snapshot of ``sources`` (topic -> its store), covering ``offsets``,
    in chunks: the header, then whole records about ``chunk_bytes`` at a time (a writer
    seals each as it comes, so the snapshot is never held whole)."""
    meta = SnapshotMeta(
        topics,
        {t: dict(ps) for t, ps in offsets.items()},
        written_at,
        {t: dict(ps) for t, ps in (floor or {}).items()},
    )
    yield meta.to_json()
    buf = bytearray()
    pack_head, pack = _HEAD.pack, _U32.pack
    for index, topic in enumerate(topics):
        source = sources[topic]
        for flag, entries in ((STORED, source.stored()), (0, source.records())):
            head = index | flag
            for key, value in entries:
                buf += pack_head(head, len(key))
                buf += key
                buf += pack(len(value))
                buf += value
                if len(buf) >= chunk_bytes:
                    yield bytes(buf)
                    buf.clear()
    if buf:
        yield bytes(buf)


def decode_meta(header: bytes) -> SnapshotMeta:
    """The first chunk."""
    return SnapshotMeta.from_json(header)


def decode_records(
    chunk: bytes, topics: tuple[str, ...], start: int = 0
) -> Iterator[tuple[str, bool, bytes | None, bytes]]:
    """(topic, stored, key, value) of a records chunk from ``start`` on, in the order written
    (``stored``: the value is in the store's own form); SnapshotUnreadable when a record is
    cut short."""
    i, end = start, len(chunk)
    view = memoryview(chunk)
    while i < end:
        head, klen = _read(_HEAD, chunk, i)
        index = head & ~STORED
        i += _HEAD.size
        key: bytes | None = None
        if klen != _NONE:
            key, i = bytes(view[i : i + klen]), i + klen
        (vlen,) = _read(_U32, chunk, i)
        i += 4
        if index >= len(topics) or i + vlen > end:
            raise SnapshotUnreadable("a snapshot record runs past its chunk or names no topic")
        yield topics[index], bool(head & STORED), key, bytes(view[i : i + vlen])
        i += vlen


def _read(fmt: struct.Struct, data: bytes, at: int) -> tuple[int, ...]:
    try:
        return fmt.unpack_from(data, at)
    except struct.error:
        raise SnapshotUnreadable("the snapshot ends in the middle of a record") from None
