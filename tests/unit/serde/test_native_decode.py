"""The native locator against the Python path: same verdict for the same bytes.

For every shipped schema (and one that uses every Avro type the native decoder
knows), hypothesis draws records, writes them with fastavro, mutates the bytes
(cut, flipped, inserted, deleted bytes, random garbage) and checks that
:class:`NativeLocator` gives exactly what ``AvroCodec.decode`` +
``EventLocator.locate`` give: the same subject and time, or the same error
class with the same message.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from io import BytesIO
from typing import Any

import pytest
from fastavro import schemaless_writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.serde.test_serde_strategies import SCHEMA_FILES, records, schema_id

from wardstream.serde import AvroCodec, AvroSchema, DecodeError, Origin, load_schema
from wardstream.serde.errors import UnknownFieldPath, UnsupportedFormat
from wardstream.serde.lazy import EPOCH, EventLocator
from wardstream.serde.native import NativeLocator
from wardstream.serde.paths import field_index, field_paths
from wardstream.serde.schemas import parse_schema_dict

KITCHEN_SINK = parse_schema_dict(
    {
        "type": "record",
        "name": "Sink",
        "namespace": "test.native",
        "fields": [
            {"name": "id", "type": ["null", "string", "long"]},
            {"name": "flag", "type": "boolean"},
            {"name": "n", "type": "int"},
            # no ["float", "double"] or ["int", "long"]: see the last test
            {"name": "ratio", "type": ["null", "float"]},
            {"name": "share", "type": "double"},
            {"name": "raw", "type": {"type": "fixed", "name": "Four", "size": 4}},
            {"name": "blob", "type": "bytes"},
            {"name": "born", "type": {"type": "int", "logicalType": "date"}},
            {"name": "at_us", "type": {"type": "long", "logicalType": "timestamp-micros"}},
            {"name": "at", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]},
            {"name": "tags", "type": {"type": "map", "values": "string"}},
            {"name": "colour", "type": {"type": "enum", "name": "C", "symbols": ["R", "G"]}},
            {
                "name": "inner",
                "type": [
                    "null",
                    {
                        "type": "record",
                        "name": "Inner",
                        "fields": [
                            {"name": "who", "type": "string"},
                            {"name": "when", "type": ["null", "long"]},
                            {"name": "items", "type": {"type": "array", "items": "Four"}},
                            {"name": "nothing", "type": "null"},
                        ],
                    },
                ],
            },
        ],
    },
    source="test kitchen sink",
)
SCHEMAS = {schema_id(path): load_schema(path) for path in SCHEMA_FILES} | {"sink": KITCHEN_SINK}
SETTINGS = settings(
    max_examples=90,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TIMESTAMPS = st.one_of(st.none(), st.integers(-5, 2**45), st.just(253402300800000))
KEYS = st.one_of(st.none(), st.binary(max_size=6), st.sampled_from([b"kid-1", b" ", b"\xff"]))

Verdict = tuple[str, str | None, int | None]
"""("ok", subject, epoch micros) or (error class name, message, None)."""


def python_verdict(
    schema: AvroSchema,
    where: EventLocator,
    data: bytes,
    key: bytes | None,
    ts: int | None,
    canonical: bool,
) -> Verdict:
    origin = Origin("t", 1, 7)
    try:
        record = AvroCodec(schema, canonical=canonical).decode(data, origin=origin)
        env = where.locate(key=key, timestamp_ms=ts, record=record, origin=origin)
    except DecodeError as exc:
        return (type(exc).__name__, str(exc), None)
    micros = (env.event_time - EPOCH) // timedelta(microseconds=1)
    return ("ok", env.subject_id, micros)


def native_verdicts(
    locator: NativeLocator, batch: list[bytes], keys: list[bytes | None], ts: list[int | None]
) -> list[Verdict]:
    origins = [Origin("t", 1, 7)] * len(batch)
    out: list[Verdict] = []
    for found in locator.envelopes(batch, keys=keys, timestamps=ts, origins=origins):
        if isinstance(found, DecodeError):
            out.append((type(found).__name__, str(found), None))
        else:
            out.append(("ok", found.subject_id, (found.event_time - EPOCH) // timedelta(0, 0, 1)))
    return out


def encode(schema: AvroSchema, record: dict[str, Any]) -> bytes:
    out = BytesIO()
    schemaless_writer(out, schema.parsed, record)
    return out.getvalue()


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` as it is, cut, with bytes flipped, inserted or deleted, or garbage."""
    how = draw(
        st.sampled_from(["same", "cut", "flip", "stretch", "insert", "delete", "append", "random"])
    )
    if how == "random" or not data:
        return draw(st.binary(max_size=40))
    at = draw(st.integers(0, len(data) - 1))
    special = st.sampled_from([0x00, 0x01, 0x02, 0x7F, 0x80, 0xFF, 0xFE, 0x81])
    byte = draw(st.one_of(special, st.integers(0, 255)))
    if how == "cut":
        return data[:at]
    if how == "flip":
        return data[:at] + bytes([byte]) + data[at + 1 :]
    if how == "stretch":  # one more varint byte: the same number, not canonical
        return data[:at] + bytes([data[at] | 0x80, 0x00]) + data[at + 1 :]
    if how == "insert":
        return data[:at] + bytes([byte]) + data[at:]
    if how == "delete":
        return data[:at] + data[at + 1 :]
    if how == "append":
        return data + draw(st.binary(min_size=1, max_size=4))
    return data


