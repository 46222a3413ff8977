"""10,000 random and mutated values through every codec: only typed DecodeErrors.

A value that does decode must be a record valid for the codec's schema.
"""

from __future__ import annotations

import json
import random
import string
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastavro.validation import validate
from hypothesis import event, given, settings
from hypothesis import strategies as st
from tests.unit.reach import Reach
from tests.unit.serde.test_serde_strategies import EXAMPLE_FILES, SCHEMA_FILES, records, schema_id

from wardstream.serde import (
    AvroCodec,
    AvroSchema,
    Codec,
    ConfluentAvroCodec,
    DecodeError,
    InMemorySchemaRegistry,
    JsonCodec,
    Origin,
    frame,
    load_schema,
)

INPUTS = 10_000
ORIGIN = Origin("fuzz", 0, 0)
SPECIAL = [0x00, 0x01, 0x02, 0x7F, 0x80, 0xFF, 0xFE, ord("{"), ord('"'), ord("[")]


def random_value(node: Any, named: dict[str, Any], rng: random.Random) -> Any:
    """A valid value of an Avro type, for seeding mutations."""
    if isinstance(node, list):
        return random_value(rng.choice(node), named, rng)
    if isinstance(node, str):
        simple = {
            "null": lambda: None,
            "boolean": lambda: rng.random() < 0.5,
            "int": lambda: rng.randint(-(2**31), 2**31 - 1),
            "long": lambda: rng.randint(-(2**40), 2**40),
            "float": lambda: float(rng.randint(-1000, 1000)),
            "double": lambda: rng.uniform(-1e6, 1e6),
            "string": lambda: "".join(rng.choices(string.printable + "儿童", k=rng.randrange(12))),
            "bytes": lambda: rng.randbytes(rng.randrange(8)),
        }
        return simple[node]() if node in simple else random_value(named[node], named, rng)
    logical, kind = node.get("logicalType"), node["type"]
    if logical == "timestamp-millis":
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(milliseconds=rng.randrange(10**10))
    if logical == "date":
        return date(2010, 1, 1) + timedelta(days=rng.randrange(6000))
    if kind == "record":
        named.setdefault(node["name"], node)
        return {f["name"]: random_value(f["type"], named, rng) for f in node["fields"]}
    if kind == "enum":
        named.setdefault(node["name"], node)
        return rng.choice(node["symbols"])
    if kind == "array":
        return [random_value(node["items"], named, rng) for _ in range(rng.randrange(3))]
    if kind == "map":
        return {f"k{i}": random_value(node["values"], named, rng) for i in range(rng.randrange(3))}
    return random_value(kind, named, rng)


def mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(8)
        at = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[min(at, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:
            buf[min(at, len(buf) - 1)] = rng.choice(SPECIAL)
        elif op == 2:
            del buf[at:]
        elif op == 3:
            buf[at:at] = rng.randbytes(rng.randint(1, 8))
        elif op == 4:
            del buf[at : at + rng.randint(1, 8)]
        elif op == 5:
            buf[at:at] = buf[at : at + rng.randint(1, 16)]
        elif op == 6:
            buf[at:at] = bytes([0xFF] * rng.randint(1, 10) + [0x7F])  # a huge varint
        else:
            buf[1:5] = rng.randrange(8).to_bytes(4, "big")  # another schema id
    return bytes(buf)


def seeds(schemas: list[AvroSchema], rng: random.Random) -> list[bytes]:
    out = []
    for number, schema in enumerate(schemas, start=1):
        avro, json = AvroCodec(schema), JsonCodec(schema)
        for _ in range(10):
            record = random_value(schema.parsed, dict(schema.named_types), rng)
            body = avro.encode(record)
            out += [body, frame(number, body), json.encode(record)]
    return out


def fuzz_inputs(schemas: list[AvroSchema]) -> list[bytes]:
    rng = random.Random(20261122)
    valid = seeds(schemas, rng)
    inputs = [rng.randbytes(rng.randrange(64)) for _ in range(INPUTS // 5)]
    inputs += [bytes([0]) + rng.randbytes(rng.randrange(64)) for _ in range(INPUTS // 10)]
    while len(inputs) < INPUTS:
        inputs.append(mutate(rng.choice(valid), rng))
    return inputs


def codecs_under_test(examples: list[AvroSchema]) -> list[tuple[Codec, AvroSchema | None]]:
    registry = InMemorySchemaRegistry()
    for schema in examples:
        registry.register(f"{schema.name}-value", schema.text)
    codecs: list[tuple[Codec, AvroSchema | None]] = []
    for path in SCHEMA_FILES:
        schema = load_schema(path)
        codecs.append((AvroCodec(schema), schema))
    for schema in examples:
        codecs.append((JsonCodec(schema), schema))
        codecs.append((AvroCodec(schema, canonical=True), schema))
    codecs.append((ConfluentAvroCodec(registry, schema=examples[0]), examples[0]))
    codecs.append((ConfluentAvroCodec(registry), None))
    return codecs


@pytest.mark.timeout(120)
def test_only_typed_decode_errors() -> None:
    examples = [load_schema(path) for path in EXAMPLE_FILES]
    inputs = fuzz_inputs(examples)
    assert len(inputs) == INPUTS
    failures: list[str] = []
    decoded = errors = 0
    for codec, schema in codecs_under_test(examples):
        for number, data in enumerate(inputs):
            try:
                record = codec.decode(data, origin=ORIGIN)
            except DecodeError:
                errors += 1
                continue
            except Exception as exc:  # anything else is the failure this test looks for
                failures.append(f"{codec!r} input {number}: {type(exc).__name__}")
                continue
            decoded += 1
            if schema is not None and not validate(record, schema.parsed, raise_errors=False):
                failures.append(f"{codec!r} input {number}: decoded to an invalid record")
    assert not failures, failures[:20]
    assert decoded and errors  # the mix exercises both outcomes


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)


@st.composite
def json_shapes(draw: st.DrawFn, schema: AvroSchema, codec: JsonCodec) -> dict[str, Any]:
    """JSON objects near the schema: a valid record's JSON, often with one field dropped,
    added or given a value of any JSON type; sometimes any object at all."""
    names = [field["name"] for field in schema.parsed["fields"]]
    if draw(st.integers(0, 5)) == 0:
        event("shape: any object")
        keys = st.sampled_from(names) | st.text(max_size=4)
        anything: dict[str, Any] = draw(st.dictionaries(keys, _JSON, max_size=12))
        return anything
    value: dict[str, Any] = json.loads(codec.encode(draw(records(schema))))
    change = draw(st.sampled_from(["none", "none", "none", "drop", "add", "retype"]))
    event(f"shape: {change}")
    if change == "drop":
        del value[draw(st.sampled_from(sorted(value)))]
    elif change == "add":
        value[draw(st.text(max_size=4))] = draw(_JSON)
    elif change == "retype":
        value[draw(st.sampled_from(sorted(value)))] = draw(_JSON)
    return value


@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=schema_id)
def test_json_with_any_shape_gives_a_record_or_a_typed_error(path: str, reach: Reach) -> None:
    schema = load_schema(path)
    codec = JsonCodec(schema)
    runs = settings(max_examples=100, deadline=None)

    @runs
    @given(json_shapes(schema, codec))
    def check(value: dict[str, Any]) -> None:
        data = json.dumps(value).encode()
        try:
            record = codec.decode(data, origin=ORIGIN)
        except DecodeError:
            event("a typed DecodeError")
            return
        reach.reached("decoded: valid for the schema and round-trips")
        assert validate(record, schema.parsed, raise_errors=False)
        assert codec.decode(codec.encode(record), origin=ORIGIN) == record

    check()
    reach.at_least_half(runs)
