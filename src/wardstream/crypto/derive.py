"""Keys derived from the master key for one purpose each (HKDF-SHA256, RFC 5869).

A derived key opens only what was sealed for its purpose, and knowing it tells
nothing about the master key or the other derived keys. The state snapshot is
sealed under ``derive_key(master, SNAPSHOT_PURPOSE)``, never the master key.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from wardstream.crypto.envelope import KEY_BYTES

SNAPSHOT_PURPOSE = b"wardstream/state-snapshot/v1"
_SALT = b"wardstream/master-key-derivation/v1"


def derive_key(master: bytes, purpose: bytes, salt: bytes = _SALT) -> bytes:
    """A 32-byte key for ``purpose`` (and ``salt``) from a 32-byte key's bytes."""
    if len(master) != KEY_BYTES:
        raise ValueError(f"a master key is {KEY_BYTES} bytes (AES-256), not {len(master)}")
    return HKDF(hashes.SHA256(), KEY_BYTES, salt, purpose).derive(master)
