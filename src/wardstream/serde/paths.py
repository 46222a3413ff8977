"""Dotted field paths into records: ``get_path(record, "geo.city")``.

A path goes through fields of records (and of nullable records: a union of
``null`` and one record); it does not go into arrays, maps or unions of several
records, whose whole field is the unit a pipeline classifies, and it stops at a
record already on the path (a recursive schema). :func:`field_index` is the one
walker of a schema's fields: ``wardstream check``, redaction and the worker all
take the paths that exist from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from wardstream.serde.errors import UnknownFieldPath
from wardstream.serde.schemas import AvroSchema


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One field of a (possibly nested) record, as redaction sees it."""

    path: str
    parent: str | None
    """Path of the enclosing record field; None at the top level."""
    type: Any
    """The field's type as fastavro parsed it (named types as their name)."""
    nullable: bool
    """The type is a union with ``null`` (or is ``null``)."""
    has_default: bool
    default: Any
    kinds: frozenset[str] = frozenset()
    """Type name of each non-null branch (``string``, ``bytes``, ``record``, ``enum``,
    ``array``...), with ``/<logicalType>`` when it has one (``long/timestamp-millis``)."""

    @property
    def droppable(self) -> bool:
        """Redaction can remove the value: the type is nullable or the field has a default."""
        return self.nullable or self.has_default


@lru_cache(maxsize=64)
def _split(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def get_path(record: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path, or None when it or a record above it is null
    or absent."""
    node: Any = record
    for part in _split(path):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
        if node is None:
            return None
    return node


def has_data(value: Any) -> bool:
    """Whether a value carries anything: not null, not an empty array or map."""
    if value is None:
        return False
    if isinstance(value, list | dict):
        return bool(value)
    return True


def fields_present(record: Mapping[str, Any], paths: Iterable[str]) -> frozenset[str]:
    """The paths whose value carries data (not null, not an empty array or map).

    Empty arrays and maps count as absent: they hold no personal information,
    and they are what redacting a field with an empty default leaves.
    """
    return frozenset(path for path in paths if has_data(get_path(record, path)))


def presence_probe(paths: Iterable[str]) -> Callable[[Mapping[str, Any]], frozenset[str]]:
    """A compiled :func:`fields_present` for a fixed set of paths (the hot path).

    The probe also reports every top-level field whose name no path starts
    with, so that callers see unlisted fields (what minimisation removes).
    """
    listed = tuple(paths)
    flat = tuple(p for p in listed if "." not in p)
    nested = tuple((p, _split(p)) for p in listed if "." in p)
    roots = _roots(listed)

    def probe(record: Mapping[str, Any]) -> frozenset[str]:
        present = [p for p in flat if has_data(record.get(p))]
        for path, parts in nested:
            node: Any = record
            for part in parts:
                node = node.get(part) if isinstance(node, dict) else None
                if node is None:
                    break
            if has_data(node):
                present.append(path)
        present.extend(k for k, v in record.items() if k not in roots and has_data(v))
        return frozenset(present)

    return probe


def _roots(paths: Iterable[str]) -> frozenset[str]:
    """The top-level fields the paths start with (their other fields are unlisted)."""
    return frozenset(p.split(".", 1)[0] for p in paths)


def presence_names(schema: AvroSchema, paths: Iterable[str]) -> frozenset[str]:
    """Every name :func:`presence_probe` over ``paths`` can report for a record of
    ``schema``: the paths, and the schema's top-level fields that none starts with."""
    listed = frozenset(paths)
    top = {path for path in field_paths(schema) if "." not in path}
    return listed | (top - _roots(listed))


def resolve(node: Any, named: Mapping[str, Any]) -> Any:
    """A named type's definition, for a type given by name; else the node."""
    if isinstance(node, str):
        return named.get(node, node)
    return node


def record_of(node: Any, named: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The record a field holds: its type is a record or ``["null", record]``."""
    node = resolve(node, named)
    if isinstance(node, list):
        branches = [resolve(branch, named) for branch in node if branch != "null"]
        node = branches[0] if len(branches) == 1 else None
    if isinstance(node, dict) and node.get("type") == "record":
        return node
    return None


def _is_nullable(node: Any) -> bool:
    return node == "null" or (isinstance(node, list) and "null" in node)


def _kind_of(node: Any, named: Mapping[str, Any]) -> str:
    if isinstance(node, list):
        return "union"
    if isinstance(node, str):
        target = named.get(node)
        return str(target.get("type")) if isinstance(target, dict) else node
    kind = node.get("type")
    if isinstance(kind, dict | list):
        return _kind_of(kind, named)
    logical = node.get("logicalType")
    return f"{kind}/{logical}" if logical else str(kind)


def _kinds(node: Any, named: Mapping[str, Any]) -> frozenset[str]:
    branches = node if isinstance(node, list) else [node]
    return frozenset(_kind_of(branch, named) for branch in branches if branch != "null")


def _walk(
    record: Mapping[str, Any],
    named: Mapping[str, Any],
    parent: str | None,
    seen: frozenset[str],
    out: dict[str, FieldInfo],
) -> None:
    for field in record["fields"]:
        path = field["name"] if parent is None else f"{parent}.{field['name']}"
        ftype = field["type"]
        out[path] = FieldInfo(
            path=path,
            parent=parent,
            type=ftype,
            nullable=_is_nullable(ftype),
            has_default="default" in field,
            default=field.get("default"),
            kinds=_kinds(ftype, named),
        )
        child = record_of(ftype, named)
        if child is not None and child["name"] not in seen:  # stop at recursion
            _walk(child, named, path, seen | {child["name"]}, out)


@lru_cache(maxsize=256)
def field_index(schema: AvroSchema) -> Mapping[str, FieldInfo]:
    """Every field path of the schema, through nested records, in schema order."""
    out: dict[str, FieldInfo] = {}
    _walk(schema.parsed, schema.named_types, None, frozenset({schema.name}), out)
    return out


def field_paths(schema: AvroSchema) -> tuple[str, ...]:
    """Every dotted field path of the schema, in schema order."""
    return tuple(field_index(schema))


def check_paths(schema: AvroSchema, paths: Iterable[str]) -> None:
    """Raise :class:`UnknownFieldPath` unless the schema has every path.

    For ``wardstream check`` and pipeline loading: call it on the pipeline's
    ``fields`` keys and its ``subject``/``event_time`` (unless key/timestamp).
    """
    index = field_index(schema)
    unknown = [path for path in paths if path not in index]
    if unknown:
        raise UnknownFieldPath(schema.name, unknown, index)


def unmapped_paths(schema: AvroSchema, mapped: Iterable[str]) -> list[str]:
    """The schema's leaf field paths that no mapped path covers (itself or a record above).

    For ``wardstream check --registry``: a field of the registered schema that the
    pipeline does not map is removed from children's events; the operator should know.
    """
    covered = set(mapped)
    paths = field_paths(schema)
    parents = {p.rsplit(".", 1)[0] for p in paths if "." in p}
    out = []
    for path in paths:
        if path in parents:
            continue  # a record: its leaves are reported, or the record itself is mapped
        parts = path.split(".")
        if not any(".".join(parts[:n]) in covered for n in range(1, len(parts) + 1)):
            out.append(path)
    return out
