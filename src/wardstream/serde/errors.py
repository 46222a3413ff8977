"""The serde package's errors.

Every message says what was wrong and how to fix it, and never contains the
payload bytes or a field's value: only topic, partition, offset, schema and
field names, sizes and type names. Decode and encode errors are raised outside
the ``except`` block that caught the library's exception, on purpose: that
exception (``UnicodeDecodeError``, ``JSONDecodeError``, fastavro's messages)
may quote the payload, and a chained ``__cause__``/``__context__`` would carry
it into logs. Its class name is kept in ``cause_type``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from wardstream.errors import WardstreamError
from wardstream.serde.types import Origin

__all__ = [
    "BadMagicByte",
    "DecodeError",
    "EncodeError",
    "InvalidJson",
    "MissingEventTime",
    "MissingField",
    "MissingSubject",
    "NonCanonicalEncoding",
    "Origin",
    "RedactionImpossible",
    "RegistryError",
    "RegistryUnavailable",
    "SchemaLoadError",
    "SchemaMismatch",
    "SchemaNotFound",
    "SerdeError",
    "TrailingBytes",
    "TruncatedRecord",
    "UnknownFieldPath",
    "UnknownSchemaId",
    "UnsupportedFormat",
    "WrongType",
]

_CHECK_FORMAT = (
    "check that the pipeline's format and schema are the ones the producer uses "
    "(avro = schemaless Avro with exactly this writer schema, avro-confluent = "
    "registry framing, json = one JSON object)"
)


class SerdeError(WardstreamError):
    """Root of the serde package's errors."""


class DecodeError(SerdeError):
    """A value's bytes could not be turned into a valid record.

    The stream layer sends the event to the dead-letter topic with
    ``error_type`` (the class name), ``code`` and ``str(error)``.
    """

    code: ClassVar[str] = "DECODE_ERROR"
    problem: ClassVar[str] = "the value could not be decoded"
    fix: ClassVar[str] = _CHECK_FORMAT

    def __init__(
        self, origin: Origin, detail: str = "", *, fix: str | None = None, cause: str | None = None
    ) -> None:
        self.origin = origin
        self.detail = detail
        self.cause_type = cause
        text = f"{origin}: {self.problem}"
        if detail:
            text += f" ({detail})"
        super().__init__(f"{text}. Fix: {fix or self.fix}")

    @property
    def topic(self) -> str:
        return self.origin.topic

    @property
    def partition(self) -> int:
        return self.origin.partition

    @property
    def offset(self) -> int:
        return self.origin.offset

    @property
    def error_type(self) -> str:
        return type(self).__name__


class TruncatedRecord(DecodeError):
    code = "TRUNCATED_RECORD"
    problem = "the value ended before the schema's last field was read"


class TrailingBytes(DecodeError):
    code = "TRAILING_BYTES"
    problem = "bytes were left over after the whole record was read"
    fix = (
        "the producer writes with a different (often newer) schema than the pipeline's: "
        "point `schema:` at the producer's writer schema, or use format avro-confluent "
        "so that the writer schema travels with each record"
    )


class BadMagicByte(DecodeError):
    code = "BAD_MAGIC_BYTE"
    problem = "the value does not start with the Confluent magic byte 0"
    fix = (
        "the producer does not use a schema-registry serializer: set the pipeline's "
        "format to avro (schemaless) or json"
    )


class UnknownSchemaId(DecodeError):
    code = "UNKNOWN_SCHEMA_ID"
    problem = "the schema id in the value's header is not in the schema registry"
    fix = (
        "check that the worker uses the producer's schema registry (registry URL in "
        "the operator config) and that the schema was not deleted"
    )


class SchemaMismatch(DecodeError):
    code = "SCHEMA_MISMATCH"
    problem = "the value does not match the schema"


class NonCanonicalEncoding(SchemaMismatch):
    code = "NON_CANONICAL_ENCODING"
    problem = "the value decodes, but is not how Avro encodes the record it decodes to"
    fix = (
        "the bytes are corrupt or written by a non-standard Avro writer (negative union "
        "or enum index, over-long varint, boolean other than 0/1, array in several blocks): "
        "check the producer"
    )


