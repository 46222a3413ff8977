"""fastavro and Apache avro read each other's bytes, for every schema."""

from __future__ import annotations

import io
from typing import Any

import avro.io
import avro.schema
import pytest
from hypothesis import given
from tests.unit.serde.test_serde_strategies import SCHEMA_FILES, SETTINGS, records, schema_id

from wardstream.serde import AvroCodec, AvroSchema, Origin, load_schema

ORIGIN = Origin("interop", 0, 0)


def apache_write(schema: AvroSchema, record: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    avro.io.DatumWriter(avro.schema.parse(schema.text)).write(record, avro.io.BinaryEncoder(out))
    return out.getvalue()


def apache_read(schema: AvroSchema, data: bytes) -> Any:
    parsed = avro.schema.parse(schema.text)
    return avro.io.DatumReader(parsed, parsed).read(avro.io.BinaryDecoder(io.BytesIO(data)))


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=schema_id)
def test_fastavro_bytes_read_by_apache_avro(path: str) -> None:
    schema = load_schema(path)
    codec = AvroCodec(schema)

    @SETTINGS
    @given(record=records(schema))
    def check(record: dict[str, Any]) -> None:
        assert apache_read(schema, codec.encode(record)) == record

    check()


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=schema_id)
def test_apache_avro_bytes_read_by_wardstream(path: str) -> None:
    schema = load_schema(path)
    codec = AvroCodec(schema)

    @SETTINGS
    @given(record=records(schema))
    def check(record: dict[str, Any]) -> None:
        data = apache_write(schema, record)
        assert codec.decode(data, origin=ORIGIN) == record
        assert codec.encode(record) == data  # both write the same canonical bytes

    check()
