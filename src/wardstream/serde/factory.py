"""The codec for a pipeline's ``format``."""

from __future__ import annotations

from typing import Final

from wardstream.serde.avro import AvroCodec
from wardstream.serde.confluent import ConfluentAvroCodec
from wardstream.serde.errors import UnsupportedFormat
from wardstream.serde.jsoncodec import JsonCodec
from wardstream.serde.schemas import AvroSchema
from wardstream.serde.types import Codec, SchemaRegistry

FORMATS: Final = ("avro", "avro-confluent", "json")


def make_codec(
    fmt: str,
    schema: AvroSchema,
    *,
    registry: SchemaRegistry | None = None,
    subject: str | None = None,
    canonical: bool = False,
) -> Codec:
    """A codec for ``format: avro | avro-confluent | json`` and the pipeline's schema.

    ``avro-confluent`` needs ``registry``; ``subject`` (e.g. ``<sink>-value``)
    is where its ``encode`` registers the schema. ``canonical`` makes the Avro
    codecs also reject non-canonical encodings (about half the decode speed).
    """
    if fmt == "avro":
        return AvroCodec(schema, canonical=canonical)
    if fmt == "json":
        return JsonCodec(schema)
    if fmt == "avro-confluent":
        if registry is None:
            raise UnsupportedFormat(
                "format avro-confluent needs a schema registry",
                "set the schema-registry URL in the operator config",
            )
        return ConfluentAvroCodec(registry, schema=schema, subject=subject, canonical=canonical)
    raise UnsupportedFormat(f"unknown format {fmt!r}", f"use one of {', '.join(FORMATS)}")
