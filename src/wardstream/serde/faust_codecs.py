"""wardstream codecs as Faust codecs: ``codecs.register(name, codec)``.

Kept apart so that importing the rest of serde does not import Faust. A Faust
codec has no Kafka coordinates, so its decode errors carry ``Origin.unknown()``;
agents that dead-letter should read raw bytes and call the codecs directly.
"""

from __future__ import annotations

from typing import Any

from faust.serializers import codecs as faust_codecs

from wardstream.serde.avro import AvroCodec
from wardstream.serde.schemas import WARDSTREAM_RECORDS, record_schema, schemas_dir
from wardstream.serde.types import Codec, Origin


class FaustCodec(faust_codecs.Codec):
    """Adapts a wardstream :class:`Codec` to Faust's ``_loads``/``_dumps``."""

    def __init__(self, codec: Codec, children: Any = None, **kwargs: Any) -> None:
        super().__init__(children=children, codec=codec, **kwargs)
        self.codec = codec

    def _loads(self, s: bytes) -> Any:
        return self.codec.decode(s, origin=Origin.unknown())

    def _dumps(self, s: Any) -> bytes:
        return self.codec.encode(s)


def register_codec(name: str, codec: Codec) -> str:
    """Register ``codec`` under ``name`` for Faust topics' serializers."""
    faust_codecs.register(name, FaustCodec(codec))
    return name


def register_record_codecs() -> list[str]:
    """Register a codec for each wardstream record, named by its Avro full name
    (``wardstream.ConsentEvent``, ...). Returns the names registered."""
    names = []
    for record in WARDSTREAM_RECORDS:
        if (schemas_dir() / f"{record}.avsc").is_file():
            schema = record_schema(record)
            names.append(register_codec(schema.name, AvroCodec(schema)))
    return names
