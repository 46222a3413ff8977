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
use crate::words::Words;

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
/// `ProfileMap` stores, packed by `packer`); false, storing nothing, for one it does
/// not read and for a profile deregistered now or before (the Python side must see
/// those: deregistrations trigger deletions).
pub fn store_profile(table: &mut BlobTable, v: &[u8], packer: &mut Packer) -> Result<bool, Full> {
    let Some(id) = short_string(v, 0).filter(|id| !id.is_empty()) else {
        return Ok(false);
    };
    let rest = &v[id.end..];
    let Some(p) = parts(rest, packer.bands).filter(|p| p.deregistered.is_none()) else {
        return Ok(false);
    };
    table.update(&v[id], |before, out| {
        if before.is_some_and(|old| packer.gone(old) != Some(false)) {
            return false;
        }
        if !packer.try_pack(rest, &p, out) {
            out.extend_from_slice(rest);
        }
        if let Some(old) = before {
            packer.release(old);
        }
        true
    })
}

/// Where the fields of the rest of a value (every field after the subject id) lie:
/// the bytes of each varint and string, as `read_rest` reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parts {
    birth: Option<Range<usize>>,
    band: Option<u8>,
    jurisdiction: Option<Range<usize>>,
    verification: Range<usize>,
    vulnerable: bool,
    deregistered: Option<Range<usize>>,
    updated: Range<usize>,
}

fn parts(v: &[u8], bands: usize) -> Option<Parts> {
    let (birth, mut i) = match *v.first()? {
        0 => (None, 1),
        2 => {
            let (days, j) = long(v, 1)?;
            if !(DAY_MIN..=DAY_MAX).contains(&days) {
                return None;
            }
            (Some(1..j), j)
        }
        _ => return None,
    };
    let band = match *v.get(i)? {
        0 => None,
        2 => {
            index(v, i + 1, bands)?;
            i += 1;
            Some(v[i])
        }
        _ => return None,
    };
    i += 1;
    let jurisdiction = match *v.get(i)? {
        0 => None,
        2 => Some(short_string(v, i + 1)?),
        _ => return None,
    };
    i = jurisdiction.as_ref().map_or(i + 1, |r| r.end);
    let verification = short_string(v, i)?;
    i = verification.end;
    let vulnerable = match *v.get(i)? {
        0 => false,
        1 => true,
        _ => return None, // a boolean is one byte, 0 or 1
    };
    let (deregistered, i) = match *v.get(i + 1)? {
        0 => (None, i + 2),
        2 => {
            let end = time(v, i + 2)?.1;
            (Some(i + 2..end), end)
        }
        _ => return None,
    };
    let (_, end) = time(v, i)?; // updated_at
    (end == v.len()).then_some(Parts {
        birth,
        band,
        jurisdiction,
        verification,
        vulnerable,
        deregistered,
        updated: i..end,
    })
}

/// Reads the rest of a value (every field after the subject id), as the table
/// stores it unpacked; whether the profile is deregistered, or None.
pub fn read_rest(v: &[u8], bands: usize) -> Option<bool> {
    parts(v, bands).map(|p| p.deregistered.is_some())
}

/// The bits set in the first byte of a packed profile, whose other five are its flags.
/// No stored value starts so: a union branch whose varint starts with 0xE0-0xFF is 48
/// or more (or -48 or less) of a union of two, and the decoders reject it.
pub const PACKED: u8 = 0xE0;
const BIRTH: u8 = 1;
const BAND: u8 = 2;
const JURISDICTION: u8 = 4;
const VULNERABLE: u8 = 8;
const DEREGISTERED: u8 = 16;

/// A profile table's values packed, about half of their Avro: a byte of `PACKED` and
/// flags for the unions and the boolean, the birth date's varint, the age band's
/// byte, the jurisdiction and verification method as codes in `words`, the
/// deregistration's varint and `updated_at`'s. Exact: a packed value unpacks to the
/// very bytes it was packed from. Nothing here reads what a profile means, beyond
/// whether it carries a `deregistered_at` (`gone`).
#[derive(Debug, Default, Clone)]
pub struct Packer {
    pub bands: usize,
    words: Words,
}

/// What a packed value holds, as `Packer::unpack` reads it.
struct Packed<'a> {
    flags: u8,
    birth: &'a [u8],
    band: Option<u8>,
    jurisdiction: Option<u8>,
    verification: u8,
    deregistered: &'a [u8],
    updated: &'a [u8],
}

