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

Layout (sealed by the caller): ``u32 header length | header JSON | records``;
a record is ``u8 topic index | u32 key length (0xFFFFFFFF: none) | key | u32
value length | value``. Nothing here does I/O.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from wardstream.errors import WardstreamError

VERSION = 1
_U32 = struct.Struct("<I")
_HEAD = struct.Struct("<BI")
_NONE = 0xFFFFFFFF
Offsets = Mapping[str, Mapping[int, int]]
"""topic -> partition -> the next offset to read (everything before it is in the snapshot)."""


class SnapshotUnreadable(WardstreamError):
    """The snapshot's plaintext is not in this format (a bug or another version)."""


class NotSnapshotable(WardstreamError):
    """The state holds a value that cannot be written as its record bytes; no snapshot is
    written (the next start reads the topics from the beginning)."""


class SnapshotSource(Protocol):
    def records(self) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) as on the topic: applied again in this order they rebuild the state."""
        ...


@dataclass(frozen=True, slots=True)
class SnapshotMeta:
    topics: tuple[str, ...]
    offsets: dict[str, dict[int, int]]
    written_at: float  # epoch seconds
    records: int = 0

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "version": VERSION,
                "topics": list(self.topics),
                "offsets": {
                    t: {str(p): o for p, o in ps.items()} for t, ps in self.offsets.items()
                },
                "written_at": self.written_at,
                "records": self.records,
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
            offsets = {
                str(t): {int(p): int(o) for p, o in ps.items()} for t, ps in data["offsets"].items()
            }
            return cls(
                tuple(str(t) for t in data["topics"]),
                offsets,
                float(data["written_at"]),
                int(data["records"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SnapshotUnreadable(f"snapshot header unreadable ({type(exc).__name__})") from None


def encode(
    topics: tuple[str, ...],
    offsets: Offsets,
    written_at: float,
    sources: Mapping[str, SnapshotSource],
) -> bytes:
    """The plaintext of a snapshot of ``sources`` (topic -> its store), covering ``offsets``."""
    parts: list[bytes] = []
    count = 0
    for index, topic in enumerate(topics):
        pack_head = _HEAD.pack
        pack = _U32.pack
        for key, value in sources[topic].records():
            parts += (pack_head(index, len(key)), key, pack(len(value)), value)
            count += 1
    meta = SnapshotMeta(
        topics, {t: dict(ps) for t, ps in offsets.items()}, written_at, records=count
    )
    header = meta.to_json()
    return b"".join([_U32.pack(len(header)), header, *parts])


def decode_meta(plain: bytes) -> SnapshotMeta:
    (size,) = _read(_U32, plain, 0)
    return SnapshotMeta.from_json(plain[4 : 4 + size])


def decode_records(
    plain: bytes, topics: tuple[str, ...]
) -> Iterator[tuple[str, bytes | None, bytes]]:
    """(topic, key, value) in the order written; SnapshotUnreadable when cut short."""
    (size,) = _read(_U32, plain, 0)
    i, end = 4 + size, len(plain)
    view = memoryview(plain)
    while i < end:
        index, klen = _read(_HEAD, plain, i)
        i += _HEAD.size
        key: bytes | None = None
        if klen != _NONE:
            key, i = bytes(view[i : i + klen]), i + klen
        (vlen,) = _read(_U32, plain, i)
        i += 4
        if index >= len(topics) or i + vlen > end:
            raise SnapshotUnreadable("a snapshot record runs past the end or names no topic")
        yield topics[index], key, bytes(view[i : i + vlen])
        i += vlen


def _read(fmt: struct.Struct, data: bytes, at: int) -> tuple[int, ...]:
    try:
        return fmt.unpack_from(data, at)
    except struct.error:
        raise SnapshotUnreadable("the snapshot ends in the middle of a record") from None


def merge_offsets(*found: Iterable[tuple[tuple[str, int], int]]) -> dict[str, dict[int, int]]:
    """The furthest offset per topic partition among ``found``."""
    out: dict[str, dict[int, int]] = {}
    for pairs in found:
        for (topic, partition), offset in pairs:
            parts = out.setdefault(topic, {})
            parts[partition] = max(offset, parts.get(partition, 0))
    return out
