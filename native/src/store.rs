//! `BlobTable`: bytes -> bytes for millions of small entries, a few bytes of overhead each.
//!
//! The state holds every subject's profile and consents: some 20-40 bytes of
//! key and value per subject, ten million subjects per worker. A `HashMap<Vec<u8>,
//! Vec<u8>>` would spend two allocations and 48 bytes of vectors on each; here
//! every entry is one record in a single arena (`Vec<u8>`) - a varint head
//! (`key length << 1 | dead`), a varint value length, the key, the value - and the
//! index is a SwissTable of `u32` arena offsets (5 bytes a slot). The index stores
//! no key and no hash: both are read back from the arena when needed (a lookup
//! compares 7 bits of the hash first, so it rarely reads a record that is not
//! its key).
//!
//! A value replaced by one of the same length is overwritten in place; otherwise
//! the old record is marked dead and a new one appended (or, when it was the
//! last record, cut off first). Once dead records hold half the arena, it is
//! compacted in place, each live record slid down and its offset updated,
//! so the arena never exceeds about twice the live data. Offsets are `u32`: one
//! table holds at most 4 GiB of records (about a hundred million subjects).
//!
//! Keys are hashed with SipHash under a per-table random key (std's
//! `RandomState`): subject ids come from outside, and chosen collisions must
//! not turn lookups linear.

pub mod chunk;

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;

/// Bytes of dead records below which the arena is never compacted (compaction
/// of a small table would cost more calls than it saves bytes).
const MIN_DEAD: usize = 64 * 1024;
/// The most keys `reserve` makes room for at once (about what a full arena holds).
const MAX_RESERVE: usize = 1 << 27;
/// The largest arena: every record starts at a `u32` offset.
pub const MAX_ARENA: usize = u32::MAX as usize;

/// The table cannot take the record: its arena would pass `MAX_ARENA`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

impl std::fmt::Display for Full {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the state table holds {MAX_ARENA} bytes of records, its most"
        )
    }
}

impl std::error::Error for Full {}

/// Where a record's parts lie in the arena.
#[derive(Debug, Clone, Copy)]
struct Record {
    key: usize,
    value: usize,
    end: usize,
    dead: bool,
}

impl Record {
    fn key<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        &arena[self.key..self.value]
    }
    fn value<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        &arena[self.value..self.end]
    }
}

/// Bytes -> bytes in one arena; see the module documentation.
#[derive(Debug, Default, Clone)]
pub struct BlobTable {
    arena: Vec<u8>,
    index: HashTable<u32>,
    hasher: RandomState,
    dead: usize,
    generation: u64,
    scratch: Vec<u8>, // `update`'s buffer for the value being made
}

impl BlobTable {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Bytes allocated: the arena's capacity and the index's table.
    pub fn nbytes(&self) -> usize {
        self.arena.capacity() + self.index.allocation_size()
    }

    /// Bytes of records in the arena (live and dead), of the arena's capacity, and of the index.
    pub fn footprint(&self) -> (usize, usize, usize) {
        (
            self.arena.len(),
            self.arena.capacity(),
            self.index.allocation_size(),
        )
    }

    /// Bytes of dead records in the arena, not yet compacted away.
    pub fn dead_bytes(&self) -> usize {
        self.dead
    }

