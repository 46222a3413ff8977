//! Sealing an audit record: the schemaless Avro bytes of `schemas/AuditRecord.avsc`
//! and the hash that chains it, byte for byte what `wardstream.audit.encode` and
//! `wardstream.audit.chain.ChainWriter` write in Python.
//!
//! `hash` is the SHA-256 hex of the record encoded with `hash` = "" (the canonical
//! bytes, which end in one 0x00: `hash` is the schema's last field); the written
//! bytes are the canonical ones with that 0x00 replaced by the hash as a string.

use sha2::{Digest, Sha256};

/// An AuditRecord's fields, in the schema's order (times in epoch milliseconds).
#[derive(Debug, Clone, Default)]
pub struct Fields<'a> {
    pub audit_id: &'a str,
    pub at_ms: i64,
    pub worker: &'a str,
    pub pipeline: &'a str,
    pub chain: &'a str,
    pub seq: i64,
    pub action: &'a str,
    pub rule: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub subject_ref: Option<&'a str>,
    pub event_ref: Option<&'a str>,
    pub consent_id: Option<&'a str>,
    pub fields_redacted: Vec<&'a str>,
    pub counts: Vec<(&'a str, i64)>,
    pub deadline_ms: Option<i64>,
    pub attrs: Vec<(&'a str, &'a str)>,
    pub prev_hash: &'a str,
}

const HASH_TRAILER: [u8; 2] = [0x80, 0x01]; // zig-zag varint of the length 64

fn long(n: i64, out: &mut Vec<u8>) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    while z > 0x7f {
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn text(s: &str, out: &mut Vec<u8>) {
    long(s.len() as i64, out);
    out.extend_from_slice(s.as_bytes());
}

fn opt_text(s: Option<&str>, out: &mut Vec<u8>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(2);
            text(s, out);
        }
    }
}

/// The canonical bytes: the record with `hash` = "".
pub fn canonical(f: &Fields<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(384);
    text(f.audit_id, &mut out);
    long(f.at_ms, &mut out);
    text(f.worker, &mut out);
    text(f.pipeline, &mut out);
    text(f.chain, &mut out);
    long(f.seq, &mut out);
    text(f.action, &mut out);
    for field in [f.rule, f.reason, f.subject_ref, f.event_ref, f.consent_id] {
        opt_text(field, &mut out);
    }
    if !f.fields_redacted.is_empty() {
        long(f.fields_redacted.len() as i64, &mut out);
        for name in &f.fields_redacted {
            text(name, &mut out);
        }
    }
    out.push(0);
    if !f.counts.is_empty() {
        long(f.counts.len() as i64, &mut out);
        for (key, value) in &f.counts {
            text(key, &mut out);
            long(*value, &mut out);
        }
    }
    out.push(0);
    match f.deadline_ms {
        None => out.push(0),
        Some(ms) => {
            out.push(2);
            long(ms, &mut out);
        }
    }
    if !f.attrs.is_empty() {
        long(f.attrs.len() as i64, &mut out);
        for (key, value) in &f.attrs {
            text(key, &mut out);
            text(value, &mut out);
        }
    }
    out.push(0);
    text(f.prev_hash, &mut out);
    out.push(0); // hash = ""
    out
}

/// Lower-case hex of `bytes`.
fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// The written bytes and the record's hash (lower-case hex).
pub fn seal(f: &Fields<'_>) -> (Vec<u8>, String) {
    let mut bytes = canonical(f);
    let digest = Sha256::digest(&bytes);
    let hex = to_hex(&digest);
    bytes.pop();
    bytes.extend_from_slice(&HASH_TRAILER);
    bytes.extend_from_slice(hex.as_bytes());
    (bytes, hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_zig_zag() {
        let mut out = Vec::new();
        for n in [0, -1, 1, 63, -64, 64, i64::MAX, i64::MIN] {
            long(n, &mut out);
        }
        assert_eq!(&out[..6], &[0, 1, 2, 0x7e, 0x7f, 0x80]);
        assert_eq!(out[6], 0x01);
        assert_eq!(out.len(), 7 + 10 + 10);
    }

    #[test]
    fn a_sealed_record_ends_in_its_hash_and_hashes_its_canonical_bytes() {
        let f = Fields {
            audit_id: "a",
            chain: "c/0",
            action: "TAGGED",
            prev_hash: &"0".repeat(64),
            counts: vec![("x", 3)],
            ..Fields::default()
        };
        let canon = canonical(&f);
        assert_eq!(canon.last(), Some(&0));
        let (written, hash) = seal(&f);
        assert_eq!(hash.len(), 64);
        assert_eq!(
            &written[written.len() - 66..written.len() - 64],
            &HASH_TRAILER
        );
        assert!(written.ends_with(hash.as_bytes()));
        assert_eq!(&written[..written.len() - 66], &canon[..canon.len() - 1]);
        let again: String = Sha256::digest(&canon)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hash, again);
    }
}
