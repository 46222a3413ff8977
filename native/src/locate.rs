//! Who an event is about and when it happened, from its Avro value: the native
//! twin of wardstream's `serde.avro.read_record` + `serde.lazy.EventLocator`.
//!
//! Errors carry the code of the Python `DecodeError` subclass and the same
//! detail text, so the Python side builds the identical exception (message
//! included) from them. Details never contain record contents.

use crate::schema::{Plan, SchemaError};
use crate::walk::{Cap, Fault, Walk, MAX_MILLIS};

/// Where a pipeline finds the subject id and the event time.
#[derive(Debug, Clone)]
pub struct Locator {
    plan: Plan,
    subject: Option<(String, Vec<usize>)>,
    time: Option<(String, Vec<usize>)>,
    canonical: bool,
}

/// A subject id: text from the value, or a whole number (`str(n)` in Python).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectId<'a> {
    Text(&'a str),
    Int(i64),
}

/// An event located: the subject (None when the pipeline takes it from the key)
/// and the event time in epoch microseconds (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Located<'a> {
    pub subject: Option<SubjectId<'a>>,
    pub micros: i64,
}

/// A `DecodeError` of the Python package, as a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The Python class's `code`, e.g. `TRUNCATED_RECORD`.
    pub code: &'static str,
    pub detail: String,
    /// The Python exception fastavro would have raised, if any.
    pub cause: Option<&'static str>,
}

impl Failure {
    fn new(code: &'static str, detail: String, cause: Option<&'static str>) -> Self {
        Failure {
            code,
            detail,
            cause,
        }
    }
}

pub const TRUNCATED: &str = "TRUNCATED_RECORD";
pub const TRAILING: &str = "TRAILING_BYTES";
pub const MISMATCH: &str = "SCHEMA_MISMATCH";
pub const NON_CANONICAL: &str = "NON_CANONICAL_ENCODING";
pub const NO_SUBJECT: &str = "MISSING_SUBJECT";
pub const NO_TIME: &str = "MISSING_EVENT_TIME";

impl Locator {
    /// `subject`/`time`: dotted field paths, or None for the record key / timestamp.
    pub fn new(
        schema_json: &str,
        subject: Option<&str>,
        time: Option<&str>,
        canonical: bool,
    ) -> Result<Locator, SchemaError> {
        let plan = Plan::parse(schema_json)?;
        let subject = subject.map(|p| plan.path(p).map(|steps| (p.to_string(), steps)));
        let time = time.map(|p| plan.path(p).map(|steps| (p.to_string(), steps)));
        Ok(Locator {
            subject: subject.transpose()?,
            time: time.transpose()?,
            plan,
            canonical,
        })
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn schema_name(&self) -> &str {
        &self.plan.name
    }

    /// Validate one value and find its subject and time. `timestamp_ms` is the Kafka
    /// record timestamp: the time when the pipeline uses it, or the field is null.
    pub fn locate<'a>(
        &'a self,
        data: &'a [u8],
        timestamp_ms: Option<i64>,
    ) -> Result<Located<'a>, Failure> {
        if data.is_empty() {
            return Err(Failure::new(
                TRUNCATED,
                "the value is empty (a tombstone?)".into(),
                None,
            ));
        }
        let targets = [
            self.subject.as_ref().map(|s| &s.1[..]),
            self.time.as_ref().map(|t| &t.1[..]),
        ];
        let mut walk = Walk::new(&self.plan, data, targets);
        let total = data.len();
        match walk.run() {
            Err(Fault::Truncated(cause)) => {
                return Err(Failure::new(TRUNCATED, format!("{total} bytes"), cause))
            }
            Err(Fault::Mismatch(cause)) => {
                let detail = format!("not valid {} bytes", self.plan.name);
                return Err(Failure::new(MISMATCH, detail, Some(cause)));
            }
            Ok(()) => {}
        }
        if walk.r.pos < total {
            let detail = format!("{} of {total} bytes unread", total - walk.r.pos);
            return Err(Failure::new(TRAILING, detail, None));
        }
        if self.canonical && walk.r.noncanonical {
            let detail = format!("not the canonical {} encoding", self.plan.name);
            return Err(Failure::new(NON_CANONICAL, detail, None));
        }
        let subject = match &self.subject {
            Some((path, _)) => Some(subject_from(walk.caps[0], path)?),
            None => None,
        };
        let micros = match &self.time {
            Some((path, _)) => time_from(walk.caps[1], path, timestamp_ms)?,
            None => time_from_timestamp(timestamp_ms)?,
        };
        Ok(Located { subject, micros })
    }
}

/// Python's `str.strip()` whitespace: Unicode White_Space plus U+001C..U+001F.
fn is_blank(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

fn subject_from<'a>(cap: Cap<'a>, path: &str) -> Result<SubjectId<'a>, Failure> {
    match cap {
        Cap::Str(text) if !is_blank(text) => return Ok(SubjectId::Text(text)),
        Cap::Int(n) => return Ok(SubjectId::Int(n)),
        _ => {}
    }
    let kind = match cap {
        Cap::Null => "null or absent".to_string(),
        other => format!("a {}, not an id", other.type_name()),
    };
    Err(Failure::new(
        NO_SUBJECT,
        format!("field {path} is {kind}"),
        None,
    ))
}

fn time_from(cap: Cap<'_>, path: &str, timestamp_ms: Option<i64>) -> Result<i64, Failure> {
    match cap {
        Cap::Datetime(us) => return Ok(us),
        Cap::Int(ms) if ms >= 0 => return millis_to_micros(ms),
        Cap::Null if timestamp_ms.is_some_and(|ts| ts >= 0) => {
            return time_from_timestamp(timestamp_ms)
        }
        _ => {}
    }
    let kind = match cap {
        Cap::Null => "null".to_string(),
        other => format!("a {}, not a timestamp", other.type_name()),
    };
    Err(Failure::new(
        NO_TIME,
        format!("field {path} is {kind}"),
        None,
    ))
}

fn time_from_timestamp(timestamp_ms: Option<i64>) -> Result<i64, Failure> {
    match timestamp_ms {
        Some(ms) if ms >= 0 => millis_to_micros(ms),
        _ => Err(Failure::new(
            NO_TIME,
            "the record has no timestamp".into(),
            None,
        )),
    }
}

fn millis_to_micros(ms: i64) -> Result<i64, Failure> {
    if ms > MAX_MILLIS {
        return Err(Failure::new(
            NO_TIME,
            "the record timestamp is out of range".into(),
            None,
        ));
    }
    Ok(ms * 1000)
}