    /// Counts the changes that move or cut records (a compaction, the last record
    /// cut off): an arena position taken before one may no longer start a record.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        let hash = self.hasher.hash_one(key);
        let arena = &self.arena;
        let off = self
            .index
            .find(hash, |&o| record(arena, o).key(arena) == key)?;
        Some(record(arena, *off).value(arena))
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` to `value`; `on_old` sees the value it had (before it is
    /// overwritten), and its result is returned. `Full` leaves the table as it was.
    pub fn put<R>(
        &mut self,
        key: &[u8],
        value: &[u8],
        on_old: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>, Full> {
        let mut old = None;
        self.update(key, |before, out| {
            old = before.map(on_old);
            out.extend_from_slice(value);
            true
        })?;
        Ok(old)
    }

    /// Sets `key` to the value `make` writes into its buffer, given the value `key`
    /// has now; `make` returning false leaves the table as it was. One lookup. Whether
    /// it was set; `Full` leaves the table as it was.
    pub fn update(
        &mut self,
        key: &[u8],
        make: impl FnOnce(Option<&[u8]>, &mut Vec<u8>) -> bool,
    ) -> Result<bool, Full> {
        if self.index.len() == self.index.capacity() {
            self.grow_index();
        }
        let hash = self.hasher.hash_one(key);
        let mut value = std::mem::take(&mut self.scratch);
        value.clear();
        let Self {
            arena,
            index,
            hasher,
            dead,
            generation,
            ..
        } = self;
        let entry = index.entry(
            hash,
            |&o| record(arena, o).key(arena) == key,
            |&o| hasher.hash_one(record(arena, o).key(arena)),
        );
        let old = match &entry {
            Entry::Occupied(e) => Some(record(arena, *e.get())),
            Entry::Vacant(_) => None,
        };
        if !make(old.map(|r| r.value(arena)), &mut value) {
            self.scratch = value;
            return Ok(false);
        }
        if arena.len() + record_size(key, &value) > MAX_ARENA {
            if self.dead == 0 {
                return Err(Full);
            }
            self.compact(); // then once more, with no dead space left to win
            return self.set(key, &value);
        }
        match (entry, old) {
            (Entry::Vacant(e), _) => {
                e.insert(append(arena, key, &value));
            }
            (Entry::Occupied(_), Some(rec)) if rec.end - rec.value == value.len() => {
                arena[rec.value..rec.end].copy_from_slice(&value);
            }
            (Entry::Occupied(mut e), Some(rec)) => {
                let start = *e.get() as usize;
                if rec.end == arena.len() {
                    arena.truncate(start); // the last record: cut off, no dead space
                    *generation += 1;
                } else {
                    arena[start] |= 1;
                    *dead += rec.end - start;
                }
                *e.get_mut() = append(arena, key, &value);
            }
            (Entry::Occupied(_), None) => unreachable!("an occupied entry has a record"),
        }
        self.scratch = value;
        self.maybe_compact();
        Ok(true)
    }

    /// Makes room in the index for `additional` more keys at once (at most
    /// `MAX_RESERVE`): one pass over the records now instead of a doubling every so
    /// often while they come (a fifth of a bulk load's time at ten million keys).
    pub fn reserve(&mut self, additional: usize) {
        let wanted = self.index.len() + additional.min(MAX_RESERVE);
        if wanted > self.index.capacity() {
            self.reindex(wanted);
        }
    }

    /// Gives back index room a `reserve` asked for and no keys came to use: once the
    /// index is less than half full (it never is after growing by itself), it is made
    /// again for the keys it holds.
    pub fn shrink_index(&mut self) {
        if self.index.capacity() > 2 * self.index.len().max(8) {
            self.reindex(self.index.len().max(8));
        }
    }

    /// Doubles the index.
    fn grow_index(&mut self) {
        self.reindex(2 * self.index.len().max(8));
    }

    /// Makes the index again for `capacity` keys, filled in arena order: each key is read
    /// once, in the order the records lie (hashbrown's own growth reads them in the old
    /// index's random order, a cache miss each: half of a bulk load's time).
    fn reindex(&mut self, capacity: usize) {
        let arena = &self.arena;
        let hash = |o: &u32| self.hasher.hash_one(record(arena, *o).key(arena));
        let mut index = HashTable::with_capacity(capacity);
        let mut pos = 0;
        while pos < arena.len() {
            let rec = record(arena, pos as u32);
            if !rec.dead {
                let off = pos as u32;
                index.insert_unique(hash(&off), off, hash);
            }
            pos = rec.end;
        }
        self.index = index;
    }

    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<bool, Full> {
        self.update(key, |_, out| {
            out.extend_from_slice(value);
            true
        })
    }

    /// Removes `key`; `on_old` sees the value it had, and its result is returned.
    pub fn pop<R>(&mut self, key: &[u8], on_old: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let hash = self.hasher.hash_one(key);
        let arena = &self.arena;
        let entry = self
            .index
            .find_entry(hash, |&o| record(arena, o).key(arena) == key)
            .ok()?;
        let (off, _) = entry.remove();
        let rec = record(&self.arena, off);
        let old = on_old(rec.value(&self.arena));
        let start = off as usize;
        if rec.end == self.arena.len() {
            self.arena.truncate(start);
            self.generation += 1;
        } else {
            self.arena[start] |= 1;
            self.dead += rec.end - start;
        }
        self.maybe_compact();
        Some(old)
    }

    /// The first live record at or after arena position `pos`: the position after
    /// it, its key and its value. Iterates in insertion order, dead records skipped.
    pub fn next_from(&self, mut pos: usize) -> Option<(usize, &[u8], &[u8])> {
        let arena = &self.arena;
        while pos < arena.len() {
            let rec = record(arena, pos as u32);
            if !rec.dead {
                return Some((rec.end, rec.key(arena), rec.value(arena)));
            }
            pos = rec.end;
        }
        None
    }

    /// Every (key, value), in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let mut pos = 0;
        std::iter::from_fn(move || {
            let (next, key, value) = self.next_from(pos)?;
            pos = next;
            Some((key, value))
        })
    }

    fn maybe_compact(&mut self) {
        if self.dead >= MIN_DEAD && self.dead * 2 >= self.arena.len() {
            self.compact();
        }
    }

    /// Slides every live record down over the dead ones and gives the freed
    /// memory back. Offsets change: the iterators' positions are void.
    pub fn compact(&mut self) {
        let Self {
            arena,
            index,
            hasher,
            ..
        } = self;
        let (mut read, mut write) = (0usize, 0usize);
        while read < arena.len() {
            let rec = record(arena, read as u32);
            let size = rec.end - read;
            if !rec.dead {
                if read != write {
                    let hash = hasher.hash_one(rec.key(arena));
                    let slot = index.find_mut(hash, |&o| o as usize == read);
                    *slot.expect("a live record is in the index") = write as u32;
                    arena.copy_within(read..rec.end, write);
                }
                write += size;
            }
            read += size;
        }
        arena.truncate(write);
        arena.shrink_to(write + write / 8);
        self.dead = 0;
        self.generation += 1;
    }
}

fn record_size(key: &[u8], value: &[u8]) -> usize {
    varint_len(key.len() << 1) + varint_len(value.len()) + key.len() + value.len()
}

/// Appends a live record (the caller checked that it fits); its offset.
fn append(arena: &mut Vec<u8>, key: &[u8], value: &[u8]) -> u32 {
    let off = arena.len();
    debug_assert!(off + record_size(key, value) <= MAX_ARENA);
    put_varint(arena, key.len() << 1);
    put_varint(arena, value.len());
    arena.extend_from_slice(key);
    arena.extend_from_slice(value);
    off as u32
}

fn record(arena: &[u8], off: u32) -> Record {
    let (head, i) = read_varint(arena, off as usize);
    let (value_len, key) = read_varint(arena, i);
    let value = key + (head >> 1);
    Record {
        key,
        value,
        end: value + value_len,
        dead: head & 1 == 1,
    }
}

fn read_varint(arena: &[u8], mut i: usize) -> (usize, usize) {
    let (mut n, mut shift) = (0usize, 0);
    loop {
        let b = arena[i];
        i += 1;
        n |= ((b & 0x7F) as usize) << shift;
        if b < 0x80 {
            return (n, i);
        }
        shift += 7;
    }
}

fn put_varint(arena: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        arena.push((n as u8) | 0x80);
        n >>= 7;
    }
    arena.push(n as u8);
}

fn varint_len(n: usize) -> usize {
    (usize::BITS - (n | 1).leading_zeros()).div_ceil(7) as usize
}
