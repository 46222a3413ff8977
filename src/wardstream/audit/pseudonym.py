"""Keyed pseudonyms for subjects: what the audit trail carries instead of ids.

``ref(subject_id)`` is ``<key id>:<hex HMAC-SHA256(key, subject_id)>``. The key
id prefix makes rotation visible in the audit: refs made under ``k1`` and
``k2`` differ and say which key made them. The key is never stored in the
audit, never shown by ``repr`` and cannot be pickled. Loading the key (env var,
secret file) belongs to the config layer; ``parse_key`` turns its text into bytes.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from typing import NoReturn

from wardstream.audit.errors import KeyFormatError

MIN_KEY_BYTES = 32
MIN_DISTINCT_BYTES = 8  # 32 random bytes have fewer than 8 distinct values with p < 1e-20
MAKE_KEY = (
    'make one with `python -c "import secrets;print(secrets.token_hex(32))"` '
    "(or `openssl rand -hex 32`)"
)
_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")
MEMO_SIZE = 65_536


class SubjectPseudonymizer:
    """Turns subject ids into stable, keyed, non-reversible refs."""

    __slots__ = ("_key", "_key_id", "_prefix", "_memo")

    def __init__(self, key: bytes, key_id: str) -> None:
        if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
            raise KeyFormatError(
                f"the pseudonymisation key must be at least {MIN_KEY_BYTES} random bytes; "
                + MAKE_KEY
            )
        if not _KEY_ID.fullmatch(key_id):
            raise KeyFormatError(
                "the key id must be 1-32 characters of letters, digits, '_', '.' or '-' "
                "and start with a letter or digit, e.g. 'k1' or '2026-11'"
            )
        self._key = key
        self._key_id = key_id
        self._prefix = key_id + ":"
        self._memo: dict[str | bytes, str] = {}

    @property
    def key_id(self) -> str:
        return self._key_id

    def ref(self, subject_id: str | bytes) -> str:
        """The pseudonymous ref of ``subject_id`` under this key.

        Refs of recent subjects are remembered (the HMAC was ~6% of a worker's CPU; the
        same subjects recur); the memo is emptied when it reaches ``MEMO_SIZE``."""
        ref = self._memo.get(subject_id)
        if ref is None:
            data = subject_id.encode("utf-8") if isinstance(subject_id, str) else subject_id
            ref = self._prefix + hmac.digest(self._key, data, "sha256").hex()
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[subject_id] = ref
        return ref

    def matches(self, ref: str, subject_id: str | bytes) -> bool:
        """Whether ``ref`` was made from ``subject_id`` under this key (constant time)."""
        return hmac.compare_digest(ref.encode("utf-8"), self.ref(subject_id).encode("utf-8"))

    def __repr__(self) -> str:
        return f"SubjectPseudonymizer(key_id={self._key_id!r}, key=<hidden>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a SubjectPseudonymizer holds a secret key and cannot be pickled")


def key_id_of(ref: str) -> str:
    """The key id a ref was made under (``"k1:ab12..."`` -> ``"k1"``)."""
    key_id, sep, _ = ref.partition(":")
    if not sep:
        raise KeyFormatError("a subject ref looks like '<key id>:<hex>'")
    return key_id


def parse_key(text: str) -> bytes:
    """Key bytes from ``hex:<hex>``, ``base64:<b64>``, or bare hex / base64 text.

    Bare text that is all hex digits is read as hex. Surrounding whitespace (a
    trailing newline in a secret file) is ignored. The key must decode to at
    least ``MIN_KEY_BYTES`` bytes that look random: a key of one repeated byte or a
    short repeated pattern (fewer than ``MIN_DISTINCT_BYTES`` distinct values) is a
    placeholder or a passphrase, not a key, and is refused.
    """
    body = text.strip()
    scheme, sep, rest = body.partition(":")
    if sep and scheme in ("hex", "base64"):
        key = _from_hex(rest) if scheme == "hex" else _from_base64(rest)
    elif _HEX.fullmatch(body):
        key = bytes.fromhex(body)
    else:
        key = _from_base64(body)
    if len(key) < MIN_KEY_BYTES:
        raise KeyFormatError(
            f"the key decodes to {len(key)} bytes; it needs at least {MIN_KEY_BYTES} bytes, "
            f"random (a passphrase is not a key): {MAKE_KEY}"
        )
    if len(set(key)) < MIN_DISTINCT_BYTES:
        raise KeyFormatError(
            f"the key is {len(key)} bytes of only {len(set(key))} distinct values: a "
            f"placeholder or a pattern, not random bytes; {MAKE_KEY}"
        )
    return key


def _from_hex(text: str) -> bytes:
    if not _HEX.fullmatch(text.strip()):
        _bad("hex")
    return bytes.fromhex(text.strip())


def _from_base64(text: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        _bad("base64")


def _bad(kind: str) -> NoReturn:
    raise KeyFormatError(
        f"the key is not valid {kind}; write it as 'hex:<64 hex digits>' or "
        f"'base64:<text>' (a passphrase is not a key): {MAKE_KEY}"
    ) from None
