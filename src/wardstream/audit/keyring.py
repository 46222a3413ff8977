"""Pseudonym key rotation: the current key and the earlier ones, each with its id.

New refs are made under the current key only; a subject's records written
before a rotation carry refs under an earlier key (the ref's ``<key id>:``
prefix says which). ``refs`` gives a subject's ref under every key in the
ring, so ``audit lookup`` finds all of its records. No key is ever written to
the audit topic: rotating means dropping a key from the ring once its records
need no more lookups (REQUIREMENTS safe default 9).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from wardstream.audit.errors import KeyFormatError
from wardstream.audit.pseudonym import SubjectPseudonymizer, parse_key

_SEPARATORS = re.compile(r"[;\n]")


class PseudonymRing:
    """The current pseudonymizer and the earlier ones, by key id."""

    __slots__ = ("_current", "_all")

    def __init__(self, current: SubjectPseudonymizer, earlier: Iterable[SubjectPseudonymizer] = ()):
        self._current = current
        self._all: dict[str, SubjectPseudonymizer] = {current.key_id: current}
        for p in earlier:
            if p.key_id in self._all:
                raise KeyFormatError(
                    f"pseudonym key id {p.key_id!r} is given twice; every key in the ring "
                    "(audit.key_id and each earlier key) needs its own id"
                )
            self._all[p.key_id] = p

    @property
    def current(self) -> SubjectPseudonymizer:
        return self._current

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The current key's id first, then the earlier ones as given."""
        return tuple(self._all)

    def refs(self, subject_id: str | bytes) -> dict[str, str]:
        """The subject's ref under every key, by key id (the current key first)."""
        return {key_id: p.ref(subject_id) for key_id, p in self._all.items()}

    def __repr__(self) -> str:
        return f"PseudonymRing(current={self._current.key_id!r}, keys={list(self._all)!r})"


def parse_earlier_keys(text: str) -> list[SubjectPseudonymizer]:
    """Earlier keys from ``<key id> <key>`` (or ``<key id>=<key>``) entries, one per
    line or separated by ``;``. Errors name the entry's number, never the key."""
    out = []
    for number, entry in enumerate(_SEPARATORS.split(text), 1):
        entry = entry.strip()
        if not entry or entry.startswith("#"):
            continue
        parts = entry.replace("=", " ", 1).split(None, 1)
        if len(parts) != 2:
            raise KeyFormatError(
                f"earlier pseudonym key entry {number} needs a key id and a key, "
                "e.g. 'k1 hex:<64 hex digits>'"
            )
        key_id, key = parts
        try:
            out.append(SubjectPseudonymizer(parse_key(key), key_id))
        except KeyFormatError as exc:
            raise KeyFormatError(f"earlier pseudonym key entry {number}: {exc}") from None
    return out
