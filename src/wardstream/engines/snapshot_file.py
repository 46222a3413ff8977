"""The state snapshot on disk: one sealed file, replaced atomically.

``MAGIC | nonce | AES-256-GCM(plaintext) | tag``, the magic bound as associated
data, under a key derived from the master key (``crypto.derive``). Written to
a temporary file beside it (mode 0600), fsynced, renamed over the previous
snapshot (which is thereby removed) and the directory fsynced: a crash leaves
the old snapshot or the new one, never half of one. No other file holds state;
temporary files a crash left behind are removed at start.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from wardstream.crypto import SealBroken, open_sealed, seal

MAGIC = b"wardstream-state-snapshot/v1\n"
NAME = "state.snapshot"
_TEMP_PREFIX = ".state.snapshot."


def snapshot_path(directory: Path) -> Path:
    return directory / NAME


def seal_snapshot(key: bytes, plain: bytes) -> bytes:
    return MAGIC + seal(key, MAGIC, plain)


def open_snapshot(key: bytes, blob: bytes) -> bytes:
    """The plaintext; SealBroken when the tag fails (altered, cut short, another key)."""
    if not blob.startswith(MAGIC):
        raise SealBroken("the file is not a wardstream state snapshot")
    return open_sealed(key, MAGIC, blob[len(MAGIC) :])


def write_atomically(directory: Path, blob: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    final = snapshot_path(directory)
    temp = directory / f"{_TEMP_PREFIX}{os.getpid()}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(blob)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, final)
    _fsync_dir(directory)
    return final


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
