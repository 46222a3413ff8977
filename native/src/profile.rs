//! The usual encoding of a `ward.subjects` value (a `SubjectProfile` in Avro), read
//! without Python, so a full read of the state can store profiles in bulk.
//!
//! This is `wardstream/state/profile_codec.py`'s quick path, narrowed: it accepts
//! only values that path reads itself (never one it hands to the full decoder),
//! and says no to anything else, which then goes the Python way record by record.
//! It decides nothing about a subject; it finds the subject id, where the rest of
//! the value starts (the form the state table stores), and whether the profile
//! is deregistered (which the Python side must see: it triggers deletions).
//!
//! Fields, in the schema's order: `subject_id` string, `birth_date` [null, date],
//! `age_band` [null, enum], `jurisdiction` [null, string], `verification` string,
//! `vulnerable` boolean, `deregistered_at` [null, timestamp-millis], `updated_at`
//! timestamp-millis.

use std::ops::Range;

use crate::store::{BlobTable, Full};
use crate::wire::{index, long, short_string, time};

/// Birth dates the quick path reads, in days since 1970-01-01 (1870-01-01 ..= 2169-12-31).
const DAY_MIN: i64 = -36_525;
const DAY_MAX: i64 = 73_048;

/// A value read: the subject id's bytes, where the rest starts, and whether the
/// profile carries a `deregistered_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub id: Range<usize>,
    pub rest: usize,
    pub deregistered: bool,
}

/// Reads a whole value; None for anything the quick path would not take itself
/// (and for an empty subject id, left to the full decoder).
pub fn read_value(v: &[u8], bands: usize) -> Option<Profile> {
    let id = short_string(v, 0)?;
    if id.is_empty() {
        return None;
    }
    let deregistered = read_rest(&v[id.end..], bands)?;
    Some(Profile {
        rest: id.end,
        id,
        deregistered,
    })
}

/// Stores a value `read_value` reads under its subject id, without the id (the form
/// `ProfileMap` stores); false, storing nothing, for one it does not read and for a
/// profile deregistered now or before (the Python side must see those:
/// deregistrations trigger deletions).
pub fn store_profile(table: &mut BlobTable, v: &[u8], bands: usize) -> Result<bool, Full> {
    let Some(p) = read_value(v, bands).filter(|p| !p.deregistered) else {
        return Ok(false);
    };
    table.update(&v[p.id], |before, out| {
        out.extend_from_slice(&v[p.rest..]);
        before.is_none_or(|old| read_rest(old, bands) == Some(false))
    })
}

/// Reads the rest of a value (every field after the subject id), as the table
/// stores it; whether the profile is deregistered, or None.
pub fn read_rest(v: &[u8], bands: usize) -> Option<bool> {
    let mut i = match *v.first()? {
        0 => 1,
        2 => {
            let (days, j) = long(v, 1)?;
            if !(DAY_MIN..=DAY_MAX).contains(&days) {
                return None;
            }
            j
        }
        _ => return None,
    };
    i = match *v.get(i)? {
        0 => i + 1,
        2 => index(v, i + 1, bands).map(|_| i + 2)?,
        _ => return None,
    };
    i = match *v.get(i)? {
        0 => i + 1,
        2 => short_string(v, i + 1)?.end,
        _ => return None,
    };
    i = short_string(v, i)?.end; // verification
    if *v.get(i)? > 1 {
        return None; // vulnerable: a boolean is one byte, 0 or 1
    }
    let (deregistered, i) = match *v.get(i + 1)? {
        0 => (false, i + 2),
        2 => (true, time(v, i + 2)?.1),
        _ => return None,
    };
    let (_, end) = time(v, i)?; // updated_at
    (end == v.len()).then_some(deregistered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::MS_MAX;

    fn zigzag(n: i64) -> Vec<u8> {
        let mut z = ((n << 1) ^ (n >> 63)) as u64;
        let mut out = vec![];
        while z >= 0x80 {
            out.push((z as u8) | 0x80);
            z >>= 7;
        }
        out.push(z as u8);
        out
    }

    fn value(id: &[u8], days: Option<i64>, gone: Option<i64>) -> Vec<u8> {
        let mut v = zigzag(id.len() as i64);
        v.extend_from_slice(id);
        match days {
            None => v.push(0),
            Some(d) => {
                v.push(2);
                v.extend(zigzag(d));
            }
        }
        v.extend([2, 4]); // band 2 (ADULT)
        v.extend([2, 4, b'C', b'N']);
        v.extend([8, b'n', b'o', b'n', b'e']);
        v.push(0);
        match gone {
            None => v.push(0),
            Some(ms) => {
                v.push(2);
                v.extend(zigzag(ms));
            }
        }
        v.extend(zigzag(1_704_067_200_000));
        v
    }

    #[test]
    fn a_usual_value_is_read() {
        let v = value(b"u1", Some(12_000), None);
        let p = read_value(&v, 3).unwrap();
        assert_eq!(&v[p.id.clone()], b"u1");
        assert_eq!(p.rest, 3);
        assert!(!p.deregistered);
        assert_eq!(read_rest(&v[p.rest..], 3), Some(false));
        let gone = value(b"u1", None, Some(1_704_067_200_000));
        assert!(read_value(&gone, 3).unwrap().deregistered);
    }

    #[test]
    fn anything_unusual_is_left_to_the_full_decoder() {
        let usual = value(b"u1", Some(1), None);
        assert!(read_value(&usual[..usual.len() - 1], 3).is_none()); // cut short
        let mut long_tail = usual.clone();
        long_tail.push(0);
        assert!(read_value(&long_tail, 3).is_none()); // trailing bytes
        assert!(read_value(&usual, 2).is_none()); // band 2 of an enum of two
        assert!(read_value(&value(b"", None, None), 3).is_none());
        assert!(read_value(&value(b"\xff", None, None), 3).is_none()); // not UTF-8
        assert!(read_value(&value(b"u1", Some(DAY_MAX + 1), None), 3).is_none());
        assert!(read_value(&value(b"u1", Some(DAY_MIN - 1), None), 3).is_none());
        assert!(read_value(&value(b"u1", None, Some(-1)), 3).is_none());
        assert!(read_value(&value(b"u1", None, Some(MS_MAX)), 3).is_none());
        assert!(read_value(&value(&[b'a'; 64], None, None), 3).is_none()); // a two-byte length
        let mut branch = usual.clone();
        branch[3] = 4; // birth_date's union branch 2 does not exist
        assert!(read_value(&branch, 3).is_none());
    }

    #[test]
    fn a_profile_is_stored_without_its_id_unless_gone_now_or_before() {
        let mut table = BlobTable::new();
        let usual = value(b"u1", Some(1), None);
        assert_eq!(store_profile(&mut table, &usual, 3), Ok(true));
        assert_eq!(table.get(b"u1"), Some(&usual[3..]));
        let gone = value(b"u1", None, Some(5));
        assert_eq!(store_profile(&mut table, &gone, 3), Ok(false)); // now
        table.put(b"u1", &gone[3..], |_| ()).unwrap();
        assert_eq!(store_profile(&mut table, &usual, 3), Ok(false)); // before
        assert_eq!(table.get(b"u1"), Some(&gone[3..]));
    }
}
