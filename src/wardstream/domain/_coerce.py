"""Field coercion shared by the record types (private to the domain package).

Records accept datetimes as timezone-aware ``datetime`` objects (any zone; they
are normalised to UTC) or ISO-8601 strings with an offset, and dates as
``date`` objects or ISO strings. Naive datetimes are refused: wardstream never
guesses a zone. Errors name the field, never its value.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from wardstream.domain.errors import InvalidRecordError

E = TypeVar("E", bound=StrEnum)


def utc(record: str, field: str, value: Any) -> datetime:
    """A timezone-aware UTC datetime from a datetime or an ISO string."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidRecordError(record, field, "not an ISO-8601 timestamp") from None
    if not isinstance(value, datetime):
        raise InvalidRecordError(record, field, "expected a timezone-aware datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidRecordError(record, field, "naive datetime; give a timezone (UTC)")
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def opt_utc(record: str, field: str, value: Any) -> datetime | None:
    return None if value is None else utc(record, field, value)


def opt_date(record: str, field: str, value: Any) -> date | None:
    """A calendar date (or None) from a date or an ISO ``YYYY-MM-DD`` string."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise InvalidRecordError(record, field, "not an ISO-8601 date") from None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidRecordError(record, field, "expected a date (not a datetime)")
    return value


def member(record: str, field: str, enum: type[E], value: Any) -> E:
    """An enum member from the member itself or its string value."""
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise InvalidRecordError(record, field, f"unknown value; use one of {allowed}") from None


def opt_member(record: str, field: str, enum: type[E], value: Any) -> E | None:
    return None if value is None else member(record, field, enum, value)


def members(record: str, field: str, enum: type[E], values: Any) -> tuple[E, ...]:
    return tuple(member(record, field, enum, v) for v in _items(record, field, values))


def strings(record: str, field: str, values: Any) -> tuple[str, ...]:
    items = tuple(_items(record, field, values))
    if not all(isinstance(v, str) for v in items):
        raise InvalidRecordError(record, field, "expected an array of strings")
    return items


def text(record: str, field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidRecordError(record, field, "expected a string")
    return value


def opt_text(record: str, field: str, value: Any) -> str | None:
    return None if value is None else text(record, field, value)


def required(record: str, data: dict[str, Any], field: str) -> Any:
    if field not in data:
        raise InvalidRecordError(record, field, "missing")
    return data[field]


def _items(record: str, field: str, values: Any) -> Iterable[Any]:
    if values is None:
        return ()
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InvalidRecordError(record, field, "expected an array")
    return values
