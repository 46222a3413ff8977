//! The lane: which events of a batch pass without the Python path, decided by a table
//! the Python policy compiled.
//!
//! The table holds, per subject id, the event times `[from, until)` (epoch
//! microseconds) over which `wardstream.policy.decide` passes that subject's events in
//! one pipeline with one decision, whatever fields they hold, and a code naming that
//! decision (a u32 from 1; the Python side keeps the decisions: a child's names its
//! consent, so there is one per consented child). An adult's entry runs
//! from adulthood on; a consented child's is `held`: its events must also be past the
//! consent-consistent hold (`ready`). Nothing of the law is here: an event passes
//! when its subject is in the table, its time is in the entry's interval and, for a
//! held entry, it is ready and no earlier event of its subject waits. A held entry's
//! event that must wait (not ready, or behind a waiting one) is *hinted*: handed to the
//! Python path with its code, which keeps it undecoded until it is past the hold and
//! then sends it with that code unless the subject's state changed meanwhile; its
//! subject is then *waiting* (all its events are hinted, in order) until the Python
//! side says none waits (`Table::unwait`). Every other event (no entry, outside the
//! interval, undecodable) gets code 0 and takes the Python path, and a held subject's
//! later events of the batch wait behind it. The Python side fills entries from its own
//! decisions and drops a subject's entry whenever its state changes.

use std::collections::{HashMap, HashSet};

use crate::locate::{Locator, SubjectId};
use crate::shape::Shape;

/// One subject's entry: its events in `[from, until)` get `code`; `held`: a child's;
/// `shape` (from 1; 0: none): the code depends on the fields an event holds, and such
/// fields may be removed (`crate::shape`; `code` is then the code of an event that holds
/// none of them); `aside`: the event does not pass, it takes the Python path with its
/// code (a quarantine or drop the Python side carries out without deciding again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub from: i64,
    pub until: i64,
    pub code: u32,
    pub held: bool,
    pub shape: u32,
    pub aside: bool,
}

impl Entry {
    /// The code for an event at `micros`, or 0 outside the entry's interval (whether a
    /// held entry's event may pass now is `screen`'s: see `ready`).
    pub fn code_at(&self, micros: i64) -> u32 {
        if self.from <= micros && micros < self.until {
            self.code
        } else {
            0
        }
    }
}

/// Subject id -> entry, the shapes entries name, and the subjects with an event waiting
/// in the Python path (independent of the entries: the order of a subject's events
/// holds whether or not it has an entry).
#[derive(Debug, Default, Clone)]
pub struct Table {
    map: HashMap<String, Entry>,
    shapes: Vec<Shape>,
    waiting: HashSet<String>,
}

impl Table {
    pub fn set(&mut self, subject: &str, entry: Entry) {
        assert!(entry.code > 0, "code 0 means 'not in the lane'");
        assert!(entry.shape as usize <= self.shapes.len(), "no such shape");
        self.map.insert(subject.to_owned(), entry);
    }

    /// How many shapes there are (entries name them 1..=shapes).
    pub fn shapes(&self) -> usize {
        self.shapes.len()
    }

    /// Add a shape; entries name it by the number returned (from 1).
    pub fn add_shape(&mut self, shape: Shape) -> u32 {
        self.shapes.push(shape);
        self.shapes.len() as u32
    }

    pub fn discard(&mut self, subject: &str) -> bool {
        self.map.remove(subject).is_some()
    }

    /// Every entry and shape (not the waiting subjects: their events still wait).
    pub fn clear(&mut self) {
        self.map.clear();
        self.shapes.clear();
    }

    /// `subject` has an event waiting: its events are hinted until `unwait`.
    pub fn wait(&mut self, subject: &str) {
        if !self.waiting.contains(subject) {
            self.waiting.insert(subject.to_owned());
        }
    }

    pub fn unwait(&mut self, subject: &str) -> bool {
        self.waiting.remove(subject)
    }

    pub fn waits(&self, subject: &str) -> bool {
        self.waiting.contains(subject)
    }

    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn get(&self, subject: &str) -> Option<&Entry> {
        self.map.get(subject)
    }

    /// The decision code for an event of `subject` at `micros`, or 0.
    pub fn code(&self, subject: &str, micros: i64) -> u32 {
        self.map.get(subject).map_or(0, |e| e.code_at(micros))
    }
}

