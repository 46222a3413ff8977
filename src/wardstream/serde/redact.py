"""Removing fields from a record while keeping it valid for its schema.

A removed field is set to null when its type is a union with null, else to its
default. A field that allows neither is removed with the nearest enclosing
record field that does (``geo.lat`` goes with a nullable ``geo``); when no
enclosing field does either, redaction is impossible and the event must be
quarantined (reason ``REDACTION_IMPOSSIBLE``). The plan for a schema and a set
of paths is worked out once and cached; applying it copies only the dicts on
the paths it changes and never mutates its input.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from wardstream.serde._json_read import ReadCompiler
from wardstream.serde.errors import RedactionImpossible, UnknownFieldPath
from wardstream.serde.paths import FieldInfo, field_index
from wardstream.serde.schemas import AvroSchema
from wardstream.serde.types import Record


@dataclass(frozen=True, slots=True)
class RedactionStep:
    path: str
    parts: tuple[str, ...]
    value: Any
    """null, or the field's default as a decoded value (copied when applied)."""


@dataclass(frozen=True, eq=False)
class RedactionPlan:
    """How to remove a set of field paths from records of one schema."""

    schema: AvroSchema
    requested: frozenset[str]
    steps: tuple[RedactionStep, ...]
    impossible: frozenset[str]
    """Requested paths that cannot be removed; empty when the plan is possible."""

    @property
    def is_possible(self) -> bool:
        return not self.impossible

    @property
    def cleared(self) -> tuple[str, ...]:
        """The paths the plan actually sets (an ancestor replaces its fields)."""
        return tuple(step.path for step in self.steps)

    def apply(self, record: Mapping[str, Any]) -> Record:
        """A redacted copy of ``record``; raises :class:`RedactionImpossible`."""
        if self.impossible:
            raise RedactionImpossible(self.schema.name, self.impossible)
        out = dict(record)
        for step in self.steps:
            _set(out, step.parts, step.value)
        return out


def _set(record: Record, parts: tuple[str, ...], value: Any) -> None:
    node = record
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, Mapping):
            return  # an enclosing record is null: nothing below it to remove
        node[part] = node = dict(child)
    node[parts[-1]] = copy.deepcopy(value) if isinstance(value, list | dict) else value


def _replacement(info: FieldInfo, schema: AvroSchema) -> tuple[bool, Any]:
    """Whether a field can be cleared on its own, and the value it takes."""
    if info.nullable:
        return (True, None)
    if info.has_default:
        convert = ReadCompiler(schema.named_types).compile(info.type, info.path)
        return (True, convert(info.default))
    return (False, None)


def _target(info: FieldInfo, schema: AvroSchema, index: Mapping[str, FieldInfo]) -> Any:
    """The (path, value) that removes a field, or None when nothing can."""
    current: FieldInfo | None = info
    while current is not None:
        possible, value = _replacement(current, schema)
        if possible:
            return (current.path, value)
        current = index[current.parent] if current.parent is not None else None
    return None


def _covered(path: str, others: Iterable[str]) -> bool:
    return any(path.startswith(f"{other}.") for other in others)


@lru_cache(maxsize=1024)
def _plan(schema: AvroSchema, paths: frozenset[str]) -> RedactionPlan:
    index = field_index(schema)
    unknown = [path for path in paths if path not in index]
    if unknown:
        raise UnknownFieldPath(schema.name, unknown, index)
    targets: dict[str, Any] = {}
    impossible = set()
    for path in paths:
        target = _target(index[path], schema, index)
        if target is None:
            impossible.add(path)
        else:
            targets[target[0]] = target[1]
    order = {path: position for position, path in enumerate(index)}
    steps = tuple(
        RedactionStep(path, tuple(path.split(".")), value)
        for path, value in sorted(targets.items(), key=lambda item: order[item[0]])
        if not _covered(path, targets)
    )
    return RedactionPlan(schema, paths, steps, frozenset(impossible))


def redaction_plan(schema: AvroSchema, paths: Iterable[str]) -> RedactionPlan:
    """The cached plan that removes ``paths``; raises :class:`UnknownFieldPath`."""
    return _plan(schema, frozenset(paths))


def unredactable(schema: AvroSchema, paths: Iterable[str]) -> frozenset[str]:
    """The paths that cannot be removed (empty: redaction will succeed)."""
    return redaction_plan(schema, paths).impossible


def redact(record: Mapping[str, Any], schema: AvroSchema, paths: Iterable[str]) -> Record:
    """``record`` with ``paths`` removed; raises :class:`RedactionImpossible`."""
    return redaction_plan(schema, paths).apply(record)
