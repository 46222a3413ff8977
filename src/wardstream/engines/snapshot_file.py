"""The state snapshot on disk: one sealed file, replaced atomically.

``MAGIC | salt | (u32 length | sealed chunk)*``: the plaintext's chunks are
sealed one by one with AES-256-GCM (``crypto.chunks``) under a key derived
from the snapshot key, itself derived from the master key, so neither writing
nor reading holds the whole snapshot in memory. Written to a temporary file
beside it (mode 0600), fsynced, renamed over the previous snapshot (which is
thereby removed) and the directory fsynced: a crash leaves the old snapshot or
the new one, never half of one. No other file holds state; temporary files a
crash left behind are removed at start.
"""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from wardstream.crypto import SealBroken
from wardstream.crypto.chunks import SALT_BYTES, ChunkSeal

MAGIC = b"wardstream-state-snapshot/v1\n"
NAME = "state.snapshot"
_TEMP_PREFIX = ".state.snapshot."
_LEN = struct.Struct(">I")


def snapshot_path(directory: Path) -> Path:
    return directory / NAME


def write_atomically(directory: Path, key: bytes, chunks: Iterable[bytes]) -> Path:
    """Seal ``chunks`` (at least one) into the snapshot file, replacing the previous one."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    final = snapshot_path(directory)
    temp = directory / f"{_TEMP_PREFIX}{os.getpid()}.tmp"
    sealer = ChunkSeal(key, MAGIC)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb", closefd=False) as out:
            out.write(MAGIC + sealer.salt)
            for index, (chunk, last) in enumerate(_with_last(chunks)):
                sealed = sealer.seal(index, chunk, last=last)
                out.write(_LEN.pack(len(sealed)))
                out.write(sealed)
            out.flush()
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    os.close(fd)
    os.replace(temp, final)
    _fsync_dir(directory)
    return final


def read_chunks(path: Path, key: bytes) -> Iterator[bytes]:
    """The plaintext chunks, each checked as it is read; SealBroken when one fails its tag,
    the file is not a snapshot, or it ends before its last chunk or goes on after it."""
    with path.open("rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise SealBroken("the file is not a wardstream state snapshot")
        sealer = ChunkSeal(key, MAGIC, f.read(SALT_BYTES))
        index, sealed = 0, _next(f)
        if sealed is None:
            raise SealBroken("the snapshot holds no chunk")
        while sealed is not None:
            following = _next(f)
            yield sealer.open(index, sealed, last=following is None)
            index, sealed = index + 1, following


def _next(f: BinaryIO) -> bytes | None:
    head = f.read(_LEN.size)
    if not head:
        return None
    if len(head) < _LEN.size:
        raise SealBroken("the snapshot ends inside a chunk's length")
    (size,) = _LEN.unpack(head)
    body = f.read(size)
    if len(body) < size:
        raise SealBroken("the snapshot ends inside a chunk")
    return body


def _with_last(chunks: Iterable[bytes]) -> Iterator[tuple[bytes, bool]]:
    it = iter(chunks)
    current = next(it)
    for following in it:
        yield current, False
        current = following
    yield current, True


def remove_temporaries(directory: Path) -> None:
    if directory.is_dir():
        for leftover in directory.glob(f"{_TEMP_PREFIX}*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def discard(directory: Path) -> None:
    """Remove the snapshot (one that cannot be used is a copy of children's data to no end)."""
    with contextlib.suppress(FileNotFoundError):
        snapshot_path(directory).unlink()
    _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
