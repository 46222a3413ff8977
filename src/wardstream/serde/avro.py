"""Schemaless Avro: the writer schema comes from a file, not from the bytes.

Decoding is strict: the reader must consume exactly all bytes (leftovers mean
the bytes were written with another schema), and any failure of the reader is
turned into a typed :class:`DecodeError` that names the record's origin.

fastavro reads a negative union or enum index as a Python negative index (-1
picks the last branch), so some garbage decodes. ``canonical=True`` catches
that and every other non-canonical encoding (over-long varints, booleans other
than 0/1, arrays in several blocks) by re-encoding the record and comparing
bytes, at about twice the cost of decoding.
"""

from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from typing import Any

from fastavro import schemaless_reader, schemaless_writer
from fastavro.read import SchemaResolutionError
from fastavro.validation import ValidationError, validate

from wardstream.serde.errors import (
    DecodeError,
    EncodeError,
    NonCanonicalEncoding,
    SchemaMismatch,
    TrailingBytes,
    TruncatedRecord,
)
from wardstream.serde.schemas import AvroSchema
from wardstream.serde.types import Origin, Record

# What fastavro's readers raise on bytes that do not fit the schema: a bad
# union or enum index (IndexError), bad UTF-8 (UnicodeDecodeError, a
# ValueError), a date or timestamp out of range (OverflowError, ValueError),
# a negative length (ValueError, MemoryError), deep recursive data.
_READ_FAILURES: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    OverflowError,
    RecursionError,
    MemoryError,
    AttributeError,
)
_WRITE_FAILURES: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
)


def read_record(
    data: bytes,
    writer: AvroSchema,
    origin: Origin,
    *,
    reader: AvroSchema | None = None,
    start: int = 0,
) -> Record:
    """Decode one record from ``data[start:]``, which it must fill exactly."""
    if not data or len(data) <= start:
        raise TruncatedRecord(origin, "the value is empty (a tombstone?)")
    stream = BytesIO(data)
    if start:
        stream.seek(start)
    error: DecodeError | None = None
    try:
        record = schemaless_reader(stream, writer.parsed, reader.parsed if reader else None)
    except EOFError:
        error = TruncatedRecord(origin, f"{len(data) - start} bytes")
    except SchemaResolutionError:
        error = SchemaMismatch(
            origin,
            f"writer schema {writer.name} cannot be read as {reader.name if reader else '?'}",
            fix="make the pipeline's schema a compatible evolution of the producer's",
        )
    except _READ_FAILURES as exc:
        if isinstance(exc, IndexError) and stream.tell() >= len(data):  # a cut varint
            error = TruncatedRecord(origin, f"{len(data) - start} bytes", cause="IndexError")
        else:
            cause = type(exc).__name__
            error = SchemaMismatch(origin, f"not valid {writer.name} bytes", cause=cause)
    if error is not None:
        raise error  # outside the except: no __context__ that may quote the payload
    left = len(data) - stream.tell()
    if left:
        raise TrailingBytes(origin, f"{left} of {len(data) - start} bytes unread")
    if not isinstance(record, dict):
        raise SchemaMismatch(origin, f"{writer.name} did not decode to a record")
    return record


def check_canonical(
    record: Record, data: bytes, schema: AvroSchema, origin: Origin, start: int
) -> None:
    """Raise :class:`NonCanonicalEncoding` unless ``data[start:]`` is exactly how
    ``record`` encodes."""
    out = BytesIO()
    same = False
    try:
        schemaless_writer(out, schema.parsed, record)
        same = out.getbuffer() == memoryview(data)[start:]
    except _WRITE_FAILURES:
        pass
    if not same:
        raise NonCanonicalEncoding(origin, f"not the canonical {schema.name} encoding")


def invalid_fields(record: Mapping[str, Any], schema: AvroSchema) -> list[str]:
    """Names (never values) of the fields that do not match the schema."""
    try:
        validate(record, schema.parsed, raise_errors=True)
    except ValidationError as exc:
        return sorted({str(err.field) for err in exc.errors})
    except _WRITE_FAILURES:
        return ["?"]
    return []


def encode_failure(record: Mapping[str, Any], schema: AvroSchema) -> EncodeError:
    """An :class:`EncodeError` naming the offending fields, not their values."""
    if not isinstance(record, Mapping):
        return EncodeError(schema.name, f"expected a mapping, got {type(record).__name__}")
    fields = invalid_fields(record, schema) or ["?"]
    return EncodeError(schema.name, f"field(s) {', '.join(fields)} do not match the schema")


class AvroCodec:
    """Schemaless Avro with a fixed writer schema (pipeline ``format: avro``).

    ``reader``, when given, is the schema records are resolved to (Avro schema
    evolution); by default records are read with the writer schema.
    ``canonical`` rejects non-canonical encodings (see the module docstring);
    it has no effect with a ``reader``.
    Not thread-safe: one codec per worker thread (it reuses its output buffer).
    """

    def __init__(
        self, schema: AvroSchema, *, reader: AvroSchema | None = None, canonical: bool = False
    ) -> None:
        self.schema = schema
        self.reader = reader
        self.canonical = canonical and reader is None
        self._out = BytesIO()

    def decode(self, data: bytes, *, origin: Origin) -> Record:
        record = read_record(data, self.schema, origin, reader=self.reader)
        if self.canonical:
            check_canonical(record, data, self.schema, origin, 0)
        return record

    def encode(self, record: Mapping[str, Any]) -> bytes:
        out = self._out
        out.seek(0)
        out.truncate()
        try:
            schemaless_writer(out, self.schema.parsed, record)
            return out.getvalue()
        except _WRITE_FAILURES:
            pass  # raised below, outside the except: no __context__ quoting a value
        raise encode_failure(record, self.schema)

    def __repr__(self) -> str:
        return f"AvroCodec({self.schema.name})"
