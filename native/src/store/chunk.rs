//! A state snapshot's stored-form profiles, straight into the table.
//!
//! Most of a snapshot (`wardstream/state/snapshot.py`) is profiles in the store's
//! own form, which a restore only has to put back: no hook runs for them. Parsing
//! and inserting them here, one chunk at a time, spares the Python loop that
//! would make two bytes objects and four calls per record. The format, as
//! `snapshot.py` writes it: `u8 head | u32 LE key length (0xFFFFFFFF: none) | key |
//! u32 LE value length | value`.

use super::{BlobTable, Full};

const NO_KEY: u32 = u32::MAX;

/// Where `load_run` stopped, and how many records it put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub stopped_at: usize,
    pub loaded: usize,
}

/// Puts the records of `chunk` from `start` on whose head byte is `head`, in
/// order, into `table`, each with `put` (which may store the value in another
/// form, as long as it holds the same). Stops at the first record with another head, cut short,
/// without a key, with a key that is not UTF-8 or that the table holds already,
/// and leaves it (and everything after it) to the caller, which reads and judges
/// it record by record as before.
pub fn load_run(
    table: &mut BlobTable,
    chunk: &[u8],
    head: u8,
    start: usize,
    mut put: impl FnMut(&mut BlobTable, &[u8], &[u8]) -> Result<(), Full>,
) -> Result<Run, Full> {
    let mut run = Run {
        stopped_at: start,
        loaded: 0,
    };
    while let Some((key, value, end)) = record_at(chunk, run.stopped_at, head) {
        if std::str::from_utf8(key).is_err() || table.contains(key) {
            break;
        }
        put(table, key, value)?;
        run.stopped_at = end;
        run.loaded += 1;
    }
    Ok(run)
}

/// The key, value and end of the whole, keyed record at `at` with this head.
fn record_at(chunk: &[u8], at: usize, head: u8) -> Option<(&[u8], &[u8], usize)> {
    if *chunk.get(at)? != head {
        return None;
    }
    let key_len = u32_at(chunk, at + 1)?;
    if key_len == NO_KEY {
        return None;
    }
    let key_start = at + 5;
    let key_end = key_start.checked_add(key_len as usize)?;
    let value_len = u32_at(chunk, key_end)? as usize;
    let value_start = key_end + 4;
    let value_end = value_start.checked_add(value_len)?;
    if value_end > chunk.len() {
        return None;
    }
    Some((
        &chunk[key_start..key_end],
        &chunk[value_start..value_end],
        value_end,
    ))
}

fn u32_at(chunk: &[u8], at: usize) -> Option<u32> {
    let bytes = chunk.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}
