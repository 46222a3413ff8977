//! The usual encoding of a `ward.consents` grant (a `ConsentEvent` in Avro), read
//! without Python, so a full read of the state can store ledgers in bulk.
//!
//! `wardstream/state/consent_codec.py`'s quick path, narrowed to grants: it says
//! yes only to a `GRANTED` event that path reads itself, and None to anything
//! else (a withdrawal or refusal, which the Python side must see: they trigger
//! deletions; anything unusual, which the full decoder judges). It finds the
//! subject id and the expiry; it decides nothing.
//!
//! Fields, in the schema's order: `consent_id` string, `subject_id` string,
//! `granted_by` enum, `guardian_ref` [null, string], `action` enum, `purposes`,
//! `data_categories` and `third_party_recipients` arrays of strings,
//! `public_disclosure` boolean, `policy_version` int, `effective_at`
//! timestamp-millis, `expires_at` [null, timestamp-millis], `evidence` string.

use std::ops::Range;

use crate::store::{BlobTable, Full};
use crate::wire::{index, long, put_long, string, time};

/// The schema's enums and the data categories the domain knows, as the Python
/// codec reads them from the schema and `DataCategory`.
#[derive(Debug, Clone)]
pub struct Shape {
    pub granted_by: usize,
    pub actions: usize,
    /// The symbol number of `GRANTED`.
    pub granted: usize,
    pub categories: Vec<Vec<u8>>,
    /// The purposes the operator declares (`policy.purposes`); others are kept spelled out.
    pub purposes: Vec<Vec<u8>>,
}

/// Where a usual event's parts lie, what it is and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `subject_id` field, its length included.
    pub subject_field: Range<usize>,
    /// The subject id's bytes.
    pub subject: Range<usize>,
    /// The `purposes` array, whole.
    pub purposes: Range<usize>,
    /// The `data_categories` array, whole.
    pub categories: Range<usize>,
    pub granted: bool,
    pub expires_ms: Option<i64>,
}

/// Reads a whole value; None for anything unusual and for an empty subject id.
pub fn read(v: &[u8], shape: &Shape) -> Option<Event> {
    let i = string(v, 0)?.end; // consent_id
    let subject = string(v, i)?;
    if subject.is_empty() {
        return None;
    }
    let subject_field = i..subject.end;
    let mut i = subject.end;
    index(v, i, shape.granted_by)?;
    i += 1;
    i = match index(v, i, 2)? {
        0 => i + 1,
        _ => string(v, i + 1)?.end, // guardian_ref
    };
    let granted = index(v, i, shape.actions)? == shape.granted;
    let purposes = i + 1..strings(v, i + 1, |_| Some(()))?;
    i = purposes.end;
    let start = i;
    i = strings(v, i, |name| code_of(&shape.categories, name).map(|_| ()))?;
    let categories = start..i;
    i = strings(v, i, |_| Some(()))?; // third_party_recipients
    if *v.get(i)? > 1 {
        return None; // public_disclosure
    }
    let (version, j) = long(v, i + 1)?;
    i32::try_from(version).ok()?;
    let (_, mut i) = time(v, j)?; // effective_at
    let expires_ms = match index(v, i, 2)? {
        0 => {
            i += 1;
            None
        }
        _ => {
            let (ms, j) = time(v, i + 1)?;
            i = j;
            Some(ms)
        }
    };
    (string(v, i)?.end == v.len()).then_some(Event {
        subject_field,
        subject,
        purposes,
        categories,
        granted,
        expires_ms,
    })
}

/// The first byte of a packed event: no stored Avro value starts with it (a string
/// length whose first varint byte is 0xFF is negative).
pub const PACKED: u8 = 0xFF;

/// Writes `v` (which `read` read as `e`) packed: `PACKED`, the value without its
/// subject id (the ledger's key says it), its purposes and data categories each as
/// a count and one byte per name (their numbers in `shape.purposes` and
/// `shape.categories`) instead of the names. Purposes the operator does not declare
/// stay spelled out: `SPELLED` and the array as it is. A third to a half of a usual
/// event. False, writing nothing, past 127 purposes or 255 categories.
pub fn pack(v: &[u8], e: &Event, shape: &Shape, out: &mut Vec<u8>) -> bool {
    let start = out.len();
    out.push(PACKED);
    out.extend_from_slice(&v[..e.subject_field.start]);
    out.extend_from_slice(&v[e.subject_field.end..e.purposes.start]);
    let coded = codes(v, e.purposes.start, &shape.purposes, 127, out);
    if !coded {
        out.push(SPELLED);
        out.extend_from_slice(&v[e.purposes.clone()]);
    }
    if !codes(v, e.categories.start, &shape.categories, 255, out) {
        out.truncate(start);
        return false;
    }
    out.extend_from_slice(&v[e.categories.end..]);
    true
}

