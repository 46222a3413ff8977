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
use crate::wire::{index, long, string, time};

/// The schema's enums and the data categories the domain knows, as the Python
/// codec reads them from the schema and `DataCategory`.
#[derive(Debug, Clone)]
pub struct Shape {
    pub granted_by: usize,
    pub actions: usize,
    /// The symbol number of `GRANTED`.
    pub granted: usize,
    pub categories: Vec<Vec<u8>>,
}

/// A grant read: the subject id's bytes and the expiry (ms since the epoch), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub subject: Range<usize>,
    pub expires_ms: Option<i64>,
}

/// Reads a whole value; None for anything but a usual grant with a non-empty subject id.
pub fn read_grant(v: &[u8], shape: &Shape) -> Option<Grant> {
    let i = string(v, 0)?.end; // consent_id
    let subject = string(v, i)?;
    if subject.is_empty() {
        return None;
    }
    let mut i = subject.end;
    index(v, i, shape.granted_by)?;
    i += 1;
    i = match index(v, i, 2)? {
        0 => i + 1,
        _ => string(v, i + 1)?.end, // guardian_ref
    };
    if index(v, i, shape.actions)? != shape.granted {
        return None;
    }
    i = strings(v, i + 1, |_| true)?; // purposes
    i = strings(v, i, |name| shape.categories.iter().any(|c| c == name))?;
    i = strings(v, i, |_| true)?; // third_party_recipients
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
    (string(v, i)?.end == v.len()).then_some(Grant {
        subject,
        expires_ms,
    })
}

/// Appends a grant `read_grant` reads to its subject's ledger, as `LedgerMap.add`
/// does (a two-byte length, then the value); false, storing nothing, for anything
/// else (and a value longer than a ledger entry holds). A grant with an expiry is
/// packed onto `expiring` as `ExpiryIndex` packs it: microseconds (`i64`) and the
/// id's length (`u32`), little-endian, then the id.
pub fn store_grant(
    table: &mut BlobTable,
    v: &[u8],
    shape: &Shape,
    expiring: &mut Vec<u8>,
) -> Result<bool, Full> {
    let (Ok(size), Some(g)) = (u16::try_from(v.len()), read_grant(v, shape)) else {
        return Ok(false);
    };
    let key = &v[g.subject];
    table.update(key, |before, out| {
        out.extend_from_slice(before.unwrap_or_default());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(v);
        true
    })?;
    if let Some(ms) = g.expires_ms {
        expiring.extend_from_slice(&(ms * 1000).to_le_bytes());
        expiring.extend_from_slice(&(key.len() as u32).to_le_bytes());
        expiring.extend_from_slice(key);
    }
    Ok(true)
}

/// An array of strings in blocks of 1 to 63 items, each one `ok` takes; the index after it.
fn strings(v: &[u8], mut i: usize, ok: impl Fn(&[u8]) -> bool) -> Option<usize> {
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
            if !ok(&v[s.clone()]) {
                return None;
            }
            i = s.end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::BlobTable;

    fn shape() -> Shape {
        Shape {
            granted_by: 2,
            actions: 3,
            granted: 0,
            categories: vec![b"identifier".to_vec(), b"content".to_vec()],
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
    fn a_usual_grant_is_read() {
        let v = grant(0, b"content", true);
        let g = read_grant(&v, &shape()).unwrap();
        assert_eq!(&v[g.subject], b"kid-1");
        assert_eq!(g.expires_ms, Some(1 << 35));
        assert_eq!(
            read_grant(&grant(0, b"content", false), &shape())
                .unwrap()
                .expires_ms,
            None
        );
    }

    #[test]
    fn anything_but_a_usual_grant_is_left_to_python() {
        assert!(read_grant(&grant(1, b"content", false), &shape()).is_none()); // withdrawn
        assert!(read_grant(&grant(2, b"content", false), &shape()).is_none()); // refused
        assert!(read_grant(&grant(0, b"teleport", false), &shape()).is_none());
        let v = grant(0, b"content", false);
        assert!(read_grant(&v[..v.len() - 1], &shape()).is_none());
        let mut longer = v.clone();
        longer.push(0);
        assert!(read_grant(&longer, &shape()).is_none());
    }

    #[test]
    fn grants_are_appended_to_the_ledger_and_their_expiry_packed() {
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
        assert_eq!(table.get(b"kid-1"), Some(&ledger[..]));
        let mut packed = ((1i64 << 35) * 1000).to_le_bytes().to_vec();
        packed.extend(5u32.to_le_bytes());
        packed.extend(b"kid-1");
        assert_eq!(expiring, packed);
        let withdrawn = grant(1, b"content", false);
        assert_eq!(
            store_grant(&mut table, &withdrawn, &shape(), &mut expiring),
            Ok(false)
        );
        assert_eq!(table.get(b"kid-1"), Some(&ledger[..]));
    }
}
