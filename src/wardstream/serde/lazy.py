"""Finding an event's subject id and event time, decoding the value only if needed.

A pipeline with ``subject: key`` and ``event_time: timestamp`` needs nothing
from the value to decide an adult's event: the subject id is the record key
(UTF-8) and the event time the Kafka record timestamp, so the value's bytes
pass to the sink untouched and undecoded. ``EventLocator.needs_value`` tells
the stream layer which case it is in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from wardstream.serde.errors import MissingEventTime, MissingSubject
from wardstream.serde.paths import get_path
from wardstream.serde.types import Origin

SUBJECT_FROM_KEY = "key"
TIME_FROM_TIMESTAMP = "timestamp"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Envelope(NamedTuple):
    """Who an event is about and when it happened."""

    subject_id: str
    event_time: datetime
    """Aware, UTC."""


def is_lazy(subject: str, event_time: str) -> bool:
    """True when a pipeline needs nothing from the value to place an event."""
    return subject == SUBJECT_FROM_KEY and event_time == TIME_FROM_TIMESTAMP


def subject_from_key(key: bytes | None, origin: Origin) -> str:
    """The subject id carried as the record key (UTF-8 text)."""
    if not key:
        raise MissingSubject(origin, "the record has no key")
    problem = ""
    try:
        text = bytes(key).decode("utf-8")
    except UnicodeDecodeError:
        problem = "the key is not UTF-8 text"
    else:
        if text.isprintable() and text.strip():
            return text
        problem = "the key is not printable text (a Confluent-framed or binary key?)"
    raise MissingSubject(origin, problem)


def time_from_timestamp(timestamp_ms: int | None, origin: Origin) -> datetime:
    """The Kafka record timestamp (epoch milliseconds) as an aware UTC datetime."""
    if timestamp_ms is None or timestamp_ms < 0:
        raise MissingEventTime(origin, "the record has no timestamp")
    try:
        return EPOCH + timedelta(milliseconds=timestamp_ms)
    except OverflowError:
        pass
    raise MissingEventTime(origin, "the record timestamp is out of range")


def lazy_envelope(key: bytes | None, timestamp_ms: int | None, origin: Origin) -> Envelope:
    """Subject from the key, time from the timestamp: the value is not touched."""
    return Envelope(subject_from_key(key, origin), time_from_timestamp(timestamp_ms, origin))


def _subject_from_field(record: Mapping[str, Any], path: str, origin: Origin) -> str:
    value = get_path(record, path)
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    kind = "null or absent" if value is None else f"a {type(value).__name__}, not an id"
    raise MissingSubject(origin, f"field {path} is {kind}")


def _time_from_field(
    record: Mapping[str, Any], path: str, timestamp_ms: int | None, origin: Origin
) -> datetime:
    value = get_path(record, path)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value if value.tzinfo is UTC else value.astimezone(UTC)  # fastavro's are UTC
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return time_from_timestamp(value, origin)  # a long without logicalType: epoch ms
    if value is None and timestamp_ms is not None and timestamp_ms >= 0:
        return time_from_timestamp(timestamp_ms, origin)  # null field: the record's time
    kind = "null" if value is None else f"a {type(value).__name__}, not a timestamp"
    raise MissingEventTime(origin, f"field {path} is {kind}")


@dataclass(frozen=True, slots=True)
class EventLocator:
    """Where a pipeline's subject id and event time come from.

    ``subject`` is a field path or ``"key"``; ``event_time`` a field path or
    ``"timestamp"``. A null event-time field falls back to the record timestamp.
    """

    subject: str
    event_time: str

    @property
    def needs_value(self) -> bool:
        """False on the lazy path: call :meth:`locate` with ``record=None``."""
        return not is_lazy(self.subject, self.event_time)

    def locate(
        self,
        *,
        key: bytes | None,
        timestamp_ms: int | None,
        record: Mapping[str, Any] | None,
        origin: Origin,
    ) -> Envelope:
        """Raises :class:`MissingSubject` or :class:`MissingEventTime`.

        ``record`` may be None only when :attr:`needs_value` is False.
        """
        if self.subject == SUBJECT_FROM_KEY:
            subject_id = subject_from_key(key, origin)
        else:
            subject_id = _subject_from_field(_needed(record), self.subject, origin)
        if self.event_time == TIME_FROM_TIMESTAMP:
            when = time_from_timestamp(timestamp_ms, origin)
        else:
            when = _time_from_field(_needed(record), self.event_time, timestamp_ms, origin)
        return Envelope(subject_id, when)


def _needed(record: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if record is None:
        raise ValueError("this pipeline reads its subject or event time from the value: decode it")
    return record
