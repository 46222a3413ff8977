"""AES-256-GCM envelopes: seal bytes with a data key, wrap data keys with a master key.

A sealed blob is ``nonce (12 bytes) || ciphertext || tag``; the nonce is random
for every blob. The associated data binds a blob to where it belongs (a
quarantine id and the part of the record), and a wrapped key to its subject
and key id, so a blob or key moved elsewhere does not open. Destroying every
copy of a wrapped data key makes the blobs sealed with it unreadable
(crypto-shredding). Key bytes never appear in a ``repr`` or an error message.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from wardstream.errors import WardstreamError

ALGORITHM = "AES-256-GCM"
KEY_BYTES = 32
NONCE_BYTES = 12
_WRAP_CONTEXT = b"wardstream/data-key/v1|"


class KeyUnavailable(WardstreamError):
    """The data key is gone (destroyed) or cannot be unwrapped with this master key."""


class SealBroken(WardstreamError):
    """A sealed blob does not open: wrong key, altered bytes, or other associated data."""


class MasterKey:
    """A key-wrapping key. Its bytes stay inside: no repr, str or pickling shows them.

    ``key_id`` is a public fingerprint (``m-`` + 16 hex digits of an HMAC of the key
    under a fixed label): key records name the key that wrapped them by it, so a
    rotation knows what to re-wrap and a reader which key to use."""

    __slots__ = ("_aead", "_key", "key_id")

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a master key is {KEY_BYTES} bytes (AES-256), not {len(key)}")
        self._aead = AESGCM(key)
        self._key = key
        self.key_id = "m-" + hmac.digest(key, b"wardstream/key-id/v1", "sha256").hex()[:16]

    def derive(self, label: str) -> bytes:
        """32 bytes for one purpose (HKDF-SHA256, ``info`` = ``label``): a key derived with
        one label tells nothing about the master key or a key derived with another."""
        return derive_key(self._key, label)

    def __repr__(self) -> str:
        return f"MasterKey({self.key_id}, <secret>)"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a MasterKey is not serialisable")


def derive_key(key: bytes, label: str) -> bytes:
    """HKDF-SHA256 of ``key`` with no salt and ``info`` = ``wardstream/<label>``."""
    kdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
               info=b"wardstream/" + label.encode())  # fmt: skip
    return kdf.derive(key)


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def new_key_id() -> str:
    return "k-" + secrets.token_hex(8)


def _wrap_aad(subject_id: str, key_id: str) -> bytes:
    return _WRAP_CONTEXT + subject_id.encode() + b"|" + key_id.encode()


def wrap_key(master: MasterKey, subject_id: str, key_id: str, data_key: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + master._aead.encrypt(nonce, data_key, _wrap_aad(subject_id, key_id))


def unwrap_key(master: MasterKey, subject_id: str, key_id: str, wrapped: bytes) -> bytes:
    try:
        return master._aead.decrypt(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_aad(subject_id, key_id)
        )
    except (InvalidTag, ValueError):
        raise KeyUnavailable(
            f"data key {key_id} does not unwrap: another master key, or an altered key record"
        ) from None


def seal(data_key: bytes, aad: bytes, plaintext: bytes) -> bytes:
    return sealer(data_key)(aad, plaintext)


def sealer(data_key: bytes) -> Callable[[bytes, bytes], bytes]:
    """``seal`` with ``data_key`` for several payloads (one cipher set up for all)."""
    encrypt = AESGCM(data_key).encrypt

    def seal_one(aad: bytes, plaintext: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + encrypt(nonce, plaintext, aad)

    return seal_one


def open_sealed(data_key: bytes, aad: bytes, blob: bytes) -> bytes:
    try:
        return AESGCM(data_key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError):
        raise SealBroken("a sealed payload does not open with its data key") from None


def receipt(wrapped: bytes) -> str:
    """A proof-of-destruction receipt: the sha256 of the wrapped key (never the key)."""
    return "sha256:" + hashlib.sha256(wrapped).hexdigest()
