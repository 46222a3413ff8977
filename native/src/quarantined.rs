//! The schemaless Avro bytes of a QuarantinedEvent (`schemas/QuarantinedEvent.avsc`),
//! byte for byte what fastavro writes for the datum `enforce.quarantine` builds, and
//! the sealing of its payload (`enforce.datakeys.seal_record`, `quarantine.seal_meta`):
//! AES-256-GCM under the subject's data key, a random 12-byte nonce per part, written
//! `nonce || ciphertext || tag`, the part's place as associated data. The nonces of an
//! event's parts come from the operating system in one request (a system call per part
//! was a tenth of a quarantine's cost). Nothing here decides anything: the quarantine
//! book gives every field and the key.

use std::cell::RefCell;

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

use crate::wire::put_long;

/// A data key that is not 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadKey;

/// Nonces drawn at once (an event seals key, value, meta and its header values).
const NONCES: usize = 8;

/// Seals the parts of one quarantined event under one data key.
pub struct Sealer<'a> {
    cipher: Aes256Gcm,
    quarantine_id: &'a str,
    nonces: RefCell<([u8; 12 * NONCES], usize)>, // drawn, and how many are used
}

impl<'a> Sealer<'a> {
    pub fn new(data_key: &[u8], quarantine_id: &'a str) -> Result<Self, BadKey> {
        let cipher = Aes256Gcm::new_from_slice(data_key).map_err(|_| BadKey)?;
        Ok(Sealer {
            cipher,
            quarantine_id,
            nonces: RefCell::new(([0; 12 * NONCES], NONCES)),
        })
    }

    /// A fresh random nonce, never one handed out before.
    fn nonce(&self) -> [u8; 12] {
        let mut pool = self.nonces.borrow_mut();
        let (drawn, used) = &mut *pool;
        if *used == NONCES {
            OsRng.fill_bytes(drawn);
            *used = 0;
        }
        let mut nonce = [0; 12];
        nonce.copy_from_slice(&drawn[*used * 12..(*used + 1) * 12]);
        *used += 1;
        nonce
    }

    /// `nonce || ciphertext || tag` of `plain`, bound to `<quarantine id>|<part>`.
    pub fn seal(&self, part: &str, plain: &[u8]) -> Vec<u8> {
        let aad = format!("{}|{part}", self.quarantine_id);
        let nonce = *Nonce::from_slice(&self.nonce());
        let payload = Payload {
            msg: plain,
            aad: aad.as_bytes(),
        };
        // encryption into a Vec fails only past GCM's length limit (64 GiB)
        let sealed = self
            .cipher
            .encrypt(&nonce, payload)
            .expect("a payload under 64 GiB");
        let mut out = Vec::with_capacity(12 + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// The sealed subject id and times (`quarantine.open_meta` reads the JSON).
    pub fn seal_meta(
        &self,
        subject_id: &str,
        origin_ms: Option<i64>,
        event_ms: Option<i64>,
    ) -> Vec<u8> {
        let number = |v: Option<i64>| v.map_or_else(|| "null".to_string(), |n| n.to_string());
        let meta = format!(
            r#"{{"subject_id": {}, "origin_timestamp": {}, "event_time": {}}}"#,
            json_string(subject_id),
            number(origin_ms),
            number(event_ms)
        );
        self.seal("subject", meta.as_bytes())
    }
}

/// A JSON string literal of `s` (RFC 8259 escapes).
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

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
    fn every_part_gets_its_own_nonce_past_one_draw() {
        let sealer = Sealer::new(&[7u8; 32], "q-1").unwrap();
        let nonces: std::collections::HashSet<Vec<u8>> = (0..3 * NONCES)
            .map(|_| sealer.seal("value", b"payload")[..12].to_vec())
            .collect();
        assert_eq!(nonces.len(), 3 * NONCES);
    }

    #[test]
    fn a_sealed_part_opens_with_its_key_and_place_only() {
        let key = [7u8; 32];
        let sealer = Sealer::new(&key, "q-1").unwrap();
        let sealed = sealer.seal("value", b"payload");
        assert_eq!(sealed.len(), 12 + 7 + 16);
        assert_ne!(
            sealed,
            sealer.seal("value", b"payload"),
            "a fresh nonce each time"
        );
        let cipher = Aes256Gcm::new_from_slice(&key).unwrap();
        let open = |aad: &[u8]| {
            let payload = Payload {
                msg: &sealed[12..],
                aad,
            };
            cipher.decrypt(sealed[..12].into(), payload)
        };
        assert_eq!(open(b"q-1|value").unwrap(), b"payload");
        assert!(open(b"q-1|key").is_err() && open(b"q-2|value").is_err());
        assert!(Sealer::new(&key[..16], "q").is_err());
    }

    #[test]
    fn the_sealed_meta_is_json_with_its_string_escaped() {
        assert_eq!(json_string("a\"b\\c\u{1}é"), "\"a\\\"b\\\\c\\u0001é\"");
    }

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
