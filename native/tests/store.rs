//! `BlobTable` answers like a `HashMap<Vec<u8>, Vec<u8>>` through growth, in-place
//! and moved replacements, removals and compaction.

use std::collections::HashMap;

use wardstream_native::store::BlobTable;

/// A small deterministic generator (xorshift64*), so failures repeat.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, max: u64) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn put(table: &mut BlobTable, key: &[u8], value: &[u8]) -> Option<Vec<u8>> {
    table
        .put(key, value, <[u8]>::to_vec)
        .expect("far below the arena's limit")
}

fn pop(table: &mut BlobTable, key: &[u8]) -> Option<Vec<u8>> {
    table.pop(key, <[u8]>::to_vec)
}

fn same(table: &BlobTable, model: &HashMap<Vec<u8>, Vec<u8>>) {
    assert_eq!(table.len(), model.len());
    let listed: HashMap<Vec<u8>, Vec<u8>> = table
        .iter()
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    assert_eq!(listed.len(), model.len(), "iteration yields each key once");
    assert_eq!(&listed, model);
    for (key, value) in model {
        assert_eq!(table.get(key), Some(value.as_slice()));
    }
}

#[test]
fn it_answers_like_a_hash_map_through_many_random_operations() {
    let mut rng = Rng(0x5EED);
    let (mut table, mut model) = (BlobTable::new(), HashMap::new());
    for step in 0..200_000u32 {
        let key = format!("s-{}", rng.below(20_000)).into_bytes();
        match rng.below(10) {
            0..=5 => {
                // Mostly the same length as before (profile updates), sometimes not.
                let len = if rng.below(4) == 0 { 40 } else { 12 };
                let value = rng.bytes(len);
                assert_eq!(put(&mut table, &key, &value), model.insert(key, value));
            }
            6..=7 => assert_eq!(pop(&mut table, &key), model.remove(&key)),
            _ => assert_eq!(table.get(&key), model.get(&key).map(Vec::as_slice)),
        }
        if step % 50_000 == 0 {
            same(&table, &model);
        }
    }
    same(&table, &model);
    assert!(
        table.dead_bytes() < table.nbytes() / 2,
        "compacted when the dead share passed half"
    );
}

#[test]
fn odd_keys_and_values_are_entries_like_any_other() {
    let mut table = BlobTable::new();
    let big = vec![7u8; 100_000];
    let long_key = vec![b'k'; 300];
    assert_eq!(put(&mut table, b"", b"empty key"), None);
    assert_eq!(put(&mut table, b"a\0b", b""), None);
    assert_eq!(put(&mut table, &long_key, &big), None);
    assert_eq!(table.get(b""), Some(&b"empty key"[..]));
    assert_eq!(table.get(b"a\0b"), Some(&b""[..]));
    assert_eq!(table.get(b"a"), None);
    assert_eq!(table.get(&long_key), Some(big.as_slice()));
    assert_eq!(put(&mut table, &long_key, b"small"), Some(big));
    assert_eq!(table.get(&long_key), Some(&b"small"[..]));
    assert_eq!(table.len(), 3);
}

#[test]
fn a_key_that_is_part_of_another_is_not_confused_with_it() {
    let mut table = BlobTable::new();
    put(&mut table, b"kid-10", b"ten");
    put(&mut table, b"id-1", b"one");
    assert_eq!(table.get(b"kid-1"), None);
    assert_eq!(pop(&mut table, b"kid-1"), None);
    assert_eq!(pop(&mut table, b"kid-10"), Some(b"ten".to_vec()));
    assert_eq!(
        table.iter().collect::<Vec<_>>(),
        vec![(&b"id-1"[..], &b"one"[..])]
    );
}

#[test]
fn a_same_length_value_is_overwritten_in_place_and_a_longer_one_moves() {
    let mut table = BlobTable::new();
    put(&mut table, b"first", b"aaaa");
    put(&mut table, b"second", b"bbbb");
    assert_eq!(put(&mut table, b"first", b"cccc"), Some(b"aaaa".to_vec()));
    assert_eq!(table.dead_bytes(), 0);
    assert_eq!(put(&mut table, b"first", b"dddddd"), Some(b"cccc".to_vec()));
    assert!(
        table.dead_bytes() > 0,
        "the old record is left behind, dead"
    );
    // The last record grows without leaving dead space: it is cut off and appended.
    let dead = table.dead_bytes();
    put(&mut table, b"first", b"eeeeeeee");
    assert_eq!(table.dead_bytes(), dead);
    let order: Vec<_> = table.iter().map(|(k, _)| k.to_vec()).collect();
    assert_eq!(order, vec![b"second".to_vec(), b"first".to_vec()]);
}