/// When a held entry's event is past the hold: at or before `cutoff` (epoch micros;
/// the caller gives `i64::MAX` when the batch arrived before it, `i64::MIN` when no
/// event may pass the hold now).
fn ready(micros: i64, cutoff: i64) -> bool {
    micros <= cutoff
}

/// One subject's events in the lane within a batch: the first and last event time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub subject: String,
    pub first: i64,
    pub last: i64,
}

/// A record handed to the Python path with its code (its code in `Screen::codes` is 0):
/// an `aside` entry's, carried out at once, or (`waits`) a held entry's that waits (see
/// the module doc), with the value to send instead of the original when its shape
/// removed fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hinted {
    pub index: usize,
    pub code: u32,
    pub subject: String,
    pub micros: i64,
    pub waits: bool,
    pub value: Option<Vec<u8>>,
}

/// A batch screened: per record its code (0: the Python path); per (partition, code)
/// how many passed; per subject the span of its passed events (the compensation
/// log's input), in first-seen order; and each passed record of a held entry (index,
/// span index): a child's event has its own audit record; and the value to send instead
/// of the original for each passed record a shape removed fields from (index, bytes);
/// the hinted records; and the first event (subject, event time) of each subject
/// without an entry, so that the Python side may compile entries, and the index of
/// every record of such subjects, which it then screens again (`only`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Screen {
    pub codes: Vec<u32>,
    pub counts: Vec<(i32, u32, u32)>,
    pub spans: Vec<Span>,
    pub held: Vec<(usize, usize)>,
    pub redacted: Vec<(usize, Vec<u8>)>,
    pub hinted: Vec<Hinted>,
    pub unknown: Vec<(String, i64)>,
    pub unplaced: Vec<usize>,
}