def likely_paths(schema: AvroSchema) -> tuple[list[str], list[str]]:
    """Paths that may hold a subject id (strings, numbers, enums) and a time."""
    ids, times = [], []
    for path, info in field_index(schema).items():
        text = json.dumps(info.type)
        if any(t in text for t in ('"string"', '"long"', '"int"', '"enum"')):
            ids.append(path)
        if "timestamp" in text:
            times.append(path)
    return ids or list(field_index(schema)), times or ["timestamp"]


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_native_agrees_with_python(name: str) -> None:
    schema = SCHEMAS[name]
    paths = list(field_paths(schema))
    ids, times = likely_paths(schema)

    @SETTINGS
    @given(
        recs=st.lists(records(schema), min_size=1, max_size=4),
        subject=st.sampled_from(ids) | st.sampled_from([*paths, "key"]),
        event_time=st.sampled_from(times) | st.sampled_from([*paths, "timestamp"]),
        canonical=st.booleans(),
        data=st.data(),
    )
    def check(
        recs: list[dict[str, Any]], subject: str, event_time: str, canonical: bool, data: Any
    ) -> None:
        encoded = [encode(schema, rec) for rec in recs]
        batch = encoded + [data.draw(mutated(raw)) for raw in encoded for _ in range(3)]
        keys = [data.draw(KEYS) for _ in batch]
        ts = [data.draw(TIMESTAMPS) for _ in batch]
        where = EventLocator(subject, event_time)
        locator = NativeLocator(schema, subject, event_time, canonical=canonical)
        expected = [
            python_verdict(schema, where, raw, k, t, canonical)
            for raw, k, t in zip(batch, keys, ts, strict=True)
        ]
        assert native_verdicts(locator, batch, keys, ts) == expected

    check()


def test_whole_records_are_accepted_with_their_subject_and_time() -> None:
    schema = SCHEMAS["clickstream"]
    record = {
        "event_id": "e1",
        "user_id": "kid-42",
        "ts": datetime.fromisoformat("2026-03-01T08:00:00.123+00:00"),
        "action": "VIEW",
        "page": "/home",
        "device": {"device_id": "d", "os": "x"},
    }
    found = NativeLocator(schema, "user_id", "ts").envelopes([encode(schema, record)])
    assert [(e.subject_id, e.event_time) for e in found] == [("kid-42", record["ts"])]  # type: ignore[union-attr]


def test_negative_union_index_is_not_canonical_and_only_that() -> None:
    schema = SCHEMAS["sink"]
    # "id" is ["null", "string", "long"] and holds "x" (02 02 78): index -1 (zig-zag
    # 01) picks the long, 3 (06)
    raw = encode(schema, _sink_record())
    assert raw[:3] == b"\x02\x02x"
    tampered = b"\x01\x06" + raw[3:]
    strict = NativeLocator(schema, "n", "at_us").envelopes([tampered])
    lenient = NativeLocator(schema, "n", "at_us", canonical=False).envelopes([tampered])
    assert type(strict[0]).__name__ == "NonCanonicalEncoding"
    assert not isinstance(lenient[0], DecodeError)