impl Packer {
    /// `bands`: the schema's age bands.
    pub fn new(bands: usize) -> Self {
        Packer {
            bands,
            words: Words::default(),
        }
    }

    /// Writes the value `v` (the rest of a profile's value) as the table stores it:
    /// packed when `read_rest` reads it and `words` has room for its words, else as it is.
    pub fn pack(&mut self, v: &[u8], out: &mut Vec<u8>) {
        let packed = parts(v, self.bands).is_some_and(|p| self.try_pack(v, &p, out));
        if !packed {
            out.extend_from_slice(v);
        }
    }

    /// Packs `v`, whose parts `p` are, unless `words` has no room for its words.
    fn try_pack(&mut self, v: &[u8], p: &Parts, out: &mut Vec<u8>) -> bool {
        let jurisdiction = match &p.jurisdiction {
            None => None,
            Some(r) => match self.words.take(&v[r.clone()]) {
                None => return false,
                code => code,
            },
        };
        let Some(verification) = self.words.take(&v[p.verification.clone()]) else {
            if let Some(code) = jurisdiction {
                self.words.release(code);
            }
            return false;
        };
        let flag = |present: bool, flag: u8| if present { flag } else { 0 };
        out.push(
            PACKED
                | flag(p.birth.is_some(), BIRTH)
                | flag(p.band.is_some(), BAND)
                | flag(jurisdiction.is_some(), JURISDICTION)
                | flag(p.vulnerable, VULNERABLE)
                | flag(p.deregistered.is_some(), DEREGISTERED),
        );
        out.extend_from_slice(&v[p.birth.clone().unwrap_or_default()]);
        out.extend(p.band);
        out.extend(jurisdiction);
        out.push(verification);
        out.extend_from_slice(&v[p.deregistered.clone().unwrap_or_default()]);
        out.extend_from_slice(&v[p.updated.clone()]);
        true
    }

    /// Writes the value `stored` was made from by `pack`; None for a packed value
    /// `pack` did not write (a stored value is never one).
    pub fn unpack(&self, stored: &[u8], out: &mut Vec<u8>) -> Option<()> {
        if !is_packed(stored) {
            out.extend_from_slice(stored);
            return Some(());
        }
        let p = read_packed(stored)?;
        let union = |out: &mut Vec<u8>, bytes: &[u8], present: bool| {
            out.push(if present { 2 } else { 0 });
            out.extend_from_slice(bytes);
        };
        union(out, p.birth, p.flags & BIRTH != 0);
        union(out, &[], p.band.is_some());
        out.extend(p.band);
        out.push(if p.jurisdiction.is_some() { 2 } else { 0 });
        for code in p.jurisdiction.into_iter().chain([p.verification]) {
            let word = self.words.get(code)?;
            out.push((word.len() << 1) as u8); // a short string's one-byte length
            out.extend_from_slice(word);
        }
        out.push(u8::from(p.flags & VULNERABLE != 0));
        union(out, p.deregistered, p.flags & DEREGISTERED != 0);
        out.extend_from_slice(p.updated);
        Some(())
    }

    /// The table no longer holds `stored`: its words have one use fewer.
    pub fn release(&mut self, stored: &[u8]) {
        if let Some(p) = read_packed(stored) {
            for code in p.jurisdiction.into_iter().chain([p.verification]) {
                self.words.release(code);
            }
        }
    }

    /// Whether the profile stored so carries a `deregistered_at`; None for a value
    /// `read_rest` does not read.
    pub fn gone(&self, stored: &[u8]) -> Option<bool> {
        match read_packed(stored) {
            Some(p) => Some(p.flags & DEREGISTERED != 0),
            None => read_rest(stored, self.bands),
        }
    }

    /// Words kept now (their codes in use).
    pub fn words(&self) -> usize {
        self.words.len()
    }
}

/// Whether a stored value is packed (`PACKED`'s bits set in its first byte).
pub fn is_packed(stored: &[u8]) -> bool {
    stored.first().is_some_and(|b| b & PACKED == PACKED)
}

