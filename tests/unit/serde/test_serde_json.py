"""The JSON codec: Avro field types enforced on JSON, strictly."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from tests.unit.serde.test_serde_codecs import (
    CHAT,
    ORIGIN,
    PING,
    SECRET,
    TS,
    assert_clean,
    chat_json,
)

from wardstream.domain.enums import ConsentAction, GrantedBy
from wardstream.serde import (
    AvroCodec,
    DecodeError,
    EncodeError,
    InvalidJson,
    JsonCodec,
    MissingField,
    WrongType,
    record_schema,
)


def test_json_round_trip_and_logical_types() -> None:
    codec = JsonCodec(CHAT)
    record = codec.decode(chat_json(), origin=ORIGIN)
    assert record["ts"] == datetime(2026, 11, 18, 11, 6, 40, 123000, tzinfo=UTC)
    assert record["attachments"] == [] and record["client"] is None
    assert codec.decode(codec.encode(record), origin=ORIGIN) == record
    iso = codec.decode(chat_json(ts="2026-11-18T19:06:40.123456+08:00"), origin=ORIGIN)
    assert iso["ts"] == record["ts"]


def test_json_unknown_keys_are_dropped() -> None:
    record = JsonCodec(CHAT).decode(chat_json(nickname=SECRET), origin=ORIGIN)
    assert "nickname" not in record


def test_json_date_and_bytes() -> None:
    codec = JsonCodec(record_schema("SubjectProfile"))
    value = {"subject_id": "s", "birth_date": "2014-03-01", "updated_at": 0, "age_band": "CHILD"}
    record = codec.decode(json.dumps(value).encode(), origin=ORIGIN)
    assert record["birth_date"] == date(2014, 3, 1) and record["verification"] == "none"
    assert json.loads(codec.encode(record))["birth_date"] == "2014-03-01"
    dead = JsonCodec(record_schema("DeadLetter"))
    raw = {"value": "\u00ff\u0000", "origin_topic": "t", "origin_partition": 0}
    raw |= {"origin_offset": 1, "error_type": "E", "error_message": "m"}
    assert dead.decode(json.dumps(raw).encode(), origin=ORIGIN)["value"] == b"\xff\x00"


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"ts": str(1_795_000_000_123)}, WrongType, "ts"),
        ({"ts": "2026-11-18T15:33:20"}, WrongType, "ts"),  # naive: no offset
        ({"ts": 1.5}, WrongType, "ts"),
        ({"user_id": 42}, WrongType, "user_id"),
        ({"text": None}, WrongType, "text"),
        ({"text": True}, WrongType, "text"),
        ({"recipient_ids": SECRET}, WrongType, "recipient_ids"),
        ({"recipient_ids": [1]}, WrongType, "recipient_ids[]"),
        ({"client": {"platform": "ios"}}, MissingField, "client.app_version"),
        ({"attachments": [{"url": SECRET, "mime_type": "x", "size_bytes": "3"}]}, WrongType,
         "attachments[].size_bytes"),
        ({"text": ...}, MissingField, "text"),
    ],
)  # fmt: skip
def test_json_wrong_types(changes: dict[str, Any], error: type[DecodeError], field: str) -> None:
    with pytest.raises(error) as info:
        JsonCodec(CHAT).decode(chat_json(**changes), origin=ORIGIN)
    assert f"field {field} " in str(info.value) or f"field {field})" in str(info.value)
    assert_clean(info.value)


def test_json_int_range_is_checked() -> None:
    codec = JsonCodec(PING)
    value = {"ping_id": "p", "user_id": "u", "ts": 0, "device_id": "d", "lat": 1, "lon": 2}
    assert codec.decode(json.dumps(value).encode(), origin=ORIGIN)["lat"] == 1.0
    with pytest.raises(WrongType, match="out of range"):
        codec.decode(json.dumps(value | {"battery_pct": 2**31}).encode(), origin=ORIGIN)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xfe{}",
        b'{"text": "SECRET-Xiaoming-2014"',
        b'{"text": "SECRET-Xiaoming-2014", "text": "x"}',
        b'{"lat": NaN}',
        b"[" * 50_000,
        b"1" * 5000,
    ],
)
def test_json_bad_input(data: bytes) -> None:
    with pytest.raises(InvalidJson) as info:
        JsonCodec(CHAT).decode(data, origin=ORIGIN)
    assert_clean(info.value)


def test_json_top_level_must_be_an_object() -> None:
    with pytest.raises(WrongType, match="array"):
        JsonCodec(CHAT).decode(b'["SECRET-Xiaoming-2014"]', origin=ORIGIN)


def test_json_encode_checks_types() -> None:
    codec = JsonCodec(CHAT)
    record = codec.decode(chat_json(), origin=ORIGIN)
    with pytest.raises(EncodeError, match="ts"):
        codec.encode(record | {"ts": datetime(2026, 1, 1)})  # noqa: DTZ001 - naive on purpose
    with pytest.raises(EncodeError, match="text"):
        codec.encode(record | {"text": 3})
    assert b"\\ud800" in codec.encode(record | {"text": "\ud800"})


def test_json_encodes_str_enums_as_their_values() -> None:
    codec = JsonCodec(record_schema("ConsentEvent"))
    record = {
        "consent_id": "c", "subject_id": "s", "granted_by": GrantedBy.GUARDIAN,
        "action": ConsentAction.GRANTED, "purposes": ["learning"], "data_categories": ["content"],
        "policy_version": 3, "effective_at": TS, "evidence": "sms:1",
    }  # fmt: skip
    value = json.loads(codec.encode(record))
    assert (value["granted_by"], value["action"]) == ("GUARDIAN", "GRANTED")
    assert value["third_party_recipients"] == [] and value["expires_at"] is None
    assert AvroCodec(record_schema("ConsentEvent")).encode(record)
