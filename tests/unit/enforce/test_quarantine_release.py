"""An operator's release (``wardstream quarantine release``) seals ``encrypt: true`` fields.

The command's core without Kafka: a held event as the worker writes it (sealed
with the subject's data key), opened with the key ring, its marked fields
sealed for the sink (``sealed_for_sink``) and the records written in order
(``release_records``): new key records, the sink record, the RELEASED marker.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.unit.conftest import REFS

from wardstream.audit.verify import Position
from wardstream.enforce.datakeys import KeyRing
from wardstream.enforce.quarantine import Entry, QuarantineBook
from wardstream.enforce.records import InRecord
from wardstream.enforce.sink_fields import FieldSealer, is_sealed, open_field
from wardstream.errors import WardstreamError
from wardstream.kafka.quarantine_log import (
    RELEASED_BY_OPERATOR,
    HeldEvent,
    _held,
    release_records,
    sealed_for_sink,
    unsealed,
)
from wardstream.serde import AvroCodec, Codec, Origin, make_codec, record_schema
from wardstream.serde.schemas import parse_schema_dict

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
SCHEMA = parse_schema_dict(
    {
        "type": "record",
        "name": "Ping",
        "fields": [
            {"name": "user_id", "type": "string"},
            {"name": "city", "type": ["null", "string"], "default": None},
            {"name": "page", "type": "string"},
            {
                "name": "device",
                "type": {
                    "type": "record",
                    "name": "Device",
                    "fields": [{"name": "ip", "type": ["null", "string"], "default": None}],
                },
            },
        ],
    },
    source="Ping.avsc",
)
MARKED = ("city", "device.ip")
HELD_CODEC = AvroCodec(record_schema("QuarantinedEvent"))


def _event(city: str | None = "Hangzhou", ip: str | None = "192.0.2.7") -> dict[str, Any]:
    return {"user_id": "kid-1", "city": city, "page": "/lesson/3", "device": {"ip": ip}}


def _held_as_written(codec: Codec, ring: KeyRing | None, datum: dict[str, Any]) -> HeldEvent:
    """The entry the worker quarantines (sealed with ``ring``), as the CLI reads it back."""
    rec = InRecord("app.ping", 0, 7, b"kid-1", codec.encode(datum), 1_700_000_000_000,
                   (("trace", b"t-1"), ("ward-decision", b"QUARANTINE")))  # fmt: skip
    entry = Entry("q-1", "ping", "kid-1", "NO_GUARDIAN_CONSENT", rec, NOW, NOW + timedelta(days=7))
    book = QuarantineBook("ward.quarantine", ring, refs=REFS.ref)
    *_, out = book.hold(entry, rule="CN-CPI-2019/art9", now=NOW)
    datum = HELD_CODEC.decode(out.value, origin=Origin.unknown())
    return _held(datum, Position("ward.quarantine", 0, 0), payload=True)


@pytest.fixture(params=["avro", "json"])
def codec(request: pytest.FixtureRequest) -> Codec:
    return make_codec(request.param, SCHEMA)


def test_a_released_childs_marked_fields_reach_the_sink_sealed(codec: Codec, ring: KeyRing) -> None:
    held = _held_as_written(codec, ring, _event())
    assert held.key_id is not None and b"Hangzhou" not in (held.value or b"")
    assert held.subject_id == "" and held.subject_ref == REFS.ref("kid-1")
    plain = unsealed(held, ring)  # what the command does first
    assert plain.subject_id == "kid-1" and plain.origin_timestamp is not None
    entry, keys = sealed_for_sink(plain, codec, FieldSealer(ring, MARKED))
    [key] = keys  # sink fields have their own key, wrapped by the sink key
    sink_key_id = (key.key or b"").decode().rpartition("|")[2]
    out = codec.decode(entry.value or b"", origin=Origin.unknown())
    assert is_sealed(out["city"]) and is_sealed(out["device"]["ip"])
    assert out["city"].startswith(f"wsenc1:{sink_key_id}:") and sink_key_id != held.key_id
    assert open_field(ring, "city", out["city"]) == "Hangzhou"
    assert open_field(ring, "device.ip", out["device"]["ip"]) == "192.0.2.7"
    assert (out["user_id"], out["page"]) == ("kid-1", "/lesson/3")
    assert b"Hangzhou" not in (entry.value or b"") and b"192.0.2.7" not in (entry.value or b"")
    _, sink, marker = release_records(entry, "app.ping.lawful", "ward.quarantine", NOW, keys)
    assert marker.key == REFS.ref("kid-1").encode() and b"kid-1" not in (marker.value or b"")
    assert (sink.topic, sink.key, sink.value) == ("app.ping.lawful", b"kid-1", entry.value)
    assert dict(sink.headers) == {"trace": b"t-1", "ward-decision": RELEASED_BY_OPERATOR}
    assert sink.timestamp_ms == 1_700_000_000_000 and marker.topic == "ward.quarantine"


def test_a_new_data_key_is_written_before_the_sink_record(ring: KeyRing) -> None:
    codec = make_codec("avro", SCHEMA)
    held = _held_as_written(codec, None, _event())  # held in the clear (before encryption)
    entry, keys = sealed_for_sink(held, codec, FieldSealer(ring, MARKED))
    [key] = keys
    assert (
        key.topic == "ward.keys"
        and key.key is not None
        and key.key.startswith(REFS.ref("kid-1").encode() + b"|")
    )
    written = release_records(entry, "app.ping.lawful", "ward.quarantine", NOW, keys)
    assert [r.topic for r in written] == ["ward.keys", "app.ping.lawful", "ward.quarantine"]
    out = codec.decode(written[1].value or b"", origin=Origin.unknown())
    assert open_field(ring, "city", out["city"]) == "Hangzhou"


@pytest.mark.parametrize("sealer", [True, False])
def test_nothing_to_seal_releases_the_original_bytes(
    codec: Codec, sealer: bool, ring: KeyRing
) -> None:
    datum = _event(city=None, ip=None) if sealer else _event()
    held = unsealed(_held_as_written(codec, ring, datum), ring)
    entry, keys = sealed_for_sink(held, codec, FieldSealer(ring, MARKED) if sealer else None)
    assert entry is held and keys == []


def test_an_entry_that_does_not_decode_is_not_released(ring: KeyRing) -> None:
    codec = make_codec("avro", SCHEMA)
    held = _held_as_written(codec, None, _event())
    broken = replace(held, value=b"\xff")
    with pytest.raises(WardstreamError, match="q-1 does not decode .* nothing was released"):
        sealed_for_sink(broken, codec, FieldSealer(ring, MARKED))
