"""Avro and Confluent codecs: round trips, framing, schema resolution and bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.unit.serde.test_serde_strategies import ROOT

from wardstream.serde import (
    AvroCodec,
    BadMagicByte,
    ConfluentAvroCodec,
    DecodeError,
    EncodeError,
    InMemorySchemaRegistry,
    JsonCodec,
    NonCanonicalEncoding,
    Origin,
    SchemaMismatch,
    TrailingBytes,
    TruncatedRecord,
    UnknownSchemaId,
    UnsupportedFormat,
    frame,
    load_schema,
    make_codec,
    parse_schema_text,
    schema_id_of,
)

ORIGIN = Origin("app.location", 3, 1234)
SECRET = "SECRET-Xiaoming-2014"  # noqa: S105 - a marker to search for, not a password
PING = load_schema(ROOT / "schemas" / "examples" / "location_ping.avsc")
CHAT = load_schema(ROOT / "schemas" / "examples" / "chat_message.avsc")
TS = datetime(2026, 11, 22, 8, 30, 1, 123000, tzinfo=UTC)


def ping(**changes: Any) -> dict[str, Any]:
    record = {
        "ping_id": "p-1", "user_id": SECRET, "ts": TS, "device_id": "d-1", "lat": 30.25,
        "lon": 120.16, "accuracy_m": 12.5, "speed_mps": None, "wifi_ssid": SECRET,
        "network": "WIFI", "battery_pct": 80,
    }  # fmt: skip
    record.update(changes)
    return record


def chat_json(**changes: Any) -> bytes:
    value = {
        "message_id": "m-1", "user_id": "u-1", "ts": 1_795_000_000_123, "conversation_id": "c-1",
        "text": SECRET, "recipient_ids": ["u-2"],
    }  # fmt: skip
    value.update(changes)
    return json.dumps({k: v for k, v in value.items() if v is not ...}).encode()


def assert_clean(error: DecodeError) -> None:
    """Coordinates and a fix in the message; no payload anywhere in the error."""
    text = str(error)
    assert text.startswith("app.location[3] offset=1234: ")
    assert "Fix: " in text
    assert (error.topic, error.partition, error.offset) == ("app.location", 3, 1234)
    for part in (text, repr(error), repr(error.__cause__), repr(error.__context__)):
        assert SECRET not in part
        assert "Xiaoming" not in part
    assert error.__cause__ is None and error.__context__ is None


# -- schemaless Avro ---------------------------------------------------------


def test_avro_round_trip() -> None:
    codec = AvroCodec(PING)
    assert codec.decode(codec.encode(ping()), origin=ORIGIN) == ping()


@pytest.mark.parametrize("cut", [0, 1, 5, -1])
def test_truncated_avro(cut: int) -> None:
    data = AvroCodec(PING).encode(ping())
    with pytest.raises(TruncatedRecord) as info:
        AvroCodec(PING).decode(data[:cut], origin=ORIGIN)
    assert_clean(info.value)
    assert info.value.code == "TRUNCATED_RECORD"


def test_a_tombstone_is_a_decode_error() -> None:
    registry = InMemorySchemaRegistry()
    for codec in (AvroCodec(PING), JsonCodec(PING), ConfluentAvroCodec(registry)):
        with pytest.raises(DecodeError):
            codec.decode(None, origin=ORIGIN)  # type: ignore[arg-type]


def test_trailing_bytes_are_an_error() -> None:
    data = AvroCodec(PING).encode(ping())
    with pytest.raises(TrailingBytes, match="1 of") as info:
        AvroCodec(PING).decode(data + b"\x00", origin=ORIGIN)
    assert_clean(info.value)


def test_wrong_schema_is_caught() -> None:
    data = AvroCodec(CHAT).encode(JsonCodec(CHAT).decode(chat_json(), origin=ORIGIN))
    with pytest.raises((SchemaMismatch, TruncatedRecord, TrailingBytes)) as info:
        AvroCodec(PING).decode(data, origin=ORIGIN)
    assert_clean(info.value)


def test_bad_utf8_and_bad_union_index() -> None:
    codec = AvroCodec(PING)
    data = bytearray(codec.encode(ping(ping_id="ab")))
    data[1] = 0xFF  # inside the ping_id string
    with pytest.raises(SchemaMismatch) as info:
        codec.decode(bytes(data), origin=ORIGIN)
    assert info.value.cause_type == "UnicodeDecodeError"
    assert_clean(info.value)
    null_battery = codec.encode(ping(battery_pct=None))
    assert null_battery[-1] == 0  # union index 0: null
    with pytest.raises(SchemaMismatch):
        codec.decode(null_battery[:-1] + b"\x04\x02", origin=ORIGIN)  # index 2 of 2


def test_negative_union_index_needs_the_canonical_check() -> None:
    garbage = AvroCodec(PING).encode(ping(battery_pct=None))[:-1] + b"\x01\x02"  # index -1
    assert AvroCodec(PING).decode(garbage, origin=ORIGIN)["battery_pct"] == 1  # fastavro's quirk
    strict = AvroCodec(PING, canonical=True)
    with pytest.raises(NonCanonicalEncoding) as info:
        strict.decode(garbage, origin=ORIGIN)
    assert_clean(info.value)
    good = strict.encode(ping())
    assert strict.decode(good, origin=ORIGIN) == ping()
    registry = InMemorySchemaRegistry()
    framed = ConfluentAvroCodec(registry, schema=PING, subject="s", canonical=True)
    assert framed.decode(framed.encode(ping()), origin=ORIGIN) == ping()
    with pytest.raises(NonCanonicalEncoding):
        framed.decode(frame(1, garbage), origin=ORIGIN)


def test_encode_error_names_the_field_not_the_value() -> None:
    with pytest.raises(EncodeError, match="lat") as info:
        AvroCodec(PING).encode(ping(lat=SECRET))
    assert SECRET not in str(info.value)
    assert info.value.__context__ is None
    with pytest.raises(EncodeError, match="device_id"):
        AvroCodec(PING).encode({k: v for k, v in ping().items() if k != "device_id"})


def test_reader_schema_resolution() -> None:
    newer = json.loads(PING.text)
    newer["fields"].append({"name": "floor", "type": ["null", "int"], "default": None})
    writer = parse_schema_text(json.dumps(newer), source="newer")
    data = AvroCodec(writer).encode(ping(floor=3))
    assert AvroCodec(writer, reader=PING).decode(data, origin=ORIGIN) == ping()
    with pytest.raises(TrailingBytes):
        AvroCodec(PING).decode(data, origin=ORIGIN)


# -- Confluent wire format ---------------------------------------------------


def test_confluent_round_trip_registers_once_and_caches_lookups() -> None:
    registry = InMemorySchemaRegistry()
    writer = ConfluentAvroCodec(registry, schema=PING, subject="app.location-value")
    data = writer.encode(ping())
    assert data[0] == 0 and schema_id_of(data, ORIGIN) == 1
    assert registry.subjects() == ["app.location-value"]
    reader = ConfluentAvroCodec(registry, schema=PING)
    for _ in range(3):
        assert reader.decode(data, origin=ORIGIN) == ping()
    assert registry.lookups == 1
    assert writer.encode(ping()) == data


def test_confluent_resolves_a_newer_writer_to_the_pipeline_schema() -> None:
    registry = InMemorySchemaRegistry()
    newer = json.loads(PING.text)
    newer["fields"].append({"name": "floor", "type": ["null", "int"], "default": None})
    producer = ConfluentAvroCodec(
        registry, schema=parse_schema_text(json.dumps(newer), source="n"), subject="s"
    )
    data = producer.encode(ping(floor=2))
    assert ConfluentAvroCodec(registry, schema=PING).decode(data, origin=ORIGIN) == ping()
    assert ConfluentAvroCodec(registry).decode(data, origin=ORIGIN) == ping(floor=2)


def test_confluent_wrong_record_schema_is_a_mismatch() -> None:
    registry = InMemorySchemaRegistry()
    data = ConfluentAvroCodec(registry, schema=PING, subject="s").encode(ping())
    with pytest.raises(SchemaMismatch, match="cannot be read as") as info:
        ConfluentAvroCodec(registry, schema=CHAT).decode(data, origin=ORIGIN)
    assert_clean(info.value)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", TruncatedRecord),
        (b"\x00\x00\x00", TruncatedRecord),
        (b"\x00\x00\x00\x00\x01", TruncatedRecord),
        (b"\x01\x00\x00\x00\x01\x02", BadMagicByte),
        (b'{"user_id": "SECRET-Xiaoming-2014"}', BadMagicByte),
        (frame(99, b"\x02a"), UnknownSchemaId),
    ],
)
def test_confluent_bad_input(data: bytes, error: type[DecodeError]) -> None:
    registry = InMemorySchemaRegistry()
    registry.register("s", PING.text)
    with pytest.raises(error) as info:
        ConfluentAvroCodec(registry, schema=PING).decode(data, origin=ORIGIN)
    assert_clean(info.value)


def test_unknown_schema_id_names_the_id() -> None:
    with pytest.raises(UnknownSchemaId, match="schema id 99"):
        ConfluentAvroCodec(InMemorySchemaRegistry()).decode(frame(99, b""), origin=ORIGIN)


def test_registry_schema_that_is_not_a_record() -> None:
    registry = InMemorySchemaRegistry()
    registry.register("k", '"string"')
    with pytest.raises(SchemaMismatch, match="not a usable"):
        ConfluentAvroCodec(registry).decode(frame(1, b"\x02a"), origin=ORIGIN)


def test_confluent_encode_needs_schema_and_subject() -> None:
    with pytest.raises(EncodeError, match="subject"):
        ConfluentAvroCodec(InMemorySchemaRegistry()).encode(ping())


# -- choosing a codec ----------------------------------------------------------


def test_make_codec() -> None:
    assert isinstance(make_codec("avro", PING), AvroCodec)
    assert isinstance(make_codec("json", PING), JsonCodec)
    registry = InMemorySchemaRegistry()
    assert isinstance(make_codec("avro-confluent", PING, registry=registry), ConfluentAvroCodec)
    with pytest.raises(UnsupportedFormat, match="registry"):
        make_codec("avro-confluent", PING)
    with pytest.raises(UnsupportedFormat, match="protobuf"):
        make_codec("protobuf", PING)