/// Screen a batch. `values[i]` is None for a record without a value; `partitions`
/// and `timestamps` (epoch ms) are per record; `cutoff` says which events are past
/// the hold (see `ready`); `only`: the indices to screen, in order (the others get
/// code 0 and nothing else: records of subjects without an entry in an earlier screen
/// of the batch, whose entries were compiled since; a subject's outcome depends on its
/// own records only). The subjects of hinted records that wait are marked waiting.
pub fn screen(
    locator: &Locator,
    table: &mut Table,
    values: &[Option<&[u8]>],
    timestamps: &[Option<i64>],
    partitions: &[i32],
    cutoff: i64,
    only: Option<&[usize]>,
) -> Screen {
    let mut out = Screen {
        codes: vec![0; values.len()],
        ..Screen::default()
    };
    let all: Vec<usize>;
    let indices = match only {
        Some(indices) => indices,
        None => {
            all = (0..values.len()).collect();
            &all
        }
    };
    let mut counts: HashMap<(i32, u32), u32> = HashMap::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    // held subjects whose events of this batch wait, in the Python path or hinted
    let mut behind: HashSet<String> = HashSet::new();
    let mut unknown: HashSet<String> = HashSet::new();
    for &i in indices {
        let value = &values[i];
        let number;
        let found = value.and_then(|bytes| locator.locate(bytes, timestamps[i]).ok());
        let (subject, micros) = match found {
            Some(located) => match located.subject {
                Some(SubjectId::Text(text)) => (text, located.micros),
                Some(SubjectId::Int(n)) => {
                    number = n.to_string();
                    (number.as_str(), located.micros)
                }
                None => ("", located.micros), // from the key: not in the lane
            },
            None => ("", 0),
        };
        let entry = if subject.is_empty() {
            None
        } else {
            table.get(subject) // one lookup per record
        };
        let Some(e) = entry else {
            if !subject.is_empty() {
                if !unknown.contains(subject) {
                    unknown.insert(subject.to_owned());
                    out.unknown.push((subject.to_owned(), micros));
                }
                out.unplaced.push(i);
            }
            continue;
        };
        let mut code = e.code_at(micros);
        let mut redacted = None;
        if let (true, Some(bytes)) = (code != 0 && e.shape != 0, value) {
            let shape = &table.shapes[e.shape as usize - 1];
            (code, redacted) = shape.route(locator.plan(), bytes).unwrap_or((0, None));
        }
        if code == 0 {
            if e.held {
                behind.insert(subject.to_owned());
            }
            continue;
        }
        if e.held {
            let waits = !ready(micros, cutoff) || behind.contains(subject) || table.waits(subject);
            if waits || e.aside {
                if waits && !behind.contains(subject) {
                    behind.insert(subject.to_owned());
                }
                out.hinted.push(Hinted {
                    index: i,
                    code,
                    subject: subject.to_owned(),
                    micros,
                    waits,
                    value: redacted,
                });
                continue;
            }
        }
        out.codes[i] = code;
        if let Some(redacted) = redacted {
            out.redacted.push((i, redacted));
        }
        *counts.entry((partitions[i], code)).or_insert(0) += 1;
        let at = match seen.get(subject) {
            Some(&at) => {
                let span = &mut out.spans[at];
                span.first = span.first.min(micros);
                span.last = span.last.max(micros);
                at
            }
            None => {
                seen.insert(subject.to_owned(), out.spans.len());
                out.spans.push(Span {
                    subject: subject.to_owned(),
                    first: micros,
                    last: micros,
                });
                out.spans.len() - 1
            }
        };
        if e.held {
            out.held.push((i, at));
        }
    }
    for hinted in out.hinted.iter().filter(|h| h.waits) {
        table.wait(&hinted.subject);
    }
    let mut counts: Vec<_> = counts.into_iter().map(|((p, c), n)| (p, c, n)).collect();
    counts.sort_unstable();
    out.counts = counts;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"{"type":"record","name":"Click","fields":[
        {"name":"user_id","type":"string"},
        {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}}]}"#;

    fn click(user: &str, ms: i64) -> Vec<u8> {
        let mut out = vec![(user.len() as u8) << 1];
        out.extend_from_slice(user.as_bytes());
        let mut zz = ((ms << 1) ^ (ms >> 63)) as u64;
        while zz >= 0x80 {
            out.push((zz as u8) | 0x80);
            zz >>= 7;
        }
        out.push(zz as u8);
        out
    }

    fn child(from: i64, code: u32) -> Entry {
        Entry {
            held: true,
            ..adult(from, code)
        }
    }

    fn adult(from: i64, code: u32) -> Entry {
        Entry {
            from,
            until: i64::MAX,
            code,
            held: false,
            shape: 0,
            aside: false,
        }
    }

    #[test]
    fn table_codes_within_the_entry_interval() {
        let mut t = Table::default();
        t.set("a", adult(1_000, 3));
        let kid = Entry {
            until: 2_000,
            ..child(0, 4)
        };
        t.set("k", kid);
        assert_eq!(t.code("a", 999), 0);
        assert_eq!(t.code("a", 1_000), 3);
        assert_eq!(t.code("b", 5_000), 0);
        assert_eq!(t.code("k", 1_999), 4);
        assert_eq!(t.code("k", 2_000), 0, "until is exclusive");
        assert!(t.discard("a"));
        assert_eq!(t.code("a", 5_000), 0);
        assert!(!t.discard("a"));
    }

    fn hint(index: usize, code: u32, subject: &str, ms: i64, waits: bool) -> Hinted {
        Hinted {
            index,
            code,
            subject: subject.to_owned(),
            micros: ms * 1_000,
            waits,
            value: None,
        }
    }

    #[test]
    fn a_held_subject_waits_behind_its_first_event_that_is_not_ready() {
        let locator = Locator::new(SCHEMA, Some("user_id"), Some("ts"), true).unwrap();
        let mut table = Table::default();
        let kid = child(0, 2);
        table.set("kid", kid);
        table.set("adult", adult(0, 1));
        let values = [
            click("kid", 1),
            click("kid", 9), // not ready: hinted, it waits
            click("adult", 9),
            click("kid", 2), // ready, but behind the waiting one
        ];
        let refs: Vec<Option<&[u8]>> = values.iter().map(|v| Some(&v[..])).collect();
        let s = screen(
            &locator, &mut table, &refs, &[None; 4], &[0; 4], 5_000, None,
        );
        assert_eq!(s.codes, vec![2, 0, 1, 0]);
        assert_eq!(s.held, vec![(0, 0)]);
        let waiting = vec![hint(1, 2, "kid", 9, true), hint(3, 2, "kid", 2, true)];
        assert_eq!(s.hinted, waiting);
        assert!(table.waits("kid") && !table.waits("adult"));
        // the next batch: everything ready, but the subject still waits
        let ready =
            |table: &mut Table| screen(&locator, table, &refs, &[None; 4], &[0; 4], i64::MAX, None);
        let all = ready(&mut table);
        assert_eq!(all.codes, vec![0, 0, 1, 0]);
        assert_eq!(all.hinted.len(), 3);
        assert!(table.unwait("kid"));
        let all = ready(&mut table);
        assert_eq!(all.codes, vec![2, 2, 1, 2]);
        assert_eq!(all.held, vec![(0, 0), (1, 0), (3, 0)]);
        assert!(all.hinted.is_empty());
        table.clear();
        table.wait("kid");
        assert_eq!(
            table.waiting(),
            1,
            "clearing the entries keeps the order of events"
        );
    }

    #[test]
    fn a_held_subject_whose_event_takes_the_python_path_waits_behind_it() {
        let locator = Locator::new(SCHEMA, Some("user_id"), Some("ts"), true).unwrap();
        let mut table = Table::default();
        let kid = child(2_000, 2);
        table.set("kid", kid);
        let values = [click("kid", 1), click("kid", 3)]; // before the entry, then in it
        let refs: Vec<Option<&[u8]>> = values.iter().map(|v| Some(&v[..])).collect();
        let s = screen(
            &locator,
            &mut table,
            &refs,
            &[None; 2],
            &[0; 2],
            i64::MAX,
            None,
        );
        assert_eq!(s.codes, vec![0, 0]);
        assert_eq!(s.hinted, vec![hint(1, 2, "kid", 3, true)]);
    }

    #[test]
    fn screen_codes_counts_and_spans() {
        let locator = Locator::new(SCHEMA, Some("user_id"), Some("ts"), true).unwrap();
        let mut table = Table::default();
        table.set("adult", adult(0, 1));
        table.set("later", adult(5_000_000, 2)); // an adult from 5 s after the epoch
        let values = [
            click("adult", 3),
            click("child", 3),
            click("later", 4_000),
            click("later", 6_000),
            click("adult", 1),
            vec![0xff],
        ];
        let refs: Vec<Option<&[u8]>> = values.iter().map(|v| Some(&v[..])).collect();
        let mut refs = refs;
        refs.push(None);
        let ts = vec![None; refs.len()];
        let parts = [0, 0, 1, 1, 1, 0, 0];
        let s = screen(&locator, &mut table, &refs, &ts, &parts, i64::MIN, None);
        assert_eq!(s.codes, vec![1, 0, 0, 2, 1, 0, 0]);
        assert_eq!(s.counts, vec![(0, 1, 1), (1, 1, 1), (1, 2, 1)]);
        let spans: Vec<_> = s
            .spans
            .iter()
            .map(|s| (s.subject.as_str(), s.first, s.last))
            .collect();
        assert_eq!(
            spans,
            vec![("adult", 1_000, 3_000), ("later", 6_000_000, 6_000_000)]
        );
    }

    #[test]
    fn a_shaped_entry_codes_by_the_fields_an_event_holds_and_sends_the_redacted_value() {
        const GEO: &str = r#"{"type":"record","name":"Click","fields":[
            {"name":"user_id","type":"string"},
            {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
            {"name":"geo","type":["null","string"]}]}"#;
        let locator = Locator::new(GEO, Some("user_id"), Some("ts"), true).unwrap();
        let mut table = Table::default();
        let shape = Shape::new(locator.plan(), &["geo"], vec![5, 6], &[vec![], vec!["geo"]]);
        let shape = table.add_shape(shape.unwrap());
        let kid = Entry {
            from: 0,
            until: i64::MAX,
            code: 5,
            held: true,
            shape,
            aside: false,
        };
        table.set("kid", kid);
        let bare = [click("kid", 1), vec![0]].concat();
        let with_geo = [click("kid", 2), vec![2, 2, b'R']].concat();
        let refs = [Some(&bare[..]), Some(&with_geo[..])];
        let s = screen(
            &locator,
            &mut table,
            &refs,
            &[None; 2],
            &[0; 2],
            i64::MAX,
            None,
        );
        assert_eq!(s.codes, vec![5, 6]);
        assert_eq!(s.redacted, vec![(1, [click("kid", 2), vec![0]].concat())]);
        assert_eq!(s.held, vec![(0, 0), (1, 0)]);
        assert_eq!(s.counts, vec![(0, 5, 1), (0, 6, 1)]);
        let early = screen(
            &locator,
            &mut table,
            &refs,
            &[None; 2],
            &[0; 2],
            i64::MIN,
            None,
        );
        let cut = Some([click("kid", 2), vec![0]].concat());
        let waiting = [
            hint(0, 5, "kid", 1, true),
            Hinted {
                value: cut,
                ..hint(1, 6, "kid", 2, true)
            },
        ];
        assert_eq!(
            early.hinted, waiting,
            "a waiting event's code and value by its fields"
        );
        assert!(early.redacted.is_empty());
        table.clear();
        assert!(table.shapes.is_empty());
    }

    #[test]
    fn an_aside_entry_hands_its_events_to_python_with_their_code() {
        let locator = Locator::new(SCHEMA, Some("user_id"), Some("ts"), true).unwrap();
        let mut table = Table::default();
        let blocked = Entry {
            from: 0,
            until: 5_000,
            code: 7,
            held: true,
            shape: 0,
            aside: true,
        };
        table.set("kid", blocked);
        let values = [click("kid", 1), click("kid", 9), click("kid", 2)];
        let refs: Vec<Option<&[u8]>> = values.iter().map(|v| Some(&v[..])).collect();
        let s = screen(
            &locator, &mut table, &refs, &[None; 3], &[0; 3], 5_000, None,
        );
        assert_eq!(s.codes, vec![0, 0, 0]);
        // ready: carried out at once; past the interval: the Python path, and the
        // subject's next event waits behind it
        let hinted = vec![hint(0, 7, "kid", 1, false), hint(2, 7, "kid", 2, true)];
        assert_eq!(s.hinted, hinted);
        assert!(s.spans.is_empty() && s.counts.is_empty() && s.held.is_empty());
    }

    #[test]
    fn an_empty_table_sends_everything_to_python_and_names_each_subject_once() {
        let locator = Locator::new(SCHEMA, Some("user_id"), Some("ts"), true).unwrap();
        let values = [click("adult", 3), click("adult", 1), click("kid", 2)];
        let refs: Vec<Option<&[u8]>> = values.iter().map(|v| Some(&v[..])).collect();
        let s = screen(
            &locator,
            &mut Table::default(),
            &refs,
            &[None; 3],
            &[0; 3],
            i64::MAX,
            None,
        );
        assert_eq!(s.codes, vec![0, 0, 0]);
        assert!(s.spans.is_empty() && s.counts.is_empty());
        let unknown = vec![("adult".to_string(), 3_000), ("kid".to_string(), 2_000)];
        assert_eq!(s.unknown, unknown);
        assert_eq!(s.unplaced, vec![0, 1, 2]);
    }

    #[test]
    fn screening_the_records_of_new_entries_again_gives_what_a_whole_screen_gives() {
        let locator = Locator::new(SCHEMA, Some("user_id"), Some("ts"), true).unwrap();
        let values = [
            click("adult", 3),
            click("kid", 2),
            click("new", 4),
            click("kid", 9),
            click("new", 1),
        ];
        let refs: Vec<Option<&[u8]>> = values.iter().map(|v| Some(&v[..])).collect();
        let kid = child(0, 2);
        let mut table = Table::default();
        table.set("adult", adult(0, 1));
        table.set("kid", kid);
        let first = screen(
            &locator, &mut table, &refs, &[None; 5], &[0; 5], 5_000, None,
        );
        assert_eq!(first.unplaced, vec![2, 4]);
        table.set("new", adult(0, 3)); // compiled meanwhile
        let again = screen(
            &locator,
            &mut table,
            &refs,
            &[None; 5],
            &[0; 5],
            5_000,
            Some(&first.unplaced),
        );
        let mut whole_table = table.clone();
        whole_table.unwait("kid");
        let whole = screen(
            &locator,
            &mut whole_table,
            &refs,
            &[None; 5],
            &[0; 5],
            5_000,
            None,
        );
        let merged: Vec<u32> = (0..5).map(|i| first.codes[i] | again.codes[i]).collect();
        assert_eq!(merged, whole.codes);
        assert_eq!(again.codes, vec![0, 0, 3, 0, 3]);
        assert_eq!(again.counts, vec![(0, 3, 2)]);
        assert!(again.hinted.is_empty() && again.unplaced.is_empty());
    }
}
