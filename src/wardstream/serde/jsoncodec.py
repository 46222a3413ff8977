"""JSON values checked against the pipeline's Avro schema (``format: json``).

One UTF-8 JSON object per value. Fields are checked against the Avro field
types (see ``_json_read`` for the mapping): a wrong type, a missing required
field, a duplicate key or a NaN is a :class:`DecodeError`. Keys the schema does
not name are dropped from the decoded record, so re-encoding a record (as the
stream layer does for a child's event) leaves out fields nobody classified.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from wardstream.serde._json_compile import Convert, JsonTypeError, json_type
from wardstream.serde._json_read import ReadCompiler
from wardstream.serde._json_write import WriteCompiler
from wardstream.serde.errors import (
    DecodeError,
    EncodeError,
    InvalidJson,
    MissingField,
    SchemaMismatch,
    WrongType,
)
from wardstream.serde.schemas import AvroSchema
from wardstream.serde.types import Origin, Record


@lru_cache(maxsize=128)
def compile_reader(schema: AvroSchema) -> Convert:
    """JSON value -> record converter for a schema (compiled once)."""
    return ReadCompiler(schema.named_types).compile(schema.parsed, "")


@lru_cache(maxsize=128)
def compile_writer(schema: AvroSchema) -> Convert:
    """Record -> JSON value converter for a schema (compiled once)."""
    return WriteCompiler(schema.named_types).compile(schema.parsed, "")


def _refuse_constant(name: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate key in an object")
    return obj


def parse_json(data: bytes, origin: Origin) -> Any:
    """Strict JSON: UTF-8, no duplicate keys, no NaN. Raises InvalidJson."""
    error: DecodeError | None = None
    try:
        return json.loads(
            bytes(data).decode("utf-8"),
            object_pairs_hook=_unique_keys,
            parse_constant=_refuse_constant,
        )
    except UnicodeDecodeError:
        error = InvalidJson(origin, "not UTF-8", cause="UnicodeDecodeError")
    except json.JSONDecodeError as exc:
        error = InvalidJson(origin, f"line {exc.lineno} column {exc.colno}: {exc.msg}")
    except (ValueError, RecursionError) as exc:
        detail = "nested too deeply" if isinstance(exc, RecursionError) else _safe_reason(exc)
        error = InvalidJson(origin, detail, cause=type(exc).__name__)
    raise error


def _safe_reason(exc: BaseException) -> str:
    # Only our own messages are passed on; the json module's others may quote input.
    text = str(exc)
    if text in ("NaN and Infinity are not JSON", "duplicate key in an object"):
        return text
    return "a number too large to parse"


def type_error(origin: Origin, exc: JsonTypeError) -> SchemaMismatch:
    """The typed decode error for a value that does not fit the schema."""
    if exc.missing:
        return MissingField(origin, f"field {exc.path}")
    return WrongType(origin, f"field {exc.path} must be {exc.expected}, got {exc.got}")


class JsonCodec:
    """JSON objects validated against an Avro schema (pipeline ``format: json``)."""

    def __init__(self, schema: AvroSchema) -> None:
        self.schema = schema
        self._read = compile_reader(schema)
        self._write = compile_writer(schema)

    def decode(self, data: bytes, *, origin: Origin) -> Record:
        if not data:
            raise InvalidJson(origin, "the value is empty")
        value = parse_json(data, origin)
        if type(value) is not dict:
            raise WrongType(origin, f"the value is a JSON {json_type(value)}, not an object")
        error: DecodeError
        try:
            record: Record = self._read(value)
            return record
        except JsonTypeError as exc:
            error = type_error(origin, exc)
        except RecursionError:
            error = SchemaMismatch(origin, "nested too deeply", cause="RecursionError")
        raise error

    def encode(self, record: Mapping[str, Any]) -> bytes:
        problem = ""
        try:
            value = self._write(record)
        except JsonTypeError as exc:
            problem = f"field {exc.path} must be {exc.expected}, got {exc.got}"
        if problem:
            raise EncodeError(self.schema.name, problem)
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: escape everything instead
            return json.dumps(value, separators=(",", ":"), allow_nan=False).encode("ascii")

    def __repr__(self) -> str:
        return f"JsonCodec({self.schema.name})"
