"""Ed25519 keys for signed audit checkpoints: the worker signs, auditors verify.

The private key is given as PEM (``openssl genpkey -algorithm ed25519``) or as
its 32-byte seed in hex or base64; it never appears in a ``repr``, an error
message or a pickle. A public key is shared as one line,
``ed25519 <base64 of the 32 raw bytes> <key id>``, which ``wardstream audit
public-key`` prints and ``audit verify --public-keys`` reads (one or more per
file). The key id is derived from the public key itself (``ed25519-`` and 16
hex digits of its SHA-256), so a file cannot name a key wrongly.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from typing import NoReturn

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from wardstream.errors import WardstreamError

SEED_BYTES = 32
MIN_DISTINCT_BYTES = 8  # as for the other keys: fewer is a placeholder, not random
_RAW = serialization.Encoding.Raw
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")


class SigningKeyError(WardstreamError, ValueError):
    """A signing or public key is malformed; the message says how to make a good one."""


def key_id_of(public_raw: bytes) -> str:
    """The id of a public key: ``ed25519-`` + the first 16 hex digits of its SHA-256."""
    return "ed25519-" + hashlib.sha256(public_raw).hexdigest()[:16]


class SigningKey:
    """The worker's checkpoint signing key. ``sign`` is its only use of the secret."""

    __slots__ = ("_key", "_public", "_key_id")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self._public = key.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
        self._key_id = key_id_of(self._public)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_text(cls, text: str) -> SigningKey:
        """A key from PEM (PKCS#8) text or a 32-byte seed as hex / base64 text."""
        body = text.strip()
        if body.startswith("-----BEGIN"):
            try:
                key = serialization.load_pem_private_key(body.encode("ascii"), password=None)
            except (ValueError, TypeError, UnsupportedAlgorithm):
                _bad()
            if not isinstance(key, Ed25519PrivateKey):
                _bad()
            return cls(key)
        seed = _decode(body.removeprefix("hex:").removeprefix("base64:"))
        if seed is None or len(seed) != SEED_BYTES or len(set(seed)) < MIN_DISTINCT_BYTES:
            _bad()  # not 32 bytes, or a placeholder such as one repeated byte
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def public_raw(self) -> bytes:
        return self._public

    def public_line(self) -> str:
        """The public half as one line for a public-keys file."""
        return f"ed25519 {base64.b64encode(self._public).decode('ascii')} {self._key_id}"

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self._key_id!r}, key=<hidden>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a SigningKey holds a secret key and cannot be pickled")


class PublicKeys:
    """Public keys by id; ``verify`` says whether a key in the set made a signature."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Mapping[str, Ed25519PublicKey]) -> None:
        self._keys = dict(keys)

    @classmethod
    def parse(cls, text: str, source: str = "the public-keys file") -> PublicKeys:
        """Lines ``ed25519 <base64> [comment]``; blank lines and ``#`` comments are skipped."""
        keys: dict[str, Ed25519PublicKey] = {}
        for number, line in enumerate(text.splitlines(), 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            raw = _decode(words[1]) if len(words) >= 2 and words[0] == "ed25519" else None
            if raw is None or len(raw) != 32:
                raise SigningKeyError(
                    f"{source} line {number} is not a public key; each line reads "
                    "'ed25519 <base64 of 32 bytes>' as `wardstream audit public-key` prints it"
                )
            keys[key_id_of(raw)] = Ed25519PublicKey.from_public_bytes(raw)
        if not keys:
            raise SigningKeyError(
                f"{source} holds no public key; put the output of `wardstream audit public-key` "
                "in it (one line per key, earlier keys too)"
            )
        return cls(keys)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(sorted(self._keys))

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def verify(self, key_id: str, message: bytes, signature: bytes) -> bool:
        key = self._keys.get(key_id)
        if key is None:
            return False
        try:
            key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


def _decode(text: str) -> bytes | None:
    if _HEX.fullmatch(text) and len(text) == 2 * SEED_BYTES:
        return bytes.fromhex(text)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _bad() -> NoReturn:
    raise SigningKeyError(
        "the audit signing key is not an Ed25519 private key; make one with "
        "`openssl genpkey -algorithm ed25519 -out audit-signing.pem` (PEM), or give its "
        "32 random bytes as hex (64 digits) or base64"
    ) from None
