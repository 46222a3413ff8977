"""A long plaintext sealed as a sequence of AES-256-GCM chunks, so neither side holds it whole.

Each file gets a random 16-byte salt; its chunks are sealed under
``derive_key(key, purpose, salt)`` with the chunk's index as the nonce (never
reused: the key is new for every file) and, as associated data, the index and
whether it is the last chunk. So a chunk altered, moved, dropped or cut off,
or a file ending before its last chunk, fails to open (``SealBroken``).
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wardstream.crypto.derive import derive_key
from wardstream.crypto.envelope import SealBroken

SALT_BYTES = 16
_PURPOSE = b"wardstream/sealed-chunks/v1"


class ChunkSeal:
    __slots__ = ("_aead", "_aad", "salt")

    def __init__(self, key: bytes, aad: bytes, salt: bytes | None = None) -> None:
        self.salt = os.urandom(SALT_BYTES) if salt is None else salt
        if len(self.salt) != SALT_BYTES:
            raise SealBroken("the sealed file's salt is cut short")
        self._aead = AESGCM(derive_key(key, _PURPOSE, self.salt))
        self._aad = aad

    def __repr__(self) -> str:
        return "ChunkSeal(<secret>)"

    def seal(self, index: int, chunk: bytes, *, last: bool) -> bytes:
        return self._aead.encrypt(_nonce(index), chunk, self._ad(index, last))

    def open(self, index: int, sealed: bytes, *, last: bool) -> bytes:
        try:
            return self._aead.decrypt(_nonce(index), sealed, self._ad(index, last))
        except (InvalidTag, ValueError):
            raise SealBroken(f"chunk {index} does not open (altered, moved or cut off)") from None

    def _ad(self, index: int, last: bool) -> bytes:
        return self._aad + index.to_bytes(8, "big") + (b"\x01" if last else b"\x00")


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")