def test_an_unknown_path_is_refused_with_the_schemas_fields() -> None:
    with pytest.raises(UnknownFieldPath, match="no field"):
        NativeLocator(SCHEMAS["clickstream"], "device.nope", "ts")


def test_an_unsupported_logical_type_is_refused_clearly() -> None:
    schema = parse_schema_dict(
        {
            "type": "record",
            "name": "U",
            "fields": [{"name": "id", "type": {"type": "string", "logicalType": "uuid"}}],
        },
        source="uuid.avsc",
    )
    with pytest.raises(UnsupportedFormat, match="uuid.avsc.*Uuid.*Python decoder"):
        NativeLocator(schema, "id", "timestamp")


def test_messages_name_no_record_contents() -> None:
    schema = SCHEMAS["clickstream"]
    marker = "fictional-child-name"
    rec = {
        "event_id": marker,
        "user_id": " ",
        "ts": EPOCH,
        "action": "VIEW",
        "page": marker,
        "device": {"device_id": marker, "os": marker},
    }
    raw = encode(schema, rec)
    found = NativeLocator(schema, "user_id", "ts").envelopes([raw, raw[:-3], raw + b"\x00"])
    assert all(isinstance(f, DecodeError) and marker not in str(f) for f in found)


def _sink_record() -> dict[str, Any]:
    return {
        "id": "x",
        "flag": True,
        "n": 3,
        "ratio": None,
        "share": 0.5,
        "raw": b"abcd",
        "blob": b"",
        "born": datetime(2015, 1, 1).date(),  # noqa: DTZ001
        "at_us": 1_700_000_000_000_000,
        "at": None,
        "tags": {},
        "colour": "G",
        "inner": None,
    }


def test_kitchen_sink_schema_is_what_the_strategies_draw() -> None:
    assert json.loads(KITCHEN_SINK.text)["name"] == "Sink"


@settings(max_examples=200, deadline=None)
@given(
    user_id=st.text(
        alphabet=st.sampled_from(" \t\n\x0b\x1c\x1f\x85\xa0\u1680\u180e\u200b\u2028\u3000\ufeffa"),
        max_size=4,
    )
)
def test_blank_subject_ids_are_what_python_calls_blank(user_id: str) -> None:
    schema = SCHEMAS["clickstream"]
    rec = {
        "event_id": "e",
        "user_id": user_id,
        "ts": EPOCH,
        "action": "VIEW",
        "page": "p",
        "device": {"device_id": "d", "os": "o"},
    }
    raw = encode(schema, rec)
    where = EventLocator("user_id", "ts")
    expected = python_verdict(schema, where, raw, None, None, True)
    assert native_verdicts(NativeLocator(schema, "user_id", "ts"), [raw], [None], [None]) == [
        expected
    ]


@pytest.mark.parametrize(
    ("branches", "raw"),
    [(["float", "double"], b"\x00" + bytes(4)), (["int", "long"], b"\x02\x0a")],
)
def test_numeric_union_branches_are_canonical_natively(branches: list[str], raw: bytes) -> None:
    """The one known difference: fastavro re-encodes a number in the branch it prefers
    for the Python type (double for float, int for int), so the Python canonical check
    rejects valid bytes in the other branch. The native side accepts them."""
    schema = parse_schema_dict(
        {"type": "record", "name": "R", "fields": [{"name": "x", "type": branches}]},
        source="r.avsc",
    )
    with pytest.raises(DecodeError, match="not the canonical"):
        AvroCodec(schema, canonical=True).decode(raw, origin=Origin.unknown())
    found = NativeLocator(schema, "x", "timestamp").envelopes([raw], timestamps=[0])
    # decoded: the long is the subject id "5"; a float is no id
    assert type(found[0]).__name__ in ("Envelope", "MissingSubject")
