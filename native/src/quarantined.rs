//! The schemaless Avro bytes of a QuarantinedEvent (`schemas/QuarantinedEvent.avsc`),
//! byte for byte what fastavro writes for the datum `enforce.quarantine` builds.
//! Nothing here decides anything: the quarantine book gives every field.

use crate::wire::put_long;

/// A QuarantinedEvent's fields, in the schema's order (times in epoch milliseconds;
/// `key_id`: the `encryption` record, with `alg`).
#[derive(Debug, Clone, Default)]
pub struct Held<'a> {
    pub quarantine_id: &'a str,
    pub pipeline: &'a str,
    pub subject_id: &'a str,
    pub reason: &'a str,
    pub rule: Option<&'a str>,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: Vec<(&'a str, Option<&'a [u8]>)>,
    pub origin_topic: &'a str,
    pub origin_partition: i32,
    pub origin_offset: i64,
    pub origin_timestamp_ms: Option<i64>,
    pub event_time_ms: Option<i64>,
    pub quarantined_at_ms: i64,
    pub expires_at_ms: i64,
    pub missing_categories: Vec<&'a str>,
    pub blocking_fields: Vec<&'a str>,
    pub status: &'a str,
    pub key_id: Option<&'a str>,
    pub alg: &'a str,
    pub subject_ref: Option<&'a str>,
    pub sealed: Option<&'a [u8]>,
}

fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_long(out, b.len() as i64);
    out.extend_from_slice(b);
}

/// `["null", T]`: branch 0 for None, else 1 and the value.
fn optional<T>(out: &mut Vec<u8>, v: Option<T>, write: impl FnOnce(&mut Vec<u8>, T)) {
    match v {
        None => out.push(0),
        Some(v) => {
            out.push(2);
            write(out, v);
        }
    }
}

fn strings(out: &mut Vec<u8>, items: &[&str]) {
    if !items.is_empty() {
        put_long(out, items.len() as i64);
        items.iter().for_each(|s| bytes(out, s.as_bytes()));
    }
    out.push(0);
}

pub fn encode(h: &Held<'_>) -> Vec<u8> {
    let text = |out: &mut Vec<u8>, s: &str| bytes(out, s.as_bytes());
    let mut out = Vec::with_capacity(256 + h.value.map_or(0, <[u8]>::len));
    for s in [h.quarantine_id, h.pipeline, h.subject_id, h.reason] {
        text(&mut out, s);
    }
    optional(&mut out, h.rule, text);
    optional(&mut out, h.key, bytes);
    optional(&mut out, h.value, bytes);
    if !h.headers.is_empty() {
        put_long(&mut out, h.headers.len() as i64);
        for (name, value) in &h.headers {
            text(&mut out, name);
            optional(&mut out, *value, bytes);
        }
    }
    out.push(0);
    text(&mut out, h.origin_topic);
    put_long(&mut out, i64::from(h.origin_partition));
    put_long(&mut out, h.origin_offset);
    optional(&mut out, h.origin_timestamp_ms, put_long);
    optional(&mut out, h.event_time_ms, put_long);
    put_long(&mut out, h.quarantined_at_ms);
    put_long(&mut out, h.expires_at_ms);
    strings(&mut out, &h.missing_categories);
    strings(&mut out, &h.blocking_fields);
    text(&mut out, h.status);
    optional(&mut out, h.key_id, |out, id| {
        text(out, id);
        text(out, h.alg);
    });
    optional(&mut out, h.subject_ref, text);
    optional(&mut out, h.sealed, bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_record_is_its_strings_and_zeros() {
        let h = Held {
            quarantine_id: "q",
            status: "EXPIRED",
            ..Held::default()
        };
        let mut expected = vec![2, b'q'];
        expected.extend_from_slice(&[0; 16]);
        expected.extend_from_slice(&[14]);
        expected.extend_from_slice(b"EXPIRED");
        expected.extend_from_slice(&[0, 0, 0]);
        assert_eq!(encode(&h), expected);
    }

    #[test]
    fn headers_encryption_and_payload_are_written_in_place() {
        let h = Held {
            headers: vec![("h", Some(b"v")), ("n", None)],
            key_id: Some("k"),
            alg: "A",
            sealed: Some(b"s"),
            origin_partition: -1,
            ..Held::default()
        };
        let out = encode(&h);
        let headers = [4, 2, b'h', 2, 2, b'v', 2, b'n', 0, 0];
        assert_eq!(&out[7..17], &headers);
        assert_eq!(out[18], 1, "partition -1");
        assert!(out.ends_with(&[0, 2, 2, b'k', 2, b'A', 0, 2, 2, b's']));
    }
}
