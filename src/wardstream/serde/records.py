"""Building wardstream's own records that carry an original Kafka record."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from wardstream.serde.errors import DecodeError
from wardstream.serde.types import Record

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def kafka_headers(headers: Iterable[tuple[str, bytes | None]] | None) -> list[Record]:
    """Kafka headers as the ``KafkaHeader`` records of DeadLetter/QuarantinedEvent."""
    return [
        {"key": key, "value": None if value is None else bytes(value)}
        for key, value in headers or ()
    ]


def kafka_time(timestamp_ms: int | None) -> datetime | None:
    """A Kafka timestamp (epoch ms; -1 or None when absent) as aware UTC."""
    if timestamp_ms is None or timestamp_ms < 0:
        return None
    return _EPOCH + timedelta(milliseconds=timestamp_ms)


def dead_letter_record(
    error: DecodeError,
    *,
    key: bytes | None,
    value: bytes | None,
    headers: Iterable[tuple[str, bytes | None]] | None,
    timestamp_ms: int | None,
    pipeline: str | None,
    at: datetime,
) -> Record:
    """A ``DeadLetter`` record for an event that failed to decode.

    The original bytes go in ``key``/``value``; the message is the error's,
    which never quotes them.
    """
    return {
        "key": key,
        "value": value,
        "headers": kafka_headers(headers),
        "origin_topic": error.topic,
        "origin_partition": error.partition,
        "origin_offset": error.offset,
        "origin_timestamp": kafka_time(timestamp_ms),
        "error_type": error.error_type,
        "error_message": str(error),
        "pipeline": pipeline,
        "error_code": error.code,
        "dead_lettered_at": at.astimezone(UTC),
    }
