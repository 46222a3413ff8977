"""``BlobTable``: bytes -> bytes for millions of small entries, a few bytes of overhead each.

A dict of bytes to bytes costs some 130 bytes per entry on top of the data
(two objects and a slot). Here the entries are packed into buckets chosen by
hash; a bucket is two bytes objects: its keys, each followed by a NUL
(``b"\\0k1\\0k2\\0"``, so ``find`` locates a key in C and ``count`` gives its
position), and its values in the same order, each after a 2-byte length. The
table grows by linear hashing, one bucket split at a time, so it never stops
to rehash everything. Keys holding a NUL and values over 64 KiB live in a
plain dict beside the buckets.

Not thread-safe: one owner (the engine thread) reads and writes it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

NUL = b"\0"
MAX_VALUE = 0xFFFF


class BlobTable:
    __slots__ = ("_keys", "_vals", "_low", "_split", "_count", "_load", "_odd")

    def __init__(self, *, load: int = 12, buckets: int = 1024) -> None:
        low = 1 << max(0, (max(1, buckets) - 1).bit_length())
        self._keys: list[bytes] = [NUL] * low
        self._vals: list[bytes] = [b""] * low
        self._low, self._split, self._count, self._load = low, 0, 0, load
        self._odd: dict[bytes, bytes] = {}

    def __len__(self) -> int:
        return self._count + len(self._odd)

    def _bucket(self, key: bytes) -> int:
        h, low = hash(key), self._low
        b = h & (low - 1)
        return h & (2 * low - 1) if b < self._split else b

    def get(self, key: bytes) -> bytes | None:
        if NUL in key:  # never in the buckets, whose keys NULs separate
            return self._odd.get(key)
        if self._odd and key in self._odd:
            return self._odd[key]
        b = self._bucket(key)
        kb = self._keys[b]
        pos = kb.find(NUL + key + NUL)
        if pos < 0:
            return None
        vb = self._vals[b]
        i = _offset(vb, kb.count(NUL, 0, pos))
        return vb[i + 2 : i + 2 + (vb[i] | vb[i + 1] << 8)]

    def put(self, key: bytes, value: bytes) -> bytes | None:
        """Set ``key`` to ``value``; the value it had, or None."""
        if NUL in key or len(value) > MAX_VALUE:
            old = self.pop(key) if NUL not in key else self._odd.get(key)
            self._odd[key] = value
            return old
        old = self._odd.pop(key, None) if self._odd else None
        h, low = hash(key), self._low
        b = h & (low - 1)
        if b < self._split:
            b = h & (2 * low - 1)
        kb, vb = self._keys[b], self._vals[b]
        needle = NUL + key + NUL
        pos = kb.find(needle)
        entry = len(value).to_bytes(2, "little") + value
        if pos < 0:
            self._keys[b] = kb + needle[1:]
            self._vals[b] = vb + entry
            self._count += 1
            if self._count > self._load * (self._low + self._split):
                self._grow()
            return old
        i = _offset(vb, kb.count(NUL, 0, pos))
        j = i + 2 + (vb[i] | vb[i + 1] << 8)
        self._vals[b] = vb[:i] + entry + vb[j:]
        return vb[i + 2 : j]

    def pop(self, key: bytes) -> bytes | None:
        """Remove ``key``; the value it had, or None."""
        if NUL in key:  # never in the buckets, whose keys NULs separate
            return self._odd.pop(key, None)
        if self._odd and key in self._odd:
            return self._odd.pop(key)
        b = self._bucket(key)
        kb = self._keys[b]
        pos = kb.find(NUL + key + NUL)
        if pos < 0:
            return None
        vb = self._vals[b]
        i = _offset(vb, kb.count(NUL, 0, pos))
        j = i + 2 + (vb[i] | vb[i + 1] << 8)
        self._keys[b] = kb[: pos + 1] + kb[pos + len(key) + 2 :]
        self._vals[b] = vb[:i] + vb[j:]
        self._count -= 1
        return vb[i + 2 : j]

    def nbytes(self) -> int:
        """Bytes the table holds in objects (buckets and lists; the side dict roughly)."""
        blobs = sum(map(sys.getsizeof, self._keys)) + sum(map(sys.getsizeof, self._vals))
        lists = sys.getsizeof(self._keys) + sys.getsizeof(self._vals)
        odd = sum(sys.getsizeof(k) + sys.getsizeof(v) + 100 for k, v in self._odd.items())
        return blobs + lists + odd

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value); the table must not change meanwhile."""
        yield from self._odd.items()
        for kb, vb in zip(self._keys, self._vals, strict=True):
            yield from _entries(kb, vb)

    def keys(self) -> Iterator[bytes]:
        yield from self._odd
        for kb in self._keys:
            if kb.count(NUL) > 1:
                yield from kb[1:-1].split(NUL)

    def _grow(self) -> None:
        """Split one bucket in two (linear hashing)."""
        s, low = self._split, self._low
        mask = 2 * low - 1
        stay: list[tuple[bytes, bytes]] = []
        move: list[tuple[bytes, bytes]] = []
        for key, value in _entries(self._keys[s], self._vals[s]):
            (stay if hash(key) & mask == s else move).append((key, value))
        self._keys[s], self._vals[s] = _pack(stay)
        kb, vb = _pack(move)
        self._keys.append(kb)
        self._vals.append(vb)
        self._split += 1
        if self._split == low:
            self._low, self._split = 2 * low, 0


def _offset(vb: bytes, index: int) -> int:
    i = 0
    for _ in range(index):
        i += 2 + (vb[i] | vb[i + 1] << 8)
    return i


def _entries(kb: bytes, vb: bytes) -> Iterator[tuple[bytes, bytes]]:
    if kb.count(NUL) < 2:
        return
    i = 0
    for key in kb[1:-1].split(NUL):
        j = i + 2 + (vb[i] | vb[i + 1] << 8)
        yield key, vb[i + 2 : j]
        i = j


def _pack(entries: list[tuple[bytes, bytes]]) -> tuple[bytes, bytes]:
    keys = NUL.join([b"", *(k for k, _ in entries), b""]) if entries else NUL
    values = b"".join(len(v).to_bytes(2, "little") + v for _, v in entries)
    return keys, values
