//! Validating walk over one schemaless Avro value.
//!
//! Every byte is read and checked; nothing is materialised except the few values a
//! caller asks for (the subject id and event time). The rules follow what
//! wardstream's Python path (fastavro's reader, then the optional canonical
//! re-encoding check) accepts and rejects, so the two give the same verdicts:
//! - a value that ends early is truncated; a negative string or bytes length too
//!   (fastavro then reads "all that is left" and finds it short);
//! - a union or enum index past either end is a mismatch (truncated when it was
//!   the last byte, like fastavro's `IndexError` at the end of the stream);
//! - invalid UTF-8, timestamps and dates outside Python's datetime range are
//!   mismatches;
//! - what decodes but would not encode back to the same bytes (over-long varints,
//!   booleans other than 0/1, negative union or enum indices read from the end,
//!   several or negative array/map blocks, duplicate map keys, float signalling
//!   NaNs) is only flagged: the caller decides whether canonical form is required.

use std::collections::HashSet;

pub use crate::read::Fault;
use crate::read::Reader;
use crate::schema::{Node, NodeId, Plan};

/// Smallest and largest epoch milliseconds Python's `datetime` holds (years 1-9999).
pub const MIN_MILLIS: i64 = -62_135_596_800_000;
pub const MAX_MILLIS: i64 = 253_402_300_799_999;
const MIN_MICROS: i64 = MIN_MILLIS * 1000;
const MAX_MICROS: i64 = MAX_MILLIS * 1000 + 999;
/// `date.fromordinal` takes 1..=3652059; Avro dates count days from 1970-01-01.
const DAYS_BEFORE_EPOCH: i128 = 719_163;
const MAX_ORDINAL: i128 = 3_652_059;
/// Nesting deeper than this (only recursive schemas get there) is rejected.
const MAX_DEPTH: usize = 256;

/// A value the caller asked for, with the Python type fastavro decodes it to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cap<'a> {
    /// null, or a field not reached (a null record above it).
    Null,
    Str(&'a str),
    Int(i64),
    Bool,
    Float,
    Bytes,
    Date,
    /// An aware UTC datetime, as epoch microseconds.
    Datetime(i64),
    List,
    Dict,
}

impl Cap<'_> {
    /// The Python type name fastavro gives the value (`type(value).__name__`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Cap::Null => "NoneType",
            Cap::Str(_) => "str",
            Cap::Int(_) => "int",
            Cap::Bool => "bool",
            Cap::Float => "float",
            Cap::Bytes => "bytes",
            Cap::Date => "date",
            Cap::Datetime(_) => "datetime",
            Cap::List => "list",
            Cap::Dict => "dict",
        }
    }
}

/// Where a probed field lies in a value (`start..end`, its whole encoding, a union's
/// branch index included) and whether it holds data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub start: usize,
    pub end: usize,
    pub present: bool,
}

/// Up to two dotted paths whose values a walk captures, as field indices.
pub type Targets<'p> = [Option<&'p [usize]>; 2];

pub struct Walk<'a> {
    plan: &'a Plan,
    /// The bytes, the position and the non-canonical flag.
    pub r: Reader<'a>,
    depth: usize,
    targets: Targets<'a>,
    pub caps: [Cap<'a>; 2],
}

impl<'a> Walk<'a> {
    pub fn new(plan: &'a Plan, data: &'a [u8], targets: Targets<'a>) -> Self {
        Walk {
            plan,
            r: Reader::new(data),
            depth: 0,
            targets,
            caps: [Cap::Null; 2],
        }
    }

    /// Read the whole top-level record.
    pub fn run(&mut self) -> Result<(), Fault> {
        let live = (self.targets[0].is_some() as u8) | ((self.targets[1].is_some() as u8) << 1);
        self.value(self.plan.root, live, 0).map(|_| ())
    }

