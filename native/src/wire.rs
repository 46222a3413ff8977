//! The few Avro wire primitives the quick state readers use (`profile`, `consent`),
//! as `wardstream/state/_wire.py` reads them, narrowed: each says None where the
//! Python quick path would hand the record to the full decoder, and sometimes
//! earlier (a varint longer than any in-range value needs), which only sends a
//! record the Python way.

use std::ops::Range;

/// Times the quick paths read: 0 <= ms < 2^42 (1970 .. 2109).
pub const MS_MAX: i64 = 1 << 42;
/// Longest varint read here: a time below `MS_MAX` takes at most 7 bytes.
const MAX_VARINT: usize = 7;

/// A string of at most 63 bytes (a one-byte length), valid UTF-8: where its bytes lie.
pub fn short_string(v: &[u8], i: usize) -> Option<Range<usize>> {
    let n = *v.get(i)?;
    if n & 0x81 != 0 {
        return None; // negative, or a length that takes more than one byte
    }
    let bytes = i + 1..i + 1 + (n >> 1) as usize;
    std::str::from_utf8(v.get(bytes.clone())?).ok()?;
    Some(bytes)
}

/// The zigzag varint at `v[i]` (at most `MAX_VARINT` bytes) and the index after it.
pub fn long(v: &[u8], mut i: usize) -> Option<(i64, usize)> {
    let mut acc = 0u64;
    for shift in (0..MAX_VARINT as u32).map(|k| 7 * k) {
        let b = *v.get(i)?;
        i += 1;
        acc |= u64::from(b & 0x7F) << shift;
        if b < 0x80 {
            return Some(((acc >> 1) as i64 ^ -((acc & 1) as i64), i));
        }
    }
    None
}

/// A string of any length (a varint length), valid UTF-8: where its bytes lie.
pub fn string(v: &[u8], i: usize) -> Option<Range<usize>> {
    let (n, i) = long(v, i)?;
    let bytes = i..i.checked_add(usize::try_from(n).ok()?)?;
    std::str::from_utf8(v.get(bytes.clone())?).ok()?;
    Some(bytes)
}

/// A union branch or enum symbol number below `count` (one byte, as the quick paths take it).
pub fn index(v: &[u8], i: usize, count: usize) -> Option<usize> {
    let x = *v.get(i)? as usize;
    (x & 1 == 0 && x < 2 * count).then_some(x >> 1)
}

/// A time in `0..MS_MAX` and the index after it.
pub fn time(v: &[u8], i: usize) -> Option<(i64, usize)> {
    let (ms, j) = long(v, i)?;
    (0..MS_MAX).contains(&ms).then_some((ms, j))
}

/// Appends the zigzag varint of `n`.
pub fn put_long(out: &mut Vec<u8>, n: i64) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}
