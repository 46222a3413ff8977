"""Loading Avro schemas: parsed once, cached, with errors that name the file.

``load_schema(path)`` reads any ``.avsc`` (a pipeline's ``schema:``);
``record_schema(name)`` one of wardstream's own records in ``schemas/``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import SchemaParseException, UnknownType

from wardstream.serde.errors import SchemaLoadError

WARDSTREAM_RECORDS = (
    "SubjectProfile",
    "ConsentEvent",
    "GuardianRequest",
    "DeletionRequest",
    "GuardianNotice",
    "QuarantinedEvent",
    "DeadLetter",
    "Correction",
    "AuditRecord",
)
"""The records in ``schemas/`` (AuditRecord is owned by the audit package)."""

_AVRO_FIX = "correct the schema so that it is valid Avro (see avro.apache.org/docs, Specification)"


@dataclass(frozen=True, eq=False)
class AvroSchema:
    """A parsed Avro record schema. Compared and hashed by identity, so caches
    keyed on it are per loaded schema."""

    name: str
    """Full name, e.g. ``wardstream.ConsentEvent``."""
    source: str
    """The file, or ``registry id N``: for error messages."""
    text: str
    """Compact JSON text, what a schema registry is sent."""
    parsed: Any = field(repr=False)
    """fastavro's parsed form: only the serde package uses it."""

    @property
    def named_types(self) -> Mapping[str, Any]:
        """Full name -> definition of every named type in the schema."""
        named: Mapping[str, Any] = self.parsed.get("__named_schemas", {})
        return named


def parse_schema_dict(raw: Any, *, source: str) -> AvroSchema:
    """Parse a schema given as decoded JSON; it must be a record."""
    if not isinstance(raw, dict) or raw.get("type") != "record":
        raise SchemaLoadError(
            source,
            "the top-level schema is not a record",
            'wrap the fields in {"type": "record", "name": ..., "fields": [...]}',
        )
    try:
        parsed: Any = fastavro.parse_schema(raw)
    except (SchemaParseException, UnknownType, ValueError, TypeError, KeyError) as exc:
        raise SchemaLoadError(source, f"not a valid Avro schema: {exc}", _AVRO_FIX) from exc
    text = json.dumps(raw, separators=(",", ":"), sort_keys=True)
    return AvroSchema(name=parsed["name"], source=source, text=text, parsed=parsed)


def parse_schema_text(text: str, *, source: str) -> AvroSchema:
    """Parse a schema from its JSON text (a file's contents, a registry answer)."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaLoadError(
            f"{source} line {exc.lineno} column {exc.colno}",
            f"not valid JSON ({exc.msg})",
            "fix the JSON syntax at that place",
        ) from None
    return parse_schema_dict(raw, source=source)


def load_schema(path: str | os.PathLike[str] | Traversable) -> AvroSchema:
    """Load and parse an ``.avsc`` file; the same file is parsed only once."""
    if isinstance(path, Traversable) and not isinstance(path, Path):
        return _parse_resource(path)
    return _load_path(str(Path(os.fspath(path)).resolve()))


@lru_cache(maxsize=256)
def _load_path(resolved: str) -> AvroSchema:
    try:
        text = Path(resolved).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaLoadError(
            resolved,
            f"cannot read the schema file ({type(exc).__name__})",
            "check the path (relative paths are taken from the working directory) "
            "and that the file is UTF-8",
        ) from exc
    return parse_schema_text(text, source=resolved)


def _parse_resource(resource: Traversable) -> AvroSchema:
    try:
        text = resource.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaLoadError(
            str(resource), f"cannot read the schema ({type(exc).__name__})", "reinstall wardstream"
        ) from exc
    return parse_schema_text(text, source=str(resource))


def schemas_dir() -> Traversable:
    """The packaged ``schemas/`` directory (``src/wardstream/schemas``)."""
    return files("wardstream") / "schemas"


@lru_cache(maxsize=32)
def record_schema(name: str) -> AvroSchema:
    """One of wardstream's own records, e.g. ``record_schema("ConsentEvent")``."""
    resource = schemas_dir() / f"{name}.avsc"
    if not resource.is_file():
        raise SchemaLoadError(
            str(resource),
            f"wardstream has no record schema named {name!r}",
            f"use one of {', '.join(WARDSTREAM_RECORDS)}",
        )
    return _parse_resource(resource)
