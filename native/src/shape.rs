//! Shaped lane entries: a consented child whose decision depends on which of a few
//! fields an event holds (a consent that leaves out a category: those fields are
//! removed, the rest passes).
//!
//! The Python policy compiles, per subject, the fields whose presence matters (the
//! probes, at most [`MAX_PROBES`]), a decision code for each combination of them holding
//! data (bit `i` of the index: probe `i`), and for each code the fields its redaction
//! sets to null (`serde.redact`'s plan). Nothing of the law is here: the native side
//! reads which probes hold data, picks the code, and writes the value with each cut
//! field's encoding replaced by null's. For a canonical value of a schema whose unions
//! are unambiguous (`Plan::unions_unambiguous`) that is byte for byte what the Python
//! path's decode, redact and encode gives; any other value takes the Python path.

use crate::schema::{Plan, SchemaError};
use crate::walk::Walk;
use crate::wire::put_long;

/// Probes per shape: 2^4 codes at most.
pub const MAX_PROBES: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// Every field the walk notes: the probes first (in their bit order), then the cut
    /// fields that are no probe.
    slots: Vec<Vec<usize>>,
    probes: usize,
    /// Per combination of probes holding data: its code, and the cuts (slot, the
    /// encoding of the field's null branch).
    codes: Vec<u32>,
    cuts: Vec<Vec<(usize, Vec<u8>)>>,
}

/// What a shaped entry does with one value: its code, and the value to send instead
/// of the original (None: the original, nothing removed).
pub type Routed = (u32, Option<Vec<u8>>);

impl Shape {
    /// `probes`: dotted paths; `codes[mask]` and `cuts[mask]` (dotted paths set to null)
    /// per combination of probes holding data.
    pub fn new(
        plan: &Plan,
        probes: &[&str],
        codes: Vec<u32>,
        cuts: &[Vec<&str>],
    ) -> Result<Shape, SchemaError> {
        let bad = |what: String| Err(SchemaError::Unsupported(what));
        if probes.len() > MAX_PROBES {
            return bad(format!("more than {MAX_PROBES} fields in one shape"));
        }
        if codes.len() != 1 << probes.len() || cuts.len() != codes.len() {
            return bad("a shape without one code and one cut list per combination".into());
        }
        if codes.contains(&0) {
            return bad("code 0 in a shape (0 means 'not in the lane')".into());
        }
        if !plan.unions_unambiguous() {
            return bad("redaction in a schema with a union of several non-null types".into());
        }
        let mut slots: Vec<Vec<usize>> = Vec::new();
        let mut slot = |steps: Vec<usize>| match slots.iter().position(|s| *s == steps) {
            Some(at) => at,
            None => {
                slots.push(steps);
                slots.len() - 1
            }
        };
        for path in probes {
            slot(plan.path(path)?);
        }
        let mut per_mask = Vec::with_capacity(cuts.len());
        for paths in cuts {
            let mut these = Vec::with_capacity(paths.len());
            for path in paths {
                let steps = plan.path(path)?;
                let field = plan.field(&steps);
                let Some(null) = field.and_then(|id| plan.null_branch(id)) else {
                    return bad(format!("redacting {path}, which is not nullable"));
                };
                these.push((slot(steps), zigzag(null as i64)));
            }
            per_mask.push(these);
        }
        Ok(Shape {
            probes: probes.len(),
            slots,
            codes,
            cuts: per_mask,
        })
    }

    /// The code for a value already validated (by `Locator::locate`) and the value to
    /// send; None when it must take the Python path (not canonical).
    pub fn route(&self, plan: &Plan, data: &[u8]) -> Option<Routed> {
        let mut walk = Walk::new(plan, data, [None, None]);
        let found = walk.probe(&self.slots).ok()?;
        if walk.r.noncanonical || walk.r.pos != data.len() {
            return None;
        }
        let mask = (0..self.probes)
            .filter(|&i| found[i].is_some_and(|f| f.present))
            .fold(0usize, |mask, i| mask | 1 << i);
        let code = self.codes[mask];
        let mut spans: Vec<_> = self.cuts[mask]
            .iter()
            .filter_map(|(slot, null)| found[*slot].map(|f| (f.start, f.end, null)))
            .collect();
        if spans.is_empty() {
            return Some((code, None));
        }
        spans.sort_unstable();
        let mut out = Vec::with_capacity(data.len());
        let mut at = 0;
        for (start, end, null) in spans {
            out.extend_from_slice(&data[at..start]);
            out.extend_from_slice(null);
            at = end;
        }
        out.extend_from_slice(&data[at..]);
        Some((code, Some(out)))
    }
}

