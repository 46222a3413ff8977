"""JSON values -> Avro-typed Python values, checked against the schema.

Plain JSON is expected (no Avro-JSON union wrappers): a union takes the first
branch the value fits. Types are strict: a string where a long is declared,
a float where an int is, or ``true`` where a number is, is an error. Values
come out as fastavro returns them, so a JSON record looks like an Avro one:
``timestamp-millis`` from epoch milliseconds or an ISO-8601 string with an
offset (a naive one is an error), ``date`` from ``YYYY-MM-DD`` or epoch days,
``bytes`` from a string of code points 0-255 (Avro's JSON encoding).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from wardstream.serde._json_compile import RANGES, Compiler, Convert, JsonTypeError, json_type

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_DATE = date(1970, 1, 1)
MILLIS = timedelta(milliseconds=1)
MICROS = timedelta(microseconds=1)


class ReadCompiler(Compiler):
    def primitive(self, kind: str, path: str) -> Convert:
        if kind in RANGES:
            return _check_int(kind, path)
        if kind in ("float", "double"):
            return _check_float(kind, path)
        if kind == "bytes":
            return _latin1(path, None)
        wanted = {"null": type(None), "boolean": bool, "string": str}[kind]

        def conv(value: Any) -> Any:
            if type(value) is not wanted:
                raise JsonTypeError(path, kind, json_type(value))
            return value

        return conv

    def logical(self, logical: str | None, kind: str, path: str) -> Convert | None:
        if logical == "timestamp-millis" and kind == "long":
            return _timestamp(MILLIS, path, logical)
        if logical == "timestamp-micros" and kind == "long":
            return _timestamp(MICROS, path, logical)
        if logical == "date" and kind == "int":
            return _date(path)
        if logical == "time-millis" and kind == "int":
            return _time(MILLIS, path)
        if logical == "time-micros" and kind == "long":
            return _time(MICROS, path)
        if logical == "uuid" and kind == "string":
            return _uuid(path)
        return None

    def field_default(self, field: Mapping[str, Any], conv: Convert) -> tuple[bool, Any]:
        if "default" not in field:
            return (False, None)
        try:
            return (True, conv(field["default"]))
        except (JsonTypeError, IndexError):  # IndexError: a recursive type still compiling
            return (True, field["default"])

    def fixed(self, node: Mapping[str, Any], path: str) -> Convert:
        return _latin1(path, int(node["size"]))

    def array(self, item: Convert, path: str) -> Convert:
        def conv(value: Any) -> Any:
            if type(value) is not list:
                raise JsonTypeError(path, "array", json_type(value))
            return [item(element) for element in value]

        return conv

    def map(self, values: Convert, path: str) -> Convert:
        def conv(value: Any) -> Any:
            if type(value) is not dict:
                raise JsonTypeError(path, "object (map)", json_type(value))
            return {key: values(element) for key, element in value.items()}

        return conv


def _check_int(kind: str, path: str) -> Convert:
    low, high = RANGES[kind]

    def conv(value: Any) -> Any:
        if type(value) is not int or not low <= value <= high:
            got = json_type(value) if type(value) is not int else "an integer out of range"
            raise JsonTypeError(path, kind, got)
        return value

    return conv


def _check_float(kind: str, path: str) -> Convert:
    def conv(value: Any) -> Any:
        if type(value) is float:
            return value
        if type(value) is int:
            try:
                return float(value)
            except OverflowError:
                pass
        raise JsonTypeError(path, kind, json_type(value))

    return conv


def _latin1(path: str, size: int | None) -> Convert:
    expected = "bytes (a string of code points 0-255)" if size is None else f"fixed({size})"

    def conv(value: Any) -> Any:
        if type(value) is str:
            try:
                data = value.encode("latin-1")
            except UnicodeEncodeError:
                pass
            else:
                if size is None or len(data) == size:
                    return data
        raise JsonTypeError(path, expected, json_type(value))

    return conv


def _timestamp(unit: timedelta, path: str, kind: str) -> Convert:
    expected = f"{kind} (epoch integer or ISO-8601 date-time with an offset)"

    def conv(value: Any) -> Any:
        try:
            if type(value) is int:
                return EPOCH + value * unit
            if type(value) is str:
                parsed = datetime.fromisoformat(value)
                if parsed.tzinfo is not None:
                    parsed = parsed.astimezone(UTC)
                    if unit == MILLIS:
                        parsed = parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)
                    return parsed
        except (ValueError, OverflowError):
            pass
        raise JsonTypeError(path, expected, json_type(value))

    return conv


def _date(path: str) -> Convert:
    def conv(value: Any) -> Any:
        try:
            if type(value) is int:
                return EPOCH_DATE + timedelta(days=value)
            if type(value) is str and len(value) == 10:
                return date.fromisoformat(value)
        except (ValueError, OverflowError):
            pass
        raise JsonTypeError(path, "date (YYYY-MM-DD or epoch days)", json_type(value))

    return conv


def _time(unit: timedelta, path: str) -> Convert:
    def conv(value: Any) -> Any:
        if type(value) is int and 0 <= value < timedelta(days=1) // unit:
            return (datetime.min.replace(tzinfo=UTC) + value * unit).time()
        if type(value) is str:
            try:
                return time.fromisoformat(value)
            except ValueError:
                pass
        raise JsonTypeError(path, "time of day", json_type(value))

    return conv


def _uuid(path: str) -> Convert:
    def conv(value: Any) -> Any:
        if type(value) is str:
            try:
                return UUID(value)
            except ValueError:
                pass
        raise JsonTypeError(path, "uuid", json_type(value))

    return conv
