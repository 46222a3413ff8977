"""Avro-typed Python values -> JSON-ready values, checked against the schema.

The inverse of ``_json_read``: ``timestamp-millis`` and ``-micros`` are
written as epoch integers (an aware ``datetime`` is required), ``date`` as
``YYYY-MM-DD``, ``bytes`` as a string of code points 0-255, a missing field
with a default as its default. NaN and infinities are refused: JSON has none.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from wardstream.serde._json_compile import RANGES, Compiler, Convert, JsonTypeError, json_type

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_DATE = date(1970, 1, 1)
MILLIS = timedelta(milliseconds=1)
MICROS = timedelta(microseconds=1)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class WriteCompiler(Compiler):
    @staticmethod
    def is_object(value: Any) -> bool:
        return isinstance(value, Mapping)

    def primitive(self, kind: str, path: str) -> Convert:
        if kind in RANGES:
            low, high = RANGES[kind]
            return self._check(path, kind, lambda v: _is_int(v) and low <= v <= high, int)
        if kind in ("float", "double"):
            finite = "a finite number (JSON has no NaN or infinity)"
            return self._check(
                path,
                finite,
                lambda v: _is_int(v) or isinstance(v, float) and math.isfinite(v),
                float,
            )
        if kind == "bytes":
            return self._check(path, "bytes", lambda v: isinstance(v, bytes | bytearray), _latin1)
        if kind == "string":
            return self._check(path, kind, lambda v: isinstance(v, str), str)
        if kind == "boolean":
            return self._check(path, kind, lambda v: isinstance(v, bool), bool)
        return self._check(path, kind, lambda v: v is None, lambda v: None)

    @staticmethod
    def _check(path: str, expected: str, accept: Any, convert: Any) -> Convert:
        def conv(value: Any) -> Any:
            if not accept(value):
                raise JsonTypeError(path, expected, json_type(value))
            return convert(value)

        return conv

    def logical(self, logical: str | None, kind: str, path: str) -> Convert | None:
        if logical in ("timestamp-millis", "timestamp-micros") and kind == "long":
            return _timestamp(MILLIS if logical == "timestamp-millis" else MICROS, path)
        if logical == "date" and kind == "int":
            return self._check(
                path,
                "date",
                lambda v: _is_int(v) or isinstance(v, date) and not isinstance(v, datetime),
                lambda v: (EPOCH_DATE + timedelta(days=v) if _is_int(v) else v).isoformat(),
            )
        if logical in ("time-millis", "time-micros"):
            return self._check(path, "time", lambda v: isinstance(v, time), time.isoformat)
        if logical == "uuid" and kind == "string":
            return self._check(path, "uuid", lambda v: isinstance(v, UUID | str), str)
        return None

    def fixed(self, node: Mapping[str, Any], path: str) -> Convert:
        size = int(node["size"])
        return self._check(
            path,
            f"fixed({size})",
            lambda v: isinstance(v, bytes | bytearray) and len(v) == size,
            _latin1,
        )

    def array(self, item: Convert, path: str) -> Convert:
        def conv(value: Any) -> Any:
            if not isinstance(value, list | tuple):
                raise JsonTypeError(path, "array", json_type(value))
            return [item(element) for element in value]

        return conv

    def map(self, values: Convert, path: str) -> Convert:
        def conv(value: Any) -> Any:
            if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
                raise JsonTypeError(path, "map with string keys", json_type(value))
            return {key: values(element) for key, element in value.items()}

        return conv


def _latin1(value: bytes | bytearray) -> str:
    return bytes(value).decode("latin-1")


def _timestamp(unit: timedelta, path: str) -> Convert:
    def conv(value: Any) -> Any:
        if _is_int(value):
            return value
        if isinstance(value, datetime) and value.tzinfo is not None:
            return (value - EPOCH) // unit
        got = "a naive datetime" if isinstance(value, datetime) else json_type(value)
        raise JsonTypeError(path, "an aware datetime or epoch integer", got)

    return conv
