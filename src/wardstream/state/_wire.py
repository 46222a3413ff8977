"""The few Avro wire primitives the state codecs read (zigzag varints, strings).

Every reader raises ``Unusual`` for input it does not handle quickly (a long
that needs more than 10 bytes, a negative length, bytes past the end); the
codecs then hand the record to the full decoder, which decides.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# ``datetime.fromtimestamp(ms / 1000, UTC)`` is exact to the millisecond for
# 0 <= ms < 2**42 (the float's error stays far below half a microsecond, and
# fromtimestamp rounds to the nearest microsecond); outside, the full decoder.
MS_MAX = 2**42  # 2109-05-15
DAY_MIN, DAY_MAX = -36_525, 73_048  # 1870-01-01 .. 2169-12-31
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
_fromtimestamp = datetime.fromtimestamp


class Unusual(Exception):  # noqa: N818 - a signal between the readers and their codecs
    """Not for the quick path: the full decoder decides about this record."""


def read_long(v: bytes, i: int) -> tuple[int, int]:
    """The zigzag varint at ``v[i]`` and the index after it (unrolled: times take 6 bytes)."""
    x = v[i]
    if x < 0x80:
        return (x >> 1) ^ -(x & 1), i + 1
    acc = x & 0x7F
    x = v[i + 1]
    acc |= (x & 0x7F) << 7
    if x < 0x80:
        return (acc >> 1) ^ -(acc & 1), i + 2
    x = v[i + 2]
    acc |= (x & 0x7F) << 14
    if x < 0x80:
        return (acc >> 1) ^ -(acc & 1), i + 3
    x = v[i + 3]
    acc |= (x & 0x7F) << 21
    if x < 0x80:
        return (acc >> 1) ^ -(acc & 1), i + 4
    x = v[i + 4]
    acc |= (x & 0x7F) << 28
    if x < 0x80:
        return (acc >> 1) ^ -(acc & 1), i + 5
    x = v[i + 5]
    acc |= (x & 0x7F) << 35
    if x < 0x80:
        return (acc >> 1) ^ -(acc & 1), i + 6
    i, shift = i + 5, 35
    while x >= 0x80:
        i += 1
        shift += 7
        if shift > 63:
            raise Unusual
        x = v[i]
        acc |= (x & 0x7F) << shift
    return (acc >> 1) ^ -(acc & 1), i + 1


def read_bytes(v: bytes, i: int) -> tuple[bytes, int]:
    n, i = read_long(v, i)
    j = i + n
    if n < 0 or j > len(v):
        raise Unusual
    return v[i:j], j


def read_str(v: bytes, i: int) -> tuple[str, int]:
    raw, j = read_bytes(v, i)
    return raw.decode(), j


def read_index(v: bytes, i: int, count: int) -> tuple[int, int]:
    """A union branch or enum symbol number, 0 <= n < count."""
    x = v[i]
    if x & 1 or x >= 2 * count:  # negative, too large, or more than one byte
        raise Unusual
    return x >> 1, i + 1


def read_bool(v: bytes, i: int) -> tuple[bool, int]:
    x = v[i]
    if x > 1:
        raise Unusual
    return x == 1, i + 1


def to_utc(ms: int) -> datetime:
    """timestamp-millis as fastavro reads it (an aware UTC datetime)."""
    if not 0 <= ms < MS_MAX:
        raise Unusual
    return _fromtimestamp(ms / 1000, UTC)


def long_bytes(n: int) -> bytes:
    """The zigzag varint of ``n``."""
    z, out = (n << 1) ^ (n >> 63), bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)
