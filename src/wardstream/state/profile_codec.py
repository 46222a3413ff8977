"""``ward.subjects`` values to ``SubjectProfile``, quickly, with the full decoder as the judge.

The quick path reads the usual encoding (short ids and strings, union and
enum indexes in range, dates 1870-2169, times 1970-2109) in pure Python and
builds the profile without re-validating it (about 3 us instead of 30).
Anything else - a negative union index fastavro would read from the end,
trailing bytes, a far date - goes to the full decoder (fastavro and
``SubjectProfile.from_dict``), so a record is accepted, or rejected, exactly
as the full decoder would, and gives the same profile (the unit tests check
both on random and mutated records).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, TypeVar

from wardstream.domain.enums import AgeBand
from wardstream.domain.subject import SubjectProfile
from wardstream.serde import AvroCodec, Origin, record_schema
from wardstream.state._wire import (
    DAY_MAX,
    DAY_MIN,
    EPOCH_ORDINAL,
    MS_MAX,
    Unusual,
    long_bytes,
    read_index,
    read_long,
    to_utc,
)

FIELDS = (
    "subject_id", "birth_date", "age_band", "jurisdiction", "verification", "vulnerable",
    "deregistered_at", "updated_at",
)  # fmt: skip
QUICK = (Unusual, IndexError, UnicodeDecodeError)
_new = object.__new__
_fromtimestamp = datetime.fromtimestamp
_fromordinal = date.fromordinal
_HEADS = [bytes((2 * n,)) for n in range(64)]
_MISSING: Any = object()
MEMO_SIZE = 65_536
T = TypeVar("T")
_set = {name: getattr(SubjectProfile, name).__set__ for name in (*FIELDS, "policy_memo")}
_sid, _birth, _band, _jur, _ver, _vul, _gone, _upd, _memo = _set.values()


class ProfileCodec:
    """Decode (quick or full) and encode ``SubjectProfile`` values; one per thread."""

    def __init__(self) -> None:
        schema = record_schema("SubjectProfile")
        self.full = AvroCodec(schema)
        fields = schema.parsed["fields"]
        self.quick = tuple(f["name"] for f in fields) == FIELDS
        self.bands = tuple(AgeBand(s) for s in fields[2]["type"][1]["symbols"])
        self._dates: dict[int, date] = {}
        self._codes: dict[bytes, str | None] = {}
        self._texts: dict[bytes, str] = {}

    # small memos of the values many subjects share (birth dates, codes, methods)
    def _date(self, days: int) -> date:
        if not DAY_MIN <= days <= DAY_MAX:
            raise Unusual
        found = self._dates[days] = _fromordinal(EPOCH_ORDINAL + days)
        return _bounded(self._dates, found)

    def _code(self, raw: bytes) -> str | None:
        code = raw.decode()
        found = self._codes[raw] = (code.strip().upper() or None) if code else None
        return _bounded(self._codes, found)

    def _text(self, raw: bytes) -> str:
        found = self._texts[raw] = raw.decode()
        return _bounded(self._texts, found)

    def decode(self, value: bytes, origin: Origin) -> SubjectProfile:
        """The profile in ``value``; raises as the full decoder does (DecodeError, ValueError)."""
        if self.quick:
            try:
                n = value[0]
                if n & 0x81:  # a long id (or a negative length): not for the quick path
                    raise Unusual
                i = 1 + (n >> 1)
                if i > len(value):
                    raise Unusual
                return self._rest(value, i, value[1:i].decode())
            except QUICK:
                pass
        return SubjectProfile.from_dict(self.full.decode(value, origin=origin))

    def decode_rest(self, subject_id: str, head: bytes, rest: bytes) -> SubjectProfile:
        """The profile whose value is ``head + rest``, ``head`` encoding ``subject_id``."""
        if self.quick:
            try:
                return self._rest(rest, 0, subject_id)
            except QUICK:
                pass
        return self.decode(head + rest, Origin("state", -1, -1))

    def encode(self, profile: SubjectProfile) -> bytes:
        return self.full.encode(profile.to_dict())

    def _rest(self, v: bytes, i: int, subject_id: str) -> SubjectProfile:
        """Every field after the subject id, from ``v[i]``; raises ``QUICK`` errors.

        Written out field by field (no helper for the one-byte cases): it runs
        once per profile at start-up, ten million times for ten million subjects.
        """
        u = v[i]
        if u == 0:
            birth, i = None, i + 1
        elif u == 2:
            days, i = read_long(v, i + 1)
            birth = self._dates.get(days)
            if birth is None:
                birth = self._date(days)
        else:
            raise Unusual
        u = v[i]
        if u == 0:
            band, i = None, i + 1
        elif u == 2:
            k, i = read_index(v, i + 1, len(self.bands))
            band = self.bands[k]
        else:
            raise Unusual
        u = v[i]
        if u == 0:
            jurisdiction, i = None, i + 1
        elif u == 2:
            n = v[i + 1]
            j = i + 2 + (n >> 1)
            if n & 0x81 or j > len(v):
                raise Unusual
            raw = v[i + 2 : j]
            jurisdiction = self._codes.get(raw, _MISSING)
            if jurisdiction is _MISSING:
                jurisdiction = self._code(raw)
            i = j
        else:
            raise Unusual
        n = v[i]
        j = i + 1 + (n >> 1)
        if n & 0x81 or j > len(v):
            raise Unusual
        raw = v[i + 1 : j]
        verification = self._texts.get(raw)
        if verification is None:
            verification = self._text(raw)
        x = v[j]
        if x > 1:
            raise Unusual
        u = v[j + 1]
        if u == 0:
            gone, i = None, j + 2
        elif u == 2:
            ms, i = read_long(v, j + 2)
            gone = to_utc(ms)
        else:
            raise Unusual
        ms, i = read_long(v, i)
        if i != len(v) or not 0 <= ms < MS_MAX:
            raise Unusual
        p = _new(SubjectProfile)
        _sid(p, subject_id)
        _upd(p, _fromtimestamp(ms / 1000, UTC))
        _birth(p, birth)
        _band(p, band)
        _jur(p, jurisdiction)
        _ver(p, verification)
        _vul(p, x == 1)
        _gone(p, gone)
        _memo(p, {})
        return p


def _bounded(memo: dict[Any, Any], found: T) -> T:
    """``found``, after emptying ``memo`` if it grew past ``MEMO_SIZE`` (odd data)."""
    if len(memo) > MEMO_SIZE:
        memo.clear()
    return found


def id_head(key: bytes) -> bytes:
    """How a subject id of these UTF-8 bytes starts its value (its length)."""
    n = len(key)
    return _HEADS[n] if n < 64 else long_bytes(n)
