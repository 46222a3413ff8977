"""The Confluent wire format: magic byte 0, a 4-byte big-endian schema id, Avro.

Writer schemas are fetched from the registry once per id and kept, parsed. A
registry that cannot answer (:class:`RegistryError`, e.g. unreachable) is not a
decode failure: the error goes up to the stream layer, which makes the event wait.
When the pipeline names a schema, records are resolved to it (Avro schema
evolution), so the stream layer always sees the pipeline's fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wardstream.serde.avro import AvroCodec, check_canonical, read_record
from wardstream.serde.errors import (
    BadMagicByte,
    EncodeError,
    SchemaLoadError,
    SchemaMismatch,
    SchemaNotFound,
    TruncatedRecord,
    UnknownSchemaId,
)
from wardstream.serde.schemas import AvroSchema, parse_schema_text
from wardstream.serde.types import Origin, Record, SchemaRegistry

MAGIC_BYTE = 0
HEADER_SIZE = 5


def frame(schema_id: int, body: bytes) -> bytes:
    """Prefix an Avro body with the Confluent header."""
    return bytes((MAGIC_BYTE,)) + schema_id.to_bytes(4, "big") + body


def schema_id_of(data: bytes, origin: Origin) -> int:
    """The schema id in a framed value's header."""
    if not data or len(data) < HEADER_SIZE:
        size = len(data) if data else 0
        raise TruncatedRecord(origin, f"{size} bytes, shorter than the 5-byte header")
    if data[0] != MAGIC_BYTE:
        raise BadMagicByte(origin)
    return int.from_bytes(data[1:HEADER_SIZE], "big")


class ConfluentAvroCodec:
    """Avro in the Confluent wire format (pipeline ``format: avro-confluent``).

    ``schema`` is the pipeline's schema: records are read into it and written
    with it, registered under ``subject`` (e.g. ``app.clickstream-value``)
    on the first ``encode``. Without ``schema`` records are read with their
    writer schemas as they are. Lookups go through ``registry`` once per id.
    ``canonical`` as for :class:`AvroCodec` (checked when no resolution is needed).
    """

    def __init__(
        self,
        registry: SchemaRegistry,
        *,
        schema: AvroSchema | None = None,
        subject: str | None = None,
        canonical: bool = False,
    ) -> None:
        self.registry = registry
        self.schema = schema
        self.subject = subject
        self.canonical = canonical
        self._readers: dict[int, tuple[AvroSchema, AvroSchema | None] | SchemaLoadError] = {}
        self._own_id: int | None = None
        self._writer = AvroCodec(schema) if schema is not None else None

    def decode(self, data: bytes, *, origin: Origin) -> Record:
        schema_id = schema_id_of(data, origin)
        entry = self._readers.get(schema_id)
        if entry is None:
            entry = self._readers[schema_id] = self._lookup(schema_id, origin)
        if isinstance(entry, SchemaLoadError):
            raise SchemaMismatch(
                origin,
                f"schema id {schema_id} in the registry is not a usable Avro record schema",
                fix="register a valid Avro record schema and produce with it",
            )
        writer, reader = entry
        record = read_record(data, writer, origin, reader=reader, start=HEADER_SIZE)
        if self.canonical and reader is None:
            check_canonical(record, data, writer, origin, HEADER_SIZE)
        return record

    def encode(self, record: Mapping[str, Any]) -> bytes:
        if self._writer is None or self.schema is None or self.subject is None:
            raise EncodeError(
                "?",
                "a Confluent codec needs a schema and a registry subject to write",
                "construct ConfluentAvroCodec with schema= and subject=",
            )
        if self._own_id is None:
            self._own_id = self.registry.register(self.subject, self.schema.text)
            self._readers[self._own_id] = (self.schema, None)
        return frame(self._own_id, self._writer.encode(record))

    def _lookup(
        self, schema_id: int, origin: Origin
    ) -> tuple[AvroSchema, AvroSchema | None] | SchemaLoadError:
        try:
            text = self.registry.get_schema(schema_id)
        except SchemaNotFound:
            pass  # raised below, outside the except
        except SchemaLoadError as exc:  # not a plain Avro schema: no use asking again
            return exc
        else:
            try:
                writer = parse_schema_text(text, source=f"registry schema id {schema_id}")
            except SchemaLoadError as exc:
                return exc
            same = self.schema is None or writer.text == self.schema.text
            return (writer, None if same else self.schema)
        raise UnknownSchemaId(origin, f"schema id {schema_id}")

    def __repr__(self) -> str:
        name = self.schema.name if self.schema else "writer schemas"
        return f"ConfluentAvroCodec({name}, subject={self.subject!r})"
