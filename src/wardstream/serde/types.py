"""The contracts of the serde package: where a record came from, codecs, registries.

Plain types with no fastavro in them, so that the stream layer can type against
them without importing an Avro library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

Record = dict[str, Any]
"""A decoded record: field name -> value (nested records are dicts too).

Values use Python types: ``timestamp-millis`` is an aware UTC ``datetime``,
``date`` a ``datetime.date``, ``bytes`` ``bytes``, enums their symbol ``str``.
"""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a record came from: the coordinates every decode error carries."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}] offset={self.offset}"

    @classmethod
    def unknown(cls) -> Origin:
        """For callers that have no Kafka coordinates (Faust codecs, tests)."""
        return cls(topic="?", partition=-1, offset=-1)


@runtime_checkable
class Codec(Protocol):
    """Turns a Kafka value's bytes into a record and back.

    ``decode`` raises only :class:`~wardstream.serde.errors.DecodeError`
    subclasses, whatever the bytes; ``encode`` raises only
    :class:`~wardstream.serde.errors.EncodeError`.
    """

    def decode(self, data: bytes, *, origin: Origin) -> Record: ...

    def encode(self, record: Mapping[str, Any]) -> bytes: ...


@runtime_checkable
class SchemaRegistry(Protocol):
    """The two calls of the Confluent schema-registry API that codecs need.

    ``get_schema`` returns the schema's JSON text and raises
    :class:`~wardstream.serde.errors.SchemaNotFound` for an unknown id;
    ``register`` returns the id of the schema under ``subject`` (registering it
    when it is new). Both raise :class:`~wardstream.serde.errors.RegistryError`
    for any other failure.
    """

    def get_schema(self, schema_id: int) -> str: ...

    def register(self, subject: str, schema: str) -> int: ...
