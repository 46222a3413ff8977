"""``ward.consents`` values to ``ConsentEvent``, quickly, with the full decoder as the judge.

Like ``profile_codec``: the usual encoding is read in pure Python and the
event built without re-validating it; anything unusual (an unknown data
category, a negative array block, a far timestamp, ...) goes to fastavro and
``ConsentEvent.from_dict``, which accept or reject it as they always did.
"""

from __future__ import annotations

from collections.abc import Iterable

from wardstream._native import ConsentShape
from wardstream.domain.consent import ConsentEvent
from wardstream.domain.enums import ConsentAction, DataCategory, GrantedBy
from wardstream.serde import AvroCodec, Origin, record_schema
from wardstream.state._wire import (
    INT_MAX,
    INT_MIN,
    Unusual,
    read_bool,
    read_index,
    read_long,
    read_str,
    to_utc,
)

FIELDS = (
    "consent_id", "subject_id", "granted_by", "guardian_ref", "action", "purposes",
    "data_categories", "third_party_recipients", "public_disclosure", "policy_version",
    "effective_at", "expires_at", "evidence",
)  # fmt: skip
QUICK = (Unusual, IndexError, UnicodeDecodeError, KeyError)
CATEGORIES = {c.value: c for c in DataCategory}
_new = object.__new__
(
    _consent_id, _subject_id, _granted_by, _guardian_ref, _action, _purposes, _categories,
    _recipients, _public, _version, _effective_at, _expires_at, _evidence,
) = (getattr(ConsentEvent, name).__set__ for name in FIELDS)  # fmt: skip


class ConsentCodec:
    """Decode (quick or full) and encode ``ConsentEvent`` values; one per thread."""

    def __init__(self, purposes: Iterable[str] = ()) -> None:
        """``purposes``: those the operator declares (``policy.purposes``); a ledger stores
        each as a byte (``shape``), others spelled out."""
        schema = record_schema("ConsentEvent")
        self.full = AvroCodec(schema)
        fields = schema.parsed["fields"]
        self.quick = tuple(f["name"] for f in fields) == FIELDS
        self.by = tuple(GrantedBy(s) for s in fields[2]["type"]["symbols"])
        self.actions = tuple(ConsentAction(s) for s in fields[4]["type"]["symbols"])
        granted = self.actions.index(ConsentAction.GRANTED)
        names = [c.value.encode() for c in DataCategory]
        declared = [p.encode() for p in sorted(set(purposes))]
        self.shape = ConsentShape((len(self.by), len(self.actions), granted), names, declared)
        """What the native reader needs (enum sizes, GRANTED's number, the names it codes)."""

    def decode(self, value: bytes, origin: Origin) -> ConsentEvent:
        """The event in ``value``; raises as the full decoder does (DecodeError, ValueError)."""
        if self.quick:
            try:
                return self._quick(value)
            except QUICK:
                pass
        return ConsentEvent.from_dict(self.full.decode(value, origin=origin))

    def encode(self, event: ConsentEvent) -> bytes:
        return self.full.encode(event.to_dict())

    def _quick(self, v: bytes) -> ConsentEvent:
        """Every field in order; one-byte lengths and indexes read in line (the usual case)."""
        n = v[0]
        if n & 0x81:
            consent_id, i = read_str(v, 0)
        else:
            i = 1 + (n >> 1)
            consent_id = v[1:i].decode()
        n = v[i]
        if n & 0x81:
            subject_id, i = read_str(v, i)
        else:
            j = i + 1 + (n >> 1)
            subject_id, i = v[i + 1 : j].decode(), j
        k, i = read_index(v, i, len(self.by))
        granted_by = self.by[k]
        u, i = read_index(v, i, 2)
        guardian_ref, i = read_str(v, i) if u else (None, i)
        k, i = read_index(v, i, len(self.actions))
        action = self.actions[k]
        purposes, i = _strings(v, i)
        names, i = _strings(v, i)
        categories = tuple([CATEGORIES[name] for name in names])  # unknown: the full decoder
        recipients, i = _strings(v, i)
        public, i = read_bool(v, i)
        version, i = read_long(v, i)
        if not INT_MIN <= version <= INT_MAX:
            raise Unusual
        ms, i = read_long(v, i)
        effective_at = to_utc(ms)
        u, i = read_index(v, i, 2)
        if u:
            ms, i = read_long(v, i)
            expires_at = to_utc(ms)
        else:
            expires_at = None
        evidence, i = read_str(v, i)
        if i != len(v):
            raise Unusual
        e = _new(ConsentEvent)
        _consent_id(e, consent_id)
        _subject_id(e, subject_id)
        _granted_by(e, granted_by)
        _guardian_ref(e, guardian_ref)
        _action(e, action)
        _purposes(e, purposes)
        _categories(e, categories)
        _recipients(e, recipients)
        _public(e, public)
        _version(e, version)
        _effective_at(e, effective_at)
        _expires_at(e, expires_at)
        _evidence(e, evidence)
        return e


def _strings(v: bytes, i: int) -> tuple[tuple[str, ...], int]:
    """An array of strings (blocks of fewer than 64 items; others: the full decoder)."""
    out: list[str] = []
    while True:
        n = v[i]
        i += 1
        if n == 0:
            return tuple(out), i
        if n & 0x81:
            raise Unusual
        for _ in range(n >> 1):
            m = v[i]
            if m & 0x81:
                s, i = read_str(v, i)
            else:
                j = i + 1 + (m >> 1)
                s, i = v[i + 1 : j].decode(), j
            out.append(s)
