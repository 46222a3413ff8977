"""Which offsets of a source partition are decided, and what a commit must say about them.

An event that waits for current state is not decided, so the committed offset
of its partition stops at it (a restart reads it again). Events after it may
be decided already; their outputs are committed with that offset (in the same
transaction under exactly_once). So that a restart does not decide them a
second time, the commit's metadata lists the range read so far and which
offsets in it were still undecided; a restart skips the others.

Metadata: ``w1:<start>:<end>:<base64(zlib(bitmap))>``, one bit per offset in
``[start, end)``, set when undecided. Pure: no Kafka here.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

PREFIX = "w1"


@dataclass(frozen=True, slots=True)
class CommitPoint:
    offset: int
    metadata: str = ""


@dataclass(slots=True)
class Progress:
    """One assigned source partition."""

    next: int = -1
    """The offset after the last record read since assignment (-1: none yet)."""
    held: set[int] = field(default_factory=set)
    skip_end: int = -1
    """From the committed metadata: below it, offsets not in ``skip_undecided`` are done."""
    skip_undecided: frozenset[int] = frozenset()

    def is_done_before(self, offset: int) -> bool:
        """True when a previous owner decided ``offset`` and committed its outputs."""
        return offset < self.skip_end and offset not in self.skip_undecided

    def resume_from(self, committed: int, metadata: str | None) -> None:
        """Take the skip list of the committed offset's metadata (ignored when not ours)."""
        parsed = decode(metadata or "", committed)
        if parsed is not None:
            self.skip_end, self.skip_undecided = parsed

    def commit_point(self) -> CommitPoint | None:
        """Where this partition's committed offset may go now; None before the first read."""
        if self.next < 0:
            return None
        end = max(self.next, self.skip_end)
        undecided = self.held.union(o for o in self.skip_undecided if o >= self.next)
        if not undecided:
            return CommitPoint(end)
        start = min(undecided)
        return CommitPoint(start, encode(start, end, undecided))


def encode(start: int, end: int, undecided: Iterable[int]) -> str:
    bits = bytearray((end - start + 7) // 8)
    for offset in undecided:
        i = offset - start
        bits[i >> 3] |= 1 << (i & 7)
    packed = base64.b64encode(zlib.compress(bytes(bits), 6)).decode("ascii")
    return f"{PREFIX}:{start}:{end}:{packed}"


def decode(metadata: str, committed: int) -> tuple[int, frozenset[int]] | None:
    """``(end, undecided)`` of metadata written with ``committed``; None if not ours or stale."""
    parts = metadata.split(":", 3)
    if len(parts) != 4 or parts[0] != PREFIX:
        return None
    try:
        start, end = int(parts[1]), int(parts[2])
        bits = zlib.decompress(base64.b64decode(parts[3], validate=True))
    except (ValueError, binascii.Error, zlib.error):
        return None
    if start != committed or end < start or len(bits) != (end - start + 7) // 8:
        return None
    undecided = frozenset(
        start + (i << 3) + b
        for i, byte in enumerate(bits)
        if byte
        for b in range(8)
        if byte >> b & 1
    )
    return end, undecided