fn read_packed(p: &[u8]) -> Option<Packed<'_>> {
    if !is_packed(p) {
        return None;
    }
    let flags = p[0] & !PACKED;
    let varint = |i: usize, present: bool| -> Option<(&[u8], usize)> {
        if !present {
            return Some((&[], i));
        }
        let end = long(p, i)?.1;
        Some((&p[i..end], end))
    };
    let (birth, mut i) = varint(1, flags & BIRTH != 0)?;
    let byte = |i: &mut usize, present: bool| -> Option<Option<u8>> {
        if !present {
            return Some(None);
        }
        *i += 1;
        p.get(*i - 1).copied().map(Some)
    };
    let band = byte(&mut i, flags & BAND != 0)?;
    let jurisdiction = byte(&mut i, flags & JURISDICTION != 0)?;
    let verification = byte(&mut i, true)??;
    let (deregistered, i) = varint(i, flags & DEREGISTERED != 0)?;
    let (updated, end) = varint(i, true)?;
    (end == p.len()).then_some(Packed {
        flags,
        birth,
        band,
        jurisdiction,
        verification,
        deregistered,
        updated,
    })
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
        let (mut table, mut packer) = (BlobTable::new(), Packer::new(3));
        let usual = value(b"u1", Some(1), None);
        assert_eq!(store_profile(&mut table, &usual, &mut packer), Ok(true));
        assert_eq!(unpacked(&packer, table.get(b"u1").unwrap()), &usual[3..]);
        let gone = value(b"u1", None, Some(5));
        assert_eq!(store_profile(&mut table, &gone, &mut packer), Ok(false)); // now
        let mut stored = Vec::new();
        packer.pack(&gone[3..], &mut stored);
        let old = table.put(b"u1", &stored, |old| old.to_vec()).unwrap();
        packer.release(&old.unwrap());
        assert_eq!(store_profile(&mut table, &usual, &mut packer), Ok(false)); // before
        assert_eq!(unpacked(&packer, table.get(b"u1").unwrap()), &gone[3..]);
        assert_eq!(packer.words(), 2); // the second profile's words, not the first's twice
    }

    fn unpacked(packer: &Packer, stored: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        packer.unpack(stored, &mut out).unwrap();
        out
    }

    #[test]
    fn a_packed_profile_unpacks_to_the_very_bytes_it_was_packed_from() {
        let mut packer = Packer::new(3);
        for v in [
            value(b"u1", Some(12_000), None),
            value(b"u2", None, Some(1_704_067_200_000)),
            value(b"u3", Some(-36_525), None),
        ] {
            let mut stored = Vec::new();
            packer.pack(&v[3..], &mut stored);
            assert!(is_packed(&stored));
            assert!(stored.len() + 8 <= v.len() - 3); // words as codes, unions as flags
            assert_eq!(unpacked(&packer, &stored), &v[3..]);
            assert_eq!(packer.gone(&stored), read_rest(&v[3..], 3));
        }
        assert_eq!(packer.words(), 2); // "CN" and "none", once each
    }

    #[test]
    fn a_value_packing_does_not_read_is_stored_as_it_is() {
        let mut packer = Packer::new(3);
        let mut odd = value(b"u1", Some(1), None)[3..].to_vec();
        odd.push(0); // trailing bytes
        let mut stored = Vec::new();
        packer.pack(&odd, &mut stored);
        assert_eq!(stored, odd);
        assert_eq!(unpacked(&packer, &stored), odd);
        assert_eq!(packer.words(), 0);
        assert_eq!(packer.gone(&stored), None);
    }

    #[test]
    fn words_no_stored_value_uses_are_forgotten() {
        let mut packer = Packer::new(3);
        let mut a = Vec::new();
        packer.pack(&value(b"u1", Some(1), None)[3..], &mut a);
        let mut b = Vec::new();
        packer.pack(&value(b"u2", Some(2), None)[3..], &mut b);
        packer.release(&a);
        assert_eq!(packer.words(), 2);
        packer.release(&b);
        assert_eq!(packer.words(), 0);
        assert!(packer.unpack(&b, &mut Vec::new()).is_none()); // its words are gone
    }

    #[test]
    fn with_every_code_taken_a_value_is_stored_as_it_is() {
        let mut packer = Packer::new(3);
        for k in 0..255u32 {
            assert!(packer.words.take(&k.to_le_bytes()).is_some());
        }
        let v = value(b"u1", Some(1), None);
        let mut stored = Vec::new();
        packer.pack(&v[3..], &mut stored); // "CN" takes the last code, "none" finds none
        assert_eq!(stored, &v[3..]);
        assert_eq!(packer.words(), 255); // "CN" given back
    }
}