/// Avro's zigzag varint of `n`.
fn zigzag(n: i64) -> Vec<u8> {
    let mut out = Vec::new();
    put_long(&mut out, n);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"{"type":"record","name":"Click","fields":[
        {"name":"user_id","type":"string"},
        {"name":"tags","type":{"type":"array","items":"string"}},
        {"name":"device","type":{"type":"record","name":"Device","fields":[
            {"name":"os","type":"string"},
            {"name":"ip","type":["null","string"]}]}},
        {"name":"geo","type":["null",{"type":"record","name":"Geo","fields":[
            {"name":"lat","type":"double"},
            {"name":"city","type":["string","null"]}]}]}]}"#;

    fn string(text: &str) -> Vec<u8> {
        let mut out = zigzag(text.len() as i64);
        out.extend_from_slice(text.as_bytes());
        out
    }

    /// user "u", tags, device (os "x", ip), geo (lat 0.0, city).
    fn click(tags: &[&str], ip: Option<&str>, geo: Option<Option<&str>>) -> Vec<u8> {
        let mut v = string("u");
        if !tags.is_empty() {
            v.extend(zigzag(tags.len() as i64));
            tags.iter().for_each(|t| v.extend(string(t)));
        }
        v.push(0);
        v.extend(string("x"));
        match ip {
            Some(ip) => {
                v.push(2);
                v.extend(string(ip));
            }
            None => v.push(0),
        }
        match geo {
            None => v.push(0),
            Some(city) => {
                v.push(2);
                v.extend([0u8; 8]);
                match city {
                    Some(c) => {
                        v.push(0);
                        v.extend(string(c));
                    }
                    None => v.push(2),
                }
            }
        }
        v
    }

    fn plan() -> Plan {
        Plan::parse(SCHEMA).unwrap()
    }

    #[test]
    fn the_code_follows_the_probes_that_hold_data_and_cuts_set_null() {
        let plan = plan();
        let cuts = vec![
            vec![],
            vec!["geo"],
            vec!["device.ip"],
            vec!["geo", "device.ip"],
        ];
        let shape = Shape::new(&plan, &["geo", "device.ip"], vec![1, 2, 3, 4], &cuts).unwrap();
        let none = click(&[], None, None);
        assert_eq!(shape.route(&plan, &none), Some((1, None)));
        let both = click(&["a"], Some("1.2.3.4"), Some(Some("Rome")));
        assert_eq!(
            shape.route(&plan, &both),
            Some((4, Some(click(&["a"], None, None))))
        );
        let geo = click(&[], None, Some(None));
        assert_eq!(shape.route(&plan, &geo), Some((2, Some(none.clone()))));
    }

    #[test]
    fn a_nested_cut_under_a_null_record_cuts_nothing() {
        let plan = plan();
        let cuts = vec![vec![], vec!["geo.city"]];
        let shape = Shape::new(&plan, &["geo.city"], vec![1, 2], &cuts).unwrap();
        assert_eq!(shape.route(&plan, &click(&[], None, None)), Some((1, None)));
        assert_eq!(
            shape.route(&plan, &click(&[], None, Some(None))),
            Some((1, None))
        );
        // null is the second branch of ["string", "null"]: index 1, zigzag 2
        let city = click(&[], None, Some(Some("Rome")));
        assert_eq!(
            shape.route(&plan, &city),
            Some((2, Some(click(&[], None, Some(None)))))
        );
    }

    #[test]
    fn an_empty_array_holds_no_data_and_non_canonical_values_are_refused() {
        let plan = plan();
        let cuts = vec![vec![], vec![]];
        let shape = Shape::new(&plan, &["tags"], vec![1, 2], &cuts).unwrap();
        assert_eq!(shape.route(&plan, &click(&[], None, None)), Some((1, None)));
        assert_eq!(
            shape.route(&plan, &click(&["a"], None, None)),
            Some((2, None))
        );
        let mut long = click(&[], None, None);
        long[0] = 0x82; // "u"'s length as an over-long varint
        long.insert(1, 0x00);
        assert_eq!(shape.route(&plan, &long), None);
    }

    #[test]
    fn shapes_refuse_what_they_cannot_do() {
        let plan = plan();
        let not_nullable = Shape::new(&plan, &["tags"], vec![1, 2], &[vec![], vec!["tags"]]);
        assert!(matches!(not_nullable, Err(SchemaError::Unsupported(_))));
        let counts = Shape::new(&plan, &["tags"], vec![1], &[vec![]]);
        assert!(counts.is_err());
        let zero = Shape::new(&plan, &[], vec![0], &[vec![]]);
        assert!(zero.is_err());
        let ambiguous = Plan::parse(
            r#"{"type":"record","name":"R","fields":[{"name":"n","type":["null","int","long"]}]}"#,
        )
        .unwrap();
        assert!(Shape::new(&ambiguous, &["n"], vec![1, 2], &[vec![], vec!["n"]]).is_err());
        assert!(Shape::new(&plan, &["nope"], vec![1, 2], &[vec![], vec![]]).is_err());
    }
}
