//! The adults' lane: which events of a batch pass as an adult's, decided by a table
//! the Python policy compiled.
//!
//! The table holds, per subject id, the event time (epoch microseconds) from which
//! `wardstream.policy.decide` passes that subject's events in one pipeline as an
//! adult's, and a code naming the decision it returns then (1..=255; the Python
//! side keeps the decisions). Nothing of the law is here: an event passes the lane
//! when its subject is in the table and its time is at or after the entry's; every
//! other event (no entry, earlier, undecodable) gets code 0 and takes the Python
//! path. The Python side fills entries from its own decisions and drops a
//! subject's entry whenever its state changes.

use std::collections::HashMap;

use crate::locate::{Locator, SubjectId};

/// Subject id -> (adult from, in epoch microseconds; decision code).
#[derive(Debug, Default, Clone)]
pub struct AdultTable {
    map: HashMap<String, (i64, u8)>,
}

impl AdultTable {
    pub fn set(&mut self, subject: &str, from_micros: i64, code: u8) {
        assert!(code > 0, "code 0 means 'not in the lane'");
        self.map.insert(subject.to_owned(), (from_micros, code));
    }

    pub fn discard(&mut self, subject: &str) -> bool {
        self.map.remove(subject).is_some()
    }

    pub fn clear(&mut self) {
        self.map.clear();
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The decision code for an event of `subject` at `micros`, or 0.
    pub fn code(&self, subject: &str, micros: i64) -> u8 {
        match self.map.get(subject) {
            Some(&(from, code)) if micros >= from => code,
            _ => 0,
        }
    }
}

/// One subject's events in the lane within a batch: the first and last event time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub subject: String,
    pub first: i64,
    pub last: i64,
}

/// A batch screened: per record its code (0: the Python path); per (partition, code)
/// how many passed; per subject the span of its passed events (the compensation
/// log's input), in first-seen order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Screen {
    pub codes: Vec<u8>,
    pub counts: Vec<(i32, u8, u32)>,
    pub spans: Vec<Span>,
}

/// Screen a batch. `values[i]` is None for a record without a value; `partitions`
/// and `timestamps` (epoch ms) are per record.
pub fn screen(
    locator: &Locator,
    table: &AdultTable,
    values: &[Option<&[u8]>],
    timestamps: &[Option<i64>],
    partitions: &[i32],
) -> Screen {
    let mut out = Screen {
        codes: Vec::with_capacity(values.len()),
        ..Screen::default()
    };
    if table.is_empty() {
        out.codes.resize(values.len(), 0);
        return out;
    }
    let mut counts: HashMap<(i32, u8), u32> = HashMap::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, value) in values.iter().enumerate() {
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
        let code = if subject.is_empty() {
            0
        } else {
            table.code(subject, micros)
        };
        out.codes.push(code);
        if code == 0 {
            continue;
        }
        *counts.entry((partitions[i], code)).or_insert(0) += 1;
        match seen.get(subject) {
            Some(&at) => {
                let span = &mut out.spans[at];
                span.first = span.first.min(micros);
                span.last = span.last.max(micros);
            }
            None => {
                seen.insert(subject.to_owned(), out.spans.len());
                out.spans.push(Span {
                    subject: subject.to_owned(),
                    first: micros,
                    last: micros,
                });
            }
        }
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

    #[test]
    fn table_codes_from_the_entry_time_on() {
        let mut t = AdultTable::default();
        t.set("a", 1_000, 3);
        assert_eq!(t.code("a", 999), 0);
        assert_eq!(t.code("a", 1_000), 3);
        assert_eq!(t.code("b", 5_000), 0);
        assert!(t.discard("a"));
        assert_eq!(t.code("a", 5_000), 0);
        assert!(!t.discard("a"));
    }

    #[test]
    fn screen_codes_counts_and_spans() {
        let locator = Locator::new(SCHEMA, Some("user_id"), Some("ts"), true).unwrap();
        let mut table = AdultTable::default();
        table.set("adult", 0, 1);
        table.set("later", 5_000_000, 2); // an adult from 5 s after the epoch
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
        let s = screen(&locator, &table, &refs, &ts, &parts);
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
    fn an_empty_table_sends_everything_to_python() {
        let locator = Locator::new(SCHEMA, Some("user_id"), Some("ts"), true).unwrap();
        let v = click("adult", 3);
        let s = screen(
            &locator,
            &AdultTable::default(),
            &[Some(&v[..])],
            &[None],
            &[0],
        );
        assert_eq!(s.codes, vec![0]);
        assert!(s.spans.is_empty() && s.counts.is_empty());
    }
}