/// The mark of purposes kept spelled out in a packed event (a count is at most 127).
const SPELLED: u8 = 0x80;

/// Writes the string array at `v[i]` as a count and the numbers of its names in
/// `names`; false, writing nothing, for a name not there or more than `most` names.
fn codes(v: &[u8], i: usize, names: &[Vec<u8>], most: usize, out: &mut Vec<u8>) -> bool {
    let count = out.len();
    out.push(0);
    let coded = strings(v, i, |name| {
        out.push(code_of(names, name)?);
        Some(())
    });
    let n = out.len() - count - 1;
    if coded.is_none() || n > most {
        out.truncate(count);
        return false;
    }
    out[count] = n as u8;
    true
}

/// Writes, as one Avro block, the names a count and its numbers at `p[i]` stand
/// for; the index after them.
fn names(p: &[u8], i: usize, names: &[Vec<u8>], out: &mut Vec<u8>) -> Option<usize> {
    let n = *p.get(i)? as usize;
    let codes = p.get(i + 1..i + 1 + n)?;
    if n > 0 {
        put_long(out, n as i64);
        for &code in codes {
            let name = names.get(code as usize)?;
            put_long(out, name.len() as i64);
            out.extend_from_slice(name);
        }
    }
    out.push(0);
    Some(i + 1 + n)
}

/// Writes the Avro value of a `pack`ed event of `subject`: it decodes to the event
/// packed (the purposes and categories each in one block). None for bytes `pack` did
/// not write.
pub fn unpack(p: &[u8], subject: &[u8], shape: &Shape, out: &mut Vec<u8>) -> Option<()> {
    let v = p.strip_prefix(&[PACKED])?;
    let id = string(v, 0)?.end;
    let mut i = id + 1; // granted_by
    index(v, id, shape.granted_by)?;
    i = match index(v, i, 2)? {
        0 => i + 1,
        _ => string(v, i + 1)?.end,
    };
    index(v, i, shape.actions)?;
    out.extend_from_slice(&v[..id]);
    put_long(out, subject.len() as i64);
    out.extend_from_slice(subject);
    out.extend_from_slice(&v[id..=i]);
    i += 1;
    i = if *v.get(i)? == SPELLED {
        let end = strings(v, i + 1, |_| Some(()))?;
        out.extend_from_slice(&v[i + 1..end]);
        end
    } else {
        names(v, i, &shape.purposes, out)?
    };
    i = names(v, i, &shape.categories, out)?;
    out.extend_from_slice(&v[i..]);
    Some(())
}

/// A ledger as `LedgerMap` stores it (entries of a two-byte length and an event, Avro
/// or packed), with every packed event unpacked; None for a malformed ledger.
pub fn unpack_ledger(stored: &[u8], subject: &[u8], shape: &Shape) -> Option<Vec<u8>> {
    let (mut out, mut event, mut i) = (Vec::with_capacity(2 * stored.len()), Vec::new(), 0);
    while i < stored.len() {
        let size = u16::from_le_bytes([*stored.get(i)?, *stored.get(i + 1)?]) as usize;
        let entry = stored.get(i + 2..i + 2 + size)?;
        i += 2 + size;
        if entry.first() != Some(&PACKED) {
            out.extend_from_slice(&stored[i - 2 - size..i]);
            continue;
        }
        event.clear();
        unpack(entry, subject, shape, &mut event)?;
        out.extend_from_slice(&u16::try_from(event.len()).ok()?.to_le_bytes());
        out.extend_from_slice(&event);
    }
    Some(out)
}

