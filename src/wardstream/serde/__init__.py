"""Avro (fastavro), Confluent framing and JSON: the only package that imports fastavro.

The stream layer needs only what is listed here:

- schemas: :func:`load_schema`, :func:`record_schema` -> :class:`AvroSchema`
- codecs: :func:`make_codec` (or :class:`AvroCodec`, :class:`ConfluentAvroCodec`,
  :class:`JsonCodec`), each ``decode(data, *, origin) -> dict`` raising
  :class:`DecodeError` (and, for the Confluent codec, :class:`RegistryError` when the
  registry cannot answer now: the event waits), and ``encode(record) -> bytes``
  raising :class:`EncodeError`
- registries: :class:`HttpSchemaRegistry` (confluent-kafka's client, configured by
  :class:`RegistryAccess`), :class:`InMemorySchemaRegistry`
- pipeline vs registered schema: :func:`unmapped_paths`
- fields: :func:`get_path`, :func:`fields_present`, :func:`check_paths`
- redaction: :func:`redact`, :func:`redaction_plan`, :func:`unredactable`
- placing an event: :class:`EventLocator` (lazy path when ``needs_value`` is False)
- dead letters: :func:`dead_letter_record`
"""

from wardstream.serde.avro import AvroCodec
from wardstream.serde.confluent import ConfluentAvroCodec, frame, schema_id_of
from wardstream.serde.errors import (
    BadMagicByte,
    DecodeError,
    EncodeError,
    InvalidJson,
    MissingEventTime,
    MissingField,
    MissingSubject,
    NonCanonicalEncoding,
    RedactionImpossible,
    RegistryError,
    RegistryUnavailable,
    SchemaLoadError,
    SchemaMismatch,
    SchemaNotFound,
    SerdeError,
    TrailingBytes,
    TruncatedRecord,
    UnknownFieldPath,
    UnknownSchemaId,
    UnsupportedFormat,
    WrongType,
)
from wardstream.serde.factory import FORMATS, make_codec
from wardstream.serde.jsoncodec import JsonCodec
from wardstream.serde.lazy import Envelope, EventLocator, is_lazy, lazy_envelope
from wardstream.serde.memory_registry import InMemorySchemaRegistry
from wardstream.serde.paths import (
    check_paths,
    field_paths,
    fields_present,
    get_path,
    presence_names,
    presence_probe,
    unmapped_paths,
)
from wardstream.serde.records import dead_letter_record, kafka_headers, kafka_time
from wardstream.serde.redact import RedactionPlan, redact, redaction_plan, unredactable
from wardstream.serde.registry import HttpSchemaRegistry
from wardstream.serde.registry_access import OAuthClient, RegistryAccess
from wardstream.serde.schemas import AvroSchema, load_schema, parse_schema_text, record_schema
from wardstream.serde.types import Codec, Origin, Record, SchemaRegistry

__all__ = [
    "FORMATS",
    "AvroCodec",
    "AvroSchema",
    "BadMagicByte",
    "Codec",
    "ConfluentAvroCodec",
    "DecodeError",
    "EncodeError",
    "Envelope",
    "EventLocator",
    "HttpSchemaRegistry",
    "InMemorySchemaRegistry",
    "OAuthClient",
    "RegistryAccess",
    "InvalidJson",
    "JsonCodec",
    "MissingEventTime",
    "MissingField",
    "MissingSubject",
    "NonCanonicalEncoding",
    "Origin",
    "Record",
    "RedactionImpossible",
    "RedactionPlan",
    "RegistryError",
    "RegistryUnavailable",
    "SchemaLoadError",
    "SchemaMismatch",
    "SchemaNotFound",
    "SchemaRegistry",
    "SerdeError",
    "TrailingBytes",
    "TruncatedRecord",
    "UnknownFieldPath",
    "UnknownSchemaId",
    "UnsupportedFormat",
    "WrongType",
    "check_paths",
    "dead_letter_record",
    "field_paths",
    "fields_present",
    "frame",
    "get_path",
    "presence_names",
    "presence_probe",
    "is_lazy",
    "kafka_headers",
    "kafka_time",
    "lazy_envelope",
    "load_schema",
    "make_codec",
    "parse_schema_text",
    "record_schema",
    "redact",
    "redaction_plan",
    "schema_id_of",
    "unmapped_paths",
    "unredactable",
]