    fn value(&mut self, id: NodeId, live: u8, level: usize) -> Result<Cap<'a>, Fault> {
        let plan = self.plan;
        Ok(match &plan.nodes[id] {
            Node::Null | Node::Pending => Cap::Null,
            Node::Boolean => {
                let b = self.r.byte()?;
                self.r.noncanonical |= b > 1;
                Cap::Bool
            }
            Node::Int | Node::Long => Cap::Int(self.r.long()?),
            Node::Float => {
                let bits = u32::from_le_bytes(self.r.take(4)?.try_into().unwrap_or([0; 4]));
                // Python holds a float32 as a double: a signalling NaN comes back quiet.
                let nan = bits & 0x7f80_0000 == 0x7f80_0000 && bits & 0x007f_ffff != 0;
                self.r.noncanonical |= nan && bits & 0x0040_0000 == 0;
                Cap::Float
            }
            Node::Double => {
                self.r.take(8)?;
                Cap::Float
            }
            Node::Bytes => {
                self.r.sized()?;
                Cap::Bytes
            }
            Node::String => Cap::Str(self.r.string()?),
            Node::Fixed(size) => {
                self.r.take(*size)?;
                Cap::Bytes
            }
            Node::Enum(symbols) => Cap::Str(&symbols[self.r.index(symbols.len())?]),
            Node::Union(branches) => {
                let branch = branches[self.r.index(branches.len())?];
                self.nested(|w| w.value(branch, live, level))?
            }
            Node::Record(fields) => {
                self.nested(|w| w.record(fields, live, level))?;
                Cap::Dict
            }
            Node::Array(item) => {
                let item = *item;
                self.nested(|w| w.blocks(|w| w.value(item, 0, 0).map(|_| ()), item))?;
                Cap::List
            }
            Node::Map(values) => {
                self.nested(|w| w.map(*values))?;
                Cap::Dict
            }
            Node::Date => {
                let days = self.r.long()? as i128 + DAYS_BEFORE_EPOCH;
                if days > i64::MAX as i128 {
                    return Err(Fault::Mismatch("OverflowError"));
                }
                if !(1..=MAX_ORDINAL).contains(&days) {
                    return Err(Fault::Mismatch("ValueError"));
                }
                Cap::Date
            }
            Node::TimestampMillis => {
                let ms = self.r.long()?;
                if !(MIN_MILLIS..=MAX_MILLIS).contains(&ms) {
                    return Err(Fault::Mismatch("OverflowError"));
                }
                Cap::Datetime(ms * 1000)
            }
            Node::TimestampMicros => {
                let us = self.r.long()?;
                if !(MIN_MICROS..=MAX_MICROS).contains(&us) {
                    return Err(Fault::Mismatch("OverflowError"));
                }
                Cap::Datetime(us)
            }
        })
    }

    /// Read the whole top-level record, noting where each of `slots` (field-index paths,
    /// as `Plan::path` gives them) lies and whether it holds data; `None` for a slot not
    /// reached (a null record above it).
    pub fn probe(&mut self, slots: &[Vec<usize>]) -> Result<Vec<Option<Found>>, Fault> {
        let mut out = vec![None; slots.len()];
        let live: Vec<usize> = (0..slots.len()).collect();
        self.probe_into(self.plan.root, slots, &live, 0, &mut out)?;
        Ok(out)
    }

    /// A record, or a union of null and one record (a path goes through nothing else).
    fn probe_into(
        &mut self,
        id: NodeId,
        slots: &[Vec<usize>],
        live: &[usize],
        level: usize,
        out: &mut [Option<Found>],
    ) -> Result<(), Fault> {
        let plan = self.plan;
        let fields = match &plan.nodes[id] {
            Node::Record(fields) => fields,
            Node::Union(branches) => {
                let branch = branches[self.r.index(branches.len())?];
                return self.nested(|w| w.probe_into(branch, slots, live, level, out));
            }
            _ => return self.value(id, 0, 0).map(|_| ()),
        };
        for (index, (_, field)) in fields.iter().enumerate() {
            let here: Vec<usize> = live
                .iter()
                .copied()
                .filter(|&s| slots[s].get(level) == Some(&index))
                .collect();
            if here.is_empty() {
                self.value(*field, 0, 0)?;
                continue;
            }
            let start = self.r.pos;
            let deeper: Vec<usize> = here
                .iter()
                .copied()
                .filter(|&s| slots[s].len() > level + 1)
                .collect();
            let present = if deeper.is_empty() {
                self.holds_data(*field)?
            } else {
                self.nested(|w| w.probe_into(*field, slots, &deeper, level + 1, out))?;
                self.has_data_at(*field, start)
            };
            let found = Found {
                start,
                end: self.r.pos,
                present,
            };
            for s in here.into_iter().filter(|&s| slots[s].len() == level + 1) {
                out[s] = Some(found);
            }
        }
        Ok(())
    }

    /// Read a value; whether it holds data as `serde.paths.has_data` says: not null, not
    /// an empty array, map or record. (An empty array or map is read as its canonical
    /// form, one zero count; callers that act on presence require canonical bytes.)
    fn holds_data(&mut self, id: NodeId) -> Result<bool, Fault> {
        let start = self.r.pos;
        self.value(id, 0, 0)?;
        Ok(self.has_data_at(id, start))
    }

    /// Whether the value of node `id` read from `start` to the cursor holds data.
    fn has_data_at(&self, id: NodeId, start: usize) -> bool {
        let (mut node, mut at) = (id, start);
        if let Node::Union(branches) = &self.plan.nodes[id] {
            let mut r = Reader::new(self.r.data);
            r.pos = start;
            match r.index(branches.len()) {
                Ok(branch) => (node, at) = (branches[branch], r.pos),
                Err(_) => return false,
            }
        }
        match &self.plan.nodes[node] {
            Node::Null | Node::Pending => false,
            Node::Record(fields) => !fields.is_empty(),
            Node::Array(_) | Node::Map(_) => !(self.r.pos == at + 1 && self.r.data[at] == 0),
            _ => true,
        }
    }

    fn record(
        &mut self,
        fields: &'a [(String, NodeId)],
        live: u8,
        level: usize,
    ) -> Result<(), Fault> {
        for (index, (_, field)) in fields.iter().enumerate() {
            let (mut pass, mut here) = (0u8, 0u8);
            for t in 0..2 {
                if live & (1 << t) == 0 {
                    continue;
                }
                if let Some(path) = self.targets[t] {
                    if path.get(level) == Some(&index) {
                        if path.len() == level + 1 {
                            here |= 1 << t;
                        } else {
                            pass |= 1 << t;
                        }
                    }
                }
            }
            let cap = self.value(*field, pass, level + 1)?;
            for t in 0..2 {
                if here & (1 << t) != 0 {
                    self.caps[t] = cap;
                }
            }
        }
        Ok(())
    }

    fn map(&mut self, values: NodeId) -> Result<(), Fault> {
        let mut keys: Option<HashSet<&'a str>> = None;
        self.blocks(
            |w| {
                let key = w.r.string()?;
                if !keys.get_or_insert_with(HashSet::new).insert(key) {
                    w.r.noncanonical = true; // a dict keeps one of them: fewer entries re-encoded
                }
                w.value(values, 0, 0).map(|_| ())
            },
            usize::MAX,
        )
    }

    /// Array and map blocks: canonical is one block with a positive count, then 0.
    fn blocks(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<(), Fault>,
        item_node: NodeId,
    ) -> Result<(), Fault> {
        let zero_width = self
            .plan
            .zero_width
            .get(item_node)
            .copied()
            .unwrap_or(false);
        let mut count = self.r.long()?;
        let mut blocks = 0;
        while count != 0 {
            blocks += 1;
            if count < 0 {
                count = count.wrapping_neg(); // i64::MIN stays negative: no items, as in C
                self.r.long()?; // the block's byte size, unused
                self.r.noncanonical = true;
            }
            self.r.noncanonical |= blocks > 1;
            if !zero_width {
                for _ in 0..count.max(0) {
                    item(self)?; // each item takes at least one byte: ends at the data's end
                }
            }
            count = self.r.long()?;
        }
        Ok(())
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, Fault>) -> Result<T, Fault> {
        if self.depth >= MAX_DEPTH {
            return Err(Fault::Mismatch("RecursionError"));
        }
        self.depth += 1;
        let out = f(self);
        self.depth -= 1;
        out
    }
}