/// The event `v` as a ledger entry: a two-byte length, then the event packed when
/// `read` reads it (else as it is); None when it is longer than an entry holds, or
/// when it cannot be packed and starts as a packed one would (no value the decoders
/// accept does: the caller keeps such an event some other way).
pub fn entry(v: &[u8], shape: &Shape, out: &mut Vec<u8>) -> Option<()> {
    let at = out.len();
    out.extend_from_slice(&[0, 0]);
    let packed = read(v, shape).is_some_and(|e| pack(v, &e, shape, out));
    if !packed {
        if v.first() == Some(&PACKED) {
            out.truncate(at);
            return None;
        }
        out.extend_from_slice(v);
    }
    let Ok(size) = u16::try_from(out.len() - at - 2) else {
        out.truncate(at);
        return None;
    };
    out[at..at + 2].copy_from_slice(&size.to_le_bytes());
    Some(())
}

/// Appends a usual grant (`read`) to its subject's ledger, packed, as `LedgerMap.add`
/// does; false, storing nothing, for anything else (withdrawals and refusals, which
/// the Python side must see: they trigger deletions). A grant with an expiry is
/// packed onto `expiring` as `ExpiryIndex` packs it: microseconds (`i64`) and the
/// id's length (`u32`), little-endian, then the id.
pub fn store_grant(
    table: &mut BlobTable,
    v: &[u8],
    shape: &Shape,
    expiring: &mut Vec<u8>,
) -> Result<bool, Full> {
    let Some(e) = read(v, shape).filter(|e| e.granted) else {
        return Ok(false);
    };
    let key = &v[e.subject.clone()];
    let stored = table.update(key, |before, out| {
        out.extend_from_slice(before.unwrap_or_default());
        entry(v, shape, out).is_some()
    })?;
    if let (true, Some(ms)) = (stored, e.expires_ms) {
        expiring.extend_from_slice(&(ms * 1000).to_le_bytes());
        expiring.extend_from_slice(&(key.len() as u32).to_le_bytes());
        expiring.extend_from_slice(key);
    }
    Ok(stored)
}

/// A name's number in `names`.
fn code_of(names: &[Vec<u8>], name: &[u8]) -> Option<u8> {
    let k = names.iter().position(|c| c == name)?;
    u8::try_from(k).ok()
}

