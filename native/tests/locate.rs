//! The native locator on hand-written bytes, without Python.

use wardstream_native::locate::{Failure, Locator, SubjectId};
use wardstream_native::read::varint_len;
use wardstream_native::schema::{Plan, SchemaError};

const CLICK: &str = r#"{"type": "record", "name": "Click", "namespace": "t", "fields": [
  {"name": "user_id", "type": ["null", "string", "long"]},
  {"name": "ts", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]},
  {"name": "ok", "type": "boolean"},
  {"name": "kind", "type": {"type": "enum", "name": "K", "symbols": ["A", "B"]}},
  {"name": "tags", "type": {"type": "map", "values": "int"}},
  {"name": "geo", "type": ["null", {"type": "record", "name": "Geo", "fields": [
     {"name": "city", "type": "string"}, {"name": "at", "type": "long"}]}]}
]}"#;

fn zz(v: i64) -> Vec<u8> {
    let mut n = ((v << 1) ^ (v >> 63)) as u64;
    let mut out = Vec::new();
    loop {
        if n < 0x80 {
            out.push(n as u8);
            return out;
        }
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
}

/// user_id "kid", ts 1000 ms, ok true, kind B, tags {}, geo {city "X", at 5}
fn click() -> Vec<u8> {
    let mut b = vec![2, 6, b'k', b'i', b'd', 2];
    b.extend(zz(1000));
    b.extend([1, 2, 0, 2, 2, b'X', 10]);
    b
}

fn locator(subject: &str, time: &str) -> Locator {
    Locator::new(CLICK, Some(subject), Some(time), true).unwrap()
}

fn code(result: Result<impl std::fmt::Debug, Failure>) -> &'static str {
    result.err().map(|f| f.code).unwrap_or("ok")
}

#[test]
fn a_valid_record_gives_its_subject_and_time() {
    let loc = locator("user_id", "ts");
    let data = click();
    let found = loc.locate(&data, None).unwrap();
    assert_eq!(found.subject, Some(SubjectId::Text("kid")));
    assert_eq!(found.micros, 1_000_000);
}

#[test]
fn nested_paths_and_long_ids_are_found() {
    let loc = locator("geo.city", "geo.at");
    let data = click();
    let found = loc.locate(&data, None).unwrap();
    assert_eq!(
        (found.subject, found.micros),
        (Some(SubjectId::Text("X")), 5000)
    );
    let mut data = click();
    data.splice(0..5, [4, 84]); // user_id: the long 42
    let loc = locator("user_id", "ts");
    assert_eq!(
        loc.locate(&data, None).unwrap().subject,
        Some(SubjectId::Int(42))
    );
}

#[test]
fn every_cut_is_truncated_and_every_extra_byte_trailing() {
    let loc = locator("user_id", "ts");
    let data = click();
    for cut in 1..data.len() {
        assert_eq!(
            code(loc.locate(&data[..cut], None)),
            "TRUNCATED_RECORD",
            "cut at {cut}"
        );
    }
    let mut longer = data.clone();
    longer.push(0);
    let failure = loc.locate(&longer, None).unwrap_err();
    assert_eq!(
        (failure.code, failure.detail.as_str()),
        ("TRAILING_BYTES", "1 of 16 bytes unread")
    );
    assert_eq!(
        loc.locate(b"", None).unwrap_err().detail,
        "the value is empty (a tombstone?)"
    );
}

#[test]
fn bad_indices_and_text_are_mismatches() {
    let loc = locator("user_id", "ts");
    let mut data = click();
    data[0] = 6; // union index 3 of 3 branches
    let failure = loc.locate(&data, None).unwrap_err();
    assert_eq!(
        (failure.code, failure.detail.as_str()),
        ("SCHEMA_MISMATCH", "not valid t.Click bytes")
    );
    assert_eq!(failure.cause, Some("IndexError"));
    let mut data = click();
    data[2] = 0xff; // not UTF-8
    assert_eq!(
        loc.locate(&data, None).unwrap_err().cause,
        Some("UnicodeDecodeError")
    );
}

#[test]
fn non_canonical_encodings_are_flagged_only_when_asked() {
    let strict = locator("user_id", "ts");
    let lenient = Locator::new(CLICK, Some("user_id"), Some("ts"), false).unwrap();
    let mut over_long = click();
    over_long.splice(0..1, [0x82, 0x00]); // union index 1 in two bytes
    let mut boolean = click();
    boolean[8] = 2;
    let mut negative = click();
    negative[9] = 1; // enum index -1: the last symbol
    for data in [over_long, boolean, negative] {
        assert_eq!(code(strict.locate(&data, None)), "NON_CANONICAL_ENCODING");
        assert_eq!(code(lenient.locate(&data, None)), "ok");
    }
}

#[test]
fn a_null_time_falls_back_to_the_record_timestamp() {
    let loc = locator("user_id", "ts");
    let mut data = click();
    data.splice(5..8, [0]); // ts: null
    assert_eq!(loc.locate(&data, Some(7)).unwrap().micros, 7000);
    let failure = loc.locate(&data, None).unwrap_err();
    assert_eq!(
        (failure.code, failure.detail.as_str()),
        ("MISSING_EVENT_TIME", "field ts is null")
    );
}

#[test]
fn missing_subjects_say_what_the_field_held() {
    let loc = locator("geo.city", "ts");
    let mut data = click();
    data.truncate(click().len() - 4);
    data.push(0); // geo: null
    assert_eq!(
        loc.locate(&data, None).unwrap_err().detail,
        "field geo.city is null or absent"
    );
    let failure = locator("ok", "ts").locate(&click(), None).unwrap_err();
    assert_eq!(failure.detail, "field ok is a bool, not an id");
}

#[test]
fn timestamps_outside_pythons_datetime_are_mismatches() {
    let loc = locator("user_id", "ts");
    let mut data = vec![2, 6, b'k', b'i', b'd', 2];
    data.extend(zz(253_402_300_800_000));
    data.extend([1, 2, 0, 2, 2, b'X', 10]);
    assert_eq!(
        loc.locate(&data, None).unwrap_err().cause,
        Some("OverflowError")
    );
}

#[test]
fn schemas_and_paths_are_checked_up_front() {
    assert_eq!(
        Plan::parse(r#""string""#).unwrap_err(),
        SchemaError::NotRecord
    );
    assert!(matches!(Plan::parse("{"), Err(SchemaError::Invalid(_))));
    let uuid = r#"{"type": "record", "name": "U", "fields": [
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}}]}"#;
    assert!(matches!(
        Plan::parse(uuid),
        Err(SchemaError::Unsupported(_))
    ));
    let err = Locator::new(CLICK, Some("geo.nope"), None, true).unwrap_err();
    assert_eq!(err, SchemaError::UnknownPath("geo.nope".into()));
}

#[test]
fn recursive_schemas_compile_and_decode() {
    let list = r#"{"type": "record", "name": "Node", "fields": [
        {"name": "v", "type": "string"}, {"name": "next", "type": ["null", "Node"]}]}"#;
    let loc = Locator::new(list, Some("v"), None, true).unwrap();
    let data = [2, b'a', 2, 2, b'b', 0];
    assert_eq!(
        loc.locate(&data, Some(1)).unwrap().subject,
        Some(SubjectId::Text("a"))
    );
}

#[test]
fn varint_lengths() {
    assert_eq!([0, 127, 128, u64::MAX].map(varint_len), [1, 1, 2, 10]);
}
