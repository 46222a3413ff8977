"""Compiling an Avro schema into a tree of small converter functions.

Used in both directions (JSON -> record in ``_json_read``, record -> JSON in
``_json_write``): the walk over the schema, named and recursive types, unions
and records are shared; the subclasses say how primitives, logical types and
containers convert. Each converter knows its field path, for error messages
that name the field and the types but never the value.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

Convert = Callable[[Any], Any]

RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
PRIMITIVES = frozenset(("null", "boolean", "int", "long", "float", "double", "string", "bytes"))


class JsonTypeError(Exception):
    """Internal: a value does not fit the schema at ``path``. No value inside."""

    def __init__(self, path: str, expected: str, got: str, *, missing: bool = False) -> None:
        self.path = path or "(record)"
        self.expected = expected
        self.got = got
        self.missing = missing
        super().__init__(f"{self.path}: expected {expected}, got {got}")


def json_type(value: Any) -> str:
    """The JSON (or Python) type name of a value, never the value."""
    names = {type(None): "null", bool: "boolean", int: "integer", float: "number"}
    names |= {str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


class Compiler:
    """Compiles one schema; subclasses say how each type converts."""

    @staticmethod
    def is_object(value: Any) -> bool:
        """Whether a value can be read as a record."""
        return type(value) is dict

    def __init__(self, named: Mapping[str, Any]) -> None:
        self.named = dict(named)
        self.stack: dict[str, list[Convert]] = {}

    def compile(self, node: Any, path: str) -> Convert:
        if isinstance(node, str):
            if node in PRIMITIVES:
                return self.primitive(node, path)
            return self.named_type(node, path)
        if isinstance(node, list):
            branches = [(self.describe(b), self.compile(b, path)) for b in node if b != "null"]
            return self.union("null" in node, branches, path)
        kind = node["type"]
        logical = self.logical(node.get("logicalType"), kind, path)
        if logical is not None:
            return logical
        if kind in ("record", "enum", "fixed"):
            self.named.setdefault(node["name"], node)
            return self.named_type(node["name"], path)
        if kind == "array":
            return self.array(self.compile(node["items"], f"{path}[]"), path)
        if kind == "map":
            return self.map(self.compile(node["values"], f"{path}{{}}"), path)
        return self.compile(kind, path)

    def named_type(self, name: str, path: str) -> Convert:
        node = self.named[name]
        if name in self.stack:  # a recursive type: forward to the one being built
            cell = self.stack[name]
            return lambda value: cell[0](value)
        self.stack[name] = cell = []
        try:
            if node["type"] == "record":
                conv = self.record(node, path)
            elif node["type"] == "enum":
                conv = self.enum(node, path)
            else:
                conv = self.fixed(node, path)
        finally:
            del self.stack[name]
        cell.append(conv)
        return conv

    def describe(self, node: Any) -> str:
        if isinstance(node, dict):
            return str(node.get("logicalType") or node.get("name") or node["type"])
        return str(node).rsplit(".", 1)[-1]

    def field_default(self, field: Mapping[str, Any], conv: Convert) -> tuple[bool, Any]:
        """Whether a missing field takes a default, and the value it takes."""
        return ("default" in field, field.get("default"))

    def primitive(self, kind: str, path: str) -> Convert:
        raise NotImplementedError

    def logical(self, logical: str | None, kind: str, path: str) -> Convert | None:
        raise NotImplementedError

    def union(self, nullable: bool, branches: list[tuple[str, Convert]], path: str) -> Convert:
        names = ", ".join(["null"] * nullable + [name for name, _ in branches])
        only = branches[0][1] if len(branches) == 1 else None

        def conv(value: Any) -> Any:
            if value is None:
                if nullable:
                    return None
                raise JsonTypeError(path, names, "null")
            if only is not None:
                return only(value)
            for _, branch in branches:
                try:
                    return branch(value)
                except JsonTypeError:
                    continue
            raise JsonTypeError(path, f"one of {names}", json_type(value))

        return conv

    def record(self, node: Mapping[str, Any], path: str) -> Convert:
        fields = []
        for field in node["fields"]:
            fpath = f"{path}.{field['name']}" if path else field["name"]
            conv = self.compile(field["type"], fpath)
            has_default, default = self.field_default(field, conv)
            fields.append((field["name"], fpath, conv, has_default, default))
        is_object = self.is_object

        def convert(value: Any) -> Any:
            if not is_object(value):
                raise JsonTypeError(path, "object", json_type(value))
            out = {}
            for name, fpath, fconv, has_default, default in fields:
                if name in value:
                    out[name] = fconv(value[name])
                elif has_default:
                    out[name] = copy.copy(default) if isinstance(default, list | dict) else default
                else:
                    raise JsonTypeError(fpath, "a value", "nothing", missing=True)
            return out

        return convert

    def enum(self, node: Mapping[str, Any], path: str) -> Convert:
        symbols = frozenset(node["symbols"])

        def conv(value: Any) -> Any:
            if not isinstance(value, str) or value not in symbols:
                raise JsonTypeError(
                    path, f"a symbol of enum {self.describe(node)}", json_type(value)
                )
            return str(value)  # a StrEnum member becomes its plain value

        return conv

    def fixed(self, node: Mapping[str, Any], path: str) -> Convert:
        raise NotImplementedError

    def array(self, item: Convert, path: str) -> Convert:
        raise NotImplementedError

    def map(self, values: Convert, path: str) -> Convert:
        raise NotImplementedError