/// An array of strings in blocks of 1 to 63 items, each one `each` takes; the index after it.
fn strings(v: &[u8], mut i: usize, mut each: impl FnMut(&[u8]) -> Option<()>) -> Option<usize> {
    loop {
        let n = *v.get(i)?;
        i += 1;
        if n == 0 {
            return Some(i);
        }
        if n & 0x81 != 0 {
            return None;
        }
        for _ in 0..n >> 1 {
            let s = string(v, i)?;
            each(&v[s.clone()])?;
            i = s.end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> Shape {
        Shape {
            granted_by: 2,
            actions: 3,
            granted: 0,
            categories: vec![b"identifier".to_vec(), b"content".to_vec()],
            purposes: vec![b"analytics".to_vec(), b"learning".to_vec()],
        }
    }

    fn text(s: &[u8]) -> Vec<u8> {
        let mut v = vec![(s.len() * 2) as u8];
        v.extend_from_slice(s);
        v
    }

    fn grant(action: u8, category: &[u8], expires: bool) -> Vec<u8> {
        let mut v = text(b"c1");
        v.extend(text(b"kid-1"));
        v.push(0); // GUARDIAN
        v.push(2);
        v.extend(text(b"g1"));
        v.push(action * 2);
        v.extend([2]);
        v.extend(text(b"learning"));
        v.push(0);
        v.extend([2]);
        v.extend(text(category));
        v.push(0);
        v.push(0); // no recipients
        v.push(0); // not public
        v.push(2); // policy version 1
        v.extend([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]); // effective_at
        if expires {
            v.extend([2, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02]);
        } else {
            v.push(0);
        }
        v.extend(text(b"form-7"));
        v
    }

    #[test]
    fn a_usual_event_is_read() {
        let v = grant(0, b"content", true);
        let e = read(&v, &shape()).unwrap();
        assert_eq!(&v[e.subject.clone()], b"kid-1");
        assert_eq!(&v[e.subject_field.clone()], b"\x0akid-1");
        assert!(e.granted);
        assert_eq!(e.expires_ms, Some(1 << 35));
        let withdrawn = read(&grant(1, b"content", false), &shape()).unwrap();
        assert!(!withdrawn.granted && withdrawn.expires_ms.is_none());
    }

    #[test]
    fn anything_unusual_is_left_to_python() {
        assert!(read(&grant(0, b"teleport", false), &shape()).is_none());
        assert!(read(&grant(3, b"content", false), &shape()).is_none()); // no such action
        let v = grant(0, b"content", false);
        assert!(read(&v[..v.len() - 1], &shape()).is_none());
        let mut longer = v.clone();
        longer.push(0);
        assert!(read(&longer, &shape()).is_none());
    }

    #[test]
    fn a_packed_event_unpacks_to_its_value() {
        for v in [grant(0, b"content", true), grant(1, b"identifier", false)] {
            let (mut packed, mut back) = (Vec::new(), Vec::new());
            assert!(pack(
                &v,
                &read(&v, &shape()).unwrap(),
                &shape(),
                &mut packed
            ));
            assert!(packed.len() < v.len() && packed[0] == PACKED);
            unpack(&packed, b"kid-1", &shape(), &mut back).unwrap();
            assert_eq!(back, v);
        }
        let mut out = Vec::new();
        assert!(unpack(b"\xff\x02", b"kid-1", &shape(), &mut out).is_none()); // cut short
    }

    #[test]
    fn purposes_the_operator_does_not_declare_stay_spelled_out() {
        let v = grant(0, b"content", false);
        let at = v.windows(9).position(|w| w == b"\x10learning").unwrap();
        let mut odd = v.clone();
        odd[at + 1..at + 9].copy_from_slice(b"research");
        let (mut declared, mut spelled, mut back) = (Vec::new(), Vec::new(), Vec::new());
        assert!(pack(
            &v,
            &read(&v, &shape()).unwrap(),
            &shape(),
            &mut declared
        ));
        assert!(pack(
            &odd,
            &read(&odd, &shape()).unwrap(),
            &shape(),
            &mut spelled
        ));
        assert!(!declared.windows(8).any(|w| w == b"learning"));
        assert!(spelled.windows(8).any(|w| w == b"research"));
        unpack(&spelled, b"kid-1", &shape(), &mut back).unwrap();
        assert_eq!(back, odd);
    }

    #[test]
    fn grants_are_appended_to_the_ledger_packed_and_their_expiry_noted() {
        let (mut table, mut expiring) = (BlobTable::new(), Vec::new());
        let (first, second) = (grant(0, b"content", false), grant(0, b"identifier", true));
        assert_eq!(
            store_grant(&mut table, &first, &shape(), &mut expiring),
            Ok(true)
        );
        assert!(expiring.is_empty());
        assert_eq!(
            store_grant(&mut table, &second, &shape(), &mut expiring),
            Ok(true)
        );
        let mut ledger = (first.len() as u16).to_le_bytes().to_vec();
        ledger.extend(&first);
        ledger.extend((second.len() as u16).to_le_bytes());
        ledger.extend(&second);
        let stored = table.get(b"kid-1").unwrap();
        assert!(stored.len() < ledger.len());
        assert_eq!(
            unpack_ledger(stored, b"kid-1", &shape()),
            Some(ledger.clone())
        );
        let mut packed = ((1i64 << 35) * 1000).to_le_bytes().to_vec();
        packed.extend(5u32.to_le_bytes());
        packed.extend(b"kid-1");
        assert_eq!(expiring, packed);
        let withdrawn = grant(1, b"content", false);
        assert_eq!(
            store_grant(&mut table, &withdrawn, &shape(), &mut expiring),
            Ok(false)
        );
        assert_eq!(
            unpack_ledger(table.get(b"kid-1").unwrap(), b"kid-1", &shape()),
            Some(ledger)
        );
    }

    #[test]
    fn an_unpackable_event_that_looks_packed_is_refused() {
        let mut out = vec![7];
        assert!(entry(b"\xff\x00rest", &shape(), &mut out).is_none());
        assert_eq!(out, [7]);
        assert!(entry(b"\x00rest", &shape(), &mut out).is_some()); // kept as it is
        assert_eq!(out, [7, 5, 0, 0, b'r', b'e', b's', b't']);
    }

    #[test]
    fn a_ledger_of_avro_entries_is_left_as_it_is() {
        let v = grant(0, b"content", false);
        let mut ledger = (v.len() as u16).to_le_bytes().to_vec();
        ledger.extend(&v);
        assert_eq!(
            unpack_ledger(&ledger, b"kid-1", &shape()),
            Some(ledger.clone())
        );
        assert_eq!(unpack_ledger(&ledger[..3], b"kid-1", &shape()), None);
    }
}
