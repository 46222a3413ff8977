"""The secret key of every id derived from a subject (pure).

A deletion, notice, hold, correction or incident id is computed from a raw
subject id and other inputs that the audit trail often carries (reason,
pipeline, a deadline rounded to the hour). A public derivation (a UUIDv5) lets
anyone who reads those ids guess candidate subject ids until one matches. So
every such id is ``HMAC-SHA256(id key, kind and parts)``: still deterministic
(a replay issues the same ids, downstream systems de-duplicate on them), but
not computable, and so not testable against guesses, without the key.

The id key is derived from the pseudonym key with HKDF-SHA256 (RFC 5869) under
its own label. The pseudonym key itself is used as an HMAC key over subject ids
(refs); HKDF puts it in the *message* position of its extract step under a
fixed salt, so no subject id, however chosen, makes a ref equal to the id key.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime
from typing import NoReturn

from wardstream.errors import WardstreamError

ID_KEY_BYTES = 32
_SALT = b"wardstream/hkdf-salt/v1"
_INFO = b"wardstream/subject-derived-ids/v1"


class IdKeyError(WardstreamError, ValueError):
    """An id key is missing or too short."""


def hkdf_sha256(key: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    """RFC 5869 HKDF with SHA-256: extract under ``salt``, expand with ``info``."""
    prk = hmac.digest(salt, key, "sha256")
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.digest(prk, block + info + bytes([counter]), "sha256")
        out += block
        counter += 1
    return out[:length]


def _encode(kind: str, parts: tuple[object, ...]) -> bytes:
    """Length-prefixed fields: no two different inputs give the same bytes."""
    out = bytearray()
    for part in (kind, *parts):
        text = part.isoformat() if isinstance(part, datetime) else str(part)
        data = text.encode("utf-8")
        out += len(data).to_bytes(4, "big") + data
    return bytes(out)


class IdKey:
    """Derives keyed, deterministic ids; the key is never shown or pickled."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) < ID_KEY_BYTES:
            raise IdKeyError(
                f"an id key must be at least {ID_KEY_BYTES} bytes; derive it from the pseudonym "
                "key with IdKey.derive(pseudonym_key)"
            )
        self._key = key

    @classmethod
    def derive(cls, pseudonym_key: bytes) -> IdKey:
        """The id key of a pseudonym key (HKDF-SHA256 with a label of its own)."""
        return cls(hkdf_sha256(pseudonym_key, _SALT, _INFO, ID_KEY_BYTES))

    def id(self, kind: str, *parts: object) -> str:
        """A UUID-shaped id (version 8: custom) from HMAC-SHA256 over ``kind`` and ``parts``.

        Datetimes are written as ISO-8601, everything else with ``str``."""
        raw = bytearray(hmac.digest(self._key, _encode(kind, parts), hashlib.sha256)[:16])
        raw[6] = (raw[6] & 0x0F) | 0x80  # version 8
        raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
        return str(uuid.UUID(bytes=bytes(raw)))

    def subkey(self, label: bytes) -> bytes:
        """A 32-byte key of its own for ``label`` (HKDF-SHA256 of this key): e.g. the key
        that seals the lifecycle's operational records (``lifecycle.records``)."""
        return hkdf_sha256(self._key, _SALT, label, ID_KEY_BYTES)

    def __repr__(self) -> str:
        return "IdKey(key=<hidden>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("an IdKey holds a secret key and cannot be pickled")


def require(key: IdKey | None) -> IdKey:
    """``key``, or IdKeyError (fail closed) when the policy context was built without one."""
    if key is None:
        raise IdKeyError(
            "no id key: ids derived from a subject are keyed. Build the PolicyContext with "
            "ids=IdKey.derive(<pseudonym key>) (the worker does this from audit.hmac_key)"
        )
    return key