#[test]
fn compaction_keeps_every_live_entry_and_frees_the_dead_space() {
    let mut rng = Rng(42);
    let (mut table, mut model) = (BlobTable::new(), HashMap::new());
    for i in 0..30_000u32 {
        let key = format!("subject-{i}").into_bytes();
        let value = rng.bytes(30);
        put(&mut table, &key, &value);
        model.insert(key, value);
    }
    for i in (0..30_000u32).step_by(3) {
        let key = format!("subject-{i}").into_bytes();
        assert_eq!(pop(&mut table, &key), model.remove(&key));
    }
    let before = table.nbytes();
    assert!(table.dead_bytes() > 0);
    table.compact();
    assert_eq!(table.dead_bytes(), 0);
    assert!(table.nbytes() < before);
    same(&table, &model);
    // Still a working table after it: updates, removals, inserts.
    for i in 0..30_000u32 {
        let key = format!("subject-{i}").into_bytes();
        let value = rng.bytes(30);
        assert_eq!(put(&mut table, &key, &value), model.insert(key, value));
    }
    same(&table, &model);
}

#[test]
fn an_empty_table_iterates_nothing_and_finds_nothing() {
    let mut table = BlobTable::new();
    assert!(table.is_empty());
    assert_eq!(table.iter().count(), 0);
    assert_eq!(table.get(b"x"), None);
    assert_eq!(pop(&mut table, b"x"), None);
    table.compact();
    assert!(table.is_empty());
}

#[test]
fn a_few_bytes_of_overhead_per_entry() {
    let mut table = BlobTable::new();
    let n = 100_000usize;
    for i in 0..n {
        put(
            &mut table,
            format!("subject-{i:08}").into_bytes().as_slice(),
            &[1u8; 20],
        );
    }
    let data = n * (16 + 20);
    let overhead = (table.nbytes() - data) as f64 / n as f64;
    // Arena growth by doubling and the index's load factor: well under a dict's 130 B.
    assert!(overhead < 40.0, "overhead {overhead:.1} bytes per entry");
}

/// A snapshot record: head byte, key (None: no key), value.
type SnapshotRecord<'a> = (u8, Option<&'a [u8]>, &'a [u8]);

/// A snapshot chunk as `wardstream/state/snapshot.py` writes it.
fn chunk(records: &[SnapshotRecord<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (head, key, value) in records {
        out.push(*head);
        match key {
            Some(k) => {
                out.extend_from_slice(&(k.len() as u32).to_le_bytes());
                out.extend_from_slice(k);
            }
            None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
        }
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        out.extend_from_slice(value);
    }
    out
}

#[test]
fn a_chunks_leading_run_of_stored_records_goes_into_the_table() {
    use wardstream_native::store::chunk::load_run;
    let data = chunk(&[
        (0x80, Some(b"a"), b"1"),
        (0x80, Some(b"b"), b""),
        (0x00, Some(b"c"), b"applied by the caller"),
        (0x80, Some(b"d"), b"after it: left too"),
    ]);
    let mut table = BlobTable::new();
    let run = load_run(&mut table, &data, 0x80, 0, load).unwrap();
    assert_eq!(run.loaded, 2);
    assert_eq!(
        data[run.stopped_at], 0x00,
        "stopped at the first other record"
    );
    assert_eq!(table.get(b"a"), Some(&b"1"[..]));
    assert_eq!(table.get(b"b"), Some(&b""[..]));
    assert_eq!(table.len(), 2);
    let again = load_run(&mut table, &data, 0x80, run.stopped_at, load).unwrap();
    assert_eq!(again.loaded, 0);
    assert_eq!(again.stopped_at, run.stopped_at);
}

#[test]
fn a_record_cut_short_or_without_a_key_is_left_to_the_caller() {
    use wardstream_native::store::chunk::load_run;
    let whole = chunk(&[(0x80, Some(b"a"), b"1"), (0x80, Some(b"b"), b"22")]);
    for cut in 0..whole.len() {
        let mut table = BlobTable::new();
        let run = load_run(&mut table, &whole[..cut], 0x80, 0, load).unwrap();
        let first = 1 + 4 + 1 + 4 + 1;
        assert_eq!(run.loaded, usize::from(cut >= first), "cut at {cut}");
        assert_eq!(run.stopped_at, if cut >= first { first } else { 0 });
    }
    let mut table = BlobTable::new();
    for odd in [
        chunk(&[(0x80, None, b"x")]),
        chunk(&[(0x80, Some(b"\xff\xfe"), b"x")]),
        chunk(&[(0x80, Some(b"a"), b"1"), (0x80, Some(b"a"), b"again")]),
    ] {
        let run = load_run(&mut table, &odd, 0x80, 0, load).unwrap();
        let skipped = &odd[run.stopped_at..];
        assert!(!skipped.is_empty(), "the odd record is left to the caller");
    }
    assert_eq!(
        table.get(b"a"),
        Some(&b"1"[..]),
        "a key held already is left"
    );
    assert_eq!(table.len(), 1);
}

fn load(
    table: &mut BlobTable,
    key: &[u8],
    value: &[u8],
) -> Result<(), wardstream_native::store::Full> {
    table.put(key, value, |_| ()).map(drop)
}
