"""``BlobTable``: bytes -> bytes for millions of small entries, a few bytes of overhead each.

The state holds every subject's profile and consents on every worker, so its
cost per entry is what limits a worker. A dict of bytes to bytes costs some 130
bytes per entry on top of the data (two objects and a slot); the native table
(``native/src/store.rs``) packs each entry into one record of a single arena, a
two-byte head and the key and value bytes, found through an index of 4-byte
offsets: 8-13 bytes per entry beyond the data (the index is 44-88% full).
A profile table (``BlobTable(profile_bands=n)``) stores its values packed,
its jurisdictions and verification methods as one-byte codes of words kept
once while a value uses them: 12-14 bytes of a usual profile's 26-30, handed out
as the very bytes that were put.

``get``/``put``/``pop`` take and return ``bytes`` (``put`` and ``pop`` return
the value the key had, or None); ``len``, ``in``, ``keys()``, ``items()`` and
iteration (insertion order) complete it. An iteration during which the table
moves its records (a compaction, or the last record removed) raises
RuntimeError, as a dict changed during iteration does. ``nbytes()`` is the memory
it allocated. It is not thread-safe: one owner (the engine thread) reads and
writes it.
"""

from __future__ import annotations

from wardstream._native import BlobTable

__all__ = ["BlobTable"]