class WrongType(SchemaMismatch):
    code = "WRONG_TYPE"
    problem = "a field has the wrong type for the schema"
    fix = "make the producer write the field with the type the pipeline's schema declares"


class MissingField(SchemaMismatch):
    code = "MISSING_FIELD"
    problem = "a field the schema requires (no default) is missing"
    fix = "make the producer write the field, or give it a default in the pipeline's schema"


class InvalidJson(DecodeError):
    code = "INVALID_JSON"
    problem = "the value is not one UTF-8 JSON object"
    fix = (
        "make the producer write one UTF-8 JSON object per value (no NaN, no duplicate "
        "keys), or set the pipeline's format to avro or avro-confluent if the values are Avro"
    )


class MissingSubject(DecodeError):
    code = "MISSING_SUBJECT"
    problem = "the event carries no subject id"
    fix = (
        "make the producer set the pipeline's subject field (or the record key when "
        "`subject: key`), or point `subject:` at the field that holds the user id"
    )


class MissingEventTime(DecodeError):
    code = "MISSING_EVENT_TIME"
    problem = "the event carries no event time"
    fix = (
        "make the producer set the pipeline's event_time field, or use "
        "`event_time: timestamp` to take the Kafka record timestamp"
    )


class SchemaLoadError(SerdeError):
    """A schema file or registry schema is not valid Avro, or not a record."""

    def __init__(self, source: str, problem: str, fix: str) -> None:
        self.source, self.problem, self.fix = source, problem, fix
        super().__init__(f"{source}: {problem}. Fix: {fix}")


class EncodeError(SerdeError):
    """A record does not match the schema it is written with."""

    def __init__(self, schema_name: str, problem: str, fix: str | None = None) -> None:
        self.schema_name = schema_name
        hint = fix or "build the record with the types its schema declares"
        super().__init__(f"cannot encode {schema_name}: {problem}. Fix: {hint}")


class RegistryError(SerdeError):
    """The schema registry answered with an error, or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None):
        self.status = status
        self.code = code
        self.message = message
        where = f" (HTTP {status}, error code {code})" if status is not None else ""
        super().__init__(f"schema registry{where}: {message}")


class SchemaNotFound(RegistryError):
    """The registry has no schema with the id asked for."""


class RegistryUnavailable(RegistryError):
    """The registry could not be reached; retry rather than dead-letter."""


class RedactionImpossible(SerdeError):
    """Fields can be neither set to null nor to a default, so they cannot go.

    Not a decode failure: the stream layer quarantines the event with reason
    ``REDACTION_IMPOSSIBLE`` and lists ``fields`` as its blocking fields.
    """

    code: ClassVar[str] = "REDACTION_IMPOSSIBLE"

    def __init__(self, schema_name: str, fields: Iterable[str]) -> None:
        self.schema_name = schema_name
        self.fields = frozenset(fields)
        names = ", ".join(sorted(self.fields))
        super().__init__(
            f"{schema_name}: field(s) {names} are neither nullable nor have a default, "
            "so they cannot be removed from the event. Fix: make them nullable "
            '(["null", ...] with default null) or give them a default in the schema, '
            "or ask for a consent that covers their data categories"
        )


class UnknownFieldPath(SerdeError):
    """A pipeline names field paths its schema does not have."""

    def __init__(self, schema_name: str, paths: Iterable[str], known: Iterable[str]) -> None:
        self.schema_name = schema_name
        self.paths = frozenset(paths)
        super().__init__(
            f"{schema_name} has no field(s) {', '.join(sorted(self.paths))}. Fix: use a "
            f"dotted path through records, one of: {', '.join(sorted(known))}"
        )


class UnsupportedFormat(SerdeError):
    """A pipeline format serde has no codec for, or lacks what it needs."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}. Fix: {fix}")
