"""Schemaless Avro located natively, a whole batch per call.

:class:`NativeLocator` does what :class:`~wardstream.serde.avro.AvroCodec` (with
``canonical=True`` by default) followed by
:class:`~wardstream.serde.lazy.EventLocator` do for one value, for a list of
values in one call into Rust: it validates every record completely and returns
each one's subject id and event time, or the :class:`DecodeError` the Python
path raises for the same bytes (same class, same message). No record is turned
into Python objects; only the results are.

The differential tests (``tests/unit/serde/test_native_decode.py``) pin it to the
Python path; ``screen`` is the lane's call (``wardstream.enforce.lane``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import wardstream._native as _native
from wardstream.serde.errors import (
    DecodeError,
    MissingEventTime,
    MissingSubject,
    NonCanonicalEncoding,
    SchemaLoadError,
    SchemaMismatch,
    TrailingBytes,
    TruncatedRecord,
    UnknownFieldPath,
    UnsupportedFormat,
)
from wardstream.serde.lazy import EPOCH, SUBJECT_FROM_KEY, TIME_FROM_TIMESTAMP, Envelope
from wardstream.serde.lazy import subject_from_key as _subject_from_key
from wardstream.serde.paths import field_paths
from wardstream.serde.schemas import AvroSchema
from wardstream.serde.types import Origin

ERRORS: Final[dict[str, type[DecodeError]]] = {
    cls.code: cls
    for cls in (
        TruncatedRecord,
        TrailingBytes,
        SchemaMismatch,
        NonCanonicalEncoding,
        MissingSubject,
        MissingEventTime,
    )
}
"""The DecodeError classes the native side reports, by their ``code``."""


@dataclass(frozen=True, slots=True)
class Located:
    """One batch's results, column by column (the shape later steps hand on)."""

    subjects: list[str | None]
    """Subject ids; None on error or when the pipeline takes the subject from the key."""
    micros: list[int | None]
    """Event times in epoch microseconds (UTC); None on error."""
    errors: dict[int, DecodeError]
    """Index in the batch -> the error the Python path raises for that value."""


class NativeLocator:
    """Finds subject id and event time in a batch of schemaless Avro values.

    ``subject``/``event_time`` are a pipeline's settings: dotted field paths, or
    ``"key"``/``"timestamp"``. ``canonical`` also rejects non-canonical encodings
    (what ``AvroCodec(canonical=True)`` does; here it costs nothing extra).
    Raises :class:`UnknownFieldPath` for a path the schema lacks and
    :class:`UnsupportedFormat` for a schema the native decoder cannot read yet
    (logical types other than date and timestamp-millis/-micros).
    """

    def __init__(
        self, schema: AvroSchema, subject: str, event_time: str, *, canonical: bool = True
    ) -> None:
        self.schema = schema
        self.subject = subject
        self.event_time = event_time
        subject_path = None if subject == SUBJECT_FROM_KEY else subject
        time_path = None if event_time == TIME_FROM_TIMESTAMP else event_time
        try:
            self._native = _native.AvroLocator(schema.text, subject_path, time_path, canonical)
        except ValueError as exc:
            kind, message = exc.args
            paths = [p for p in (subject_path, time_path) if p is not None]
            raise _schema_error(schema, kind, message, paths) from None

    def locate(
        self,
        values: Sequence[bytes],
        *,
        keys: Sequence[bytes | None] | None = None,
        timestamps: Sequence[int | None] | None = None,
        origins: Sequence[Origin] | None = None,
    ) -> Located:
        """Validate every value and locate it. ``keys`` are needed when the subject
        is the record key, ``timestamps`` (epoch ms) when the time is the record
        timestamp or may be a null field; ``origins`` name the records in errors."""
        for name, column in (("timestamps", timestamps), ("origins", origins)):
            if column is not None and len(column) != len(values):
                raise ValueError(f"{name}: pass one per value ({len(column)} for {len(values)})")
        ts = None if timestamps is None else list(timestamps)
        subjects, micros, raw = self._native.locate(list(values), ts)
        errors: dict[int, DecodeError] = {}
        for index, code, detail, cause in raw:
            origin = origins[index] if origins is not None else Origin.unknown()
            errors[index] = ERRORS[code](origin, detail, cause=cause)
        if self.subject == SUBJECT_FROM_KEY:
            self._subjects_from_keys(subjects, micros, errors, keys, origins)
        return Located(subjects, micros, errors)

    def screen(
        self,
        values: Sequence[bytes | None],
        timestamps: Sequence[int | None],
        partitions: Sequence[int],
        lane: _native.LaneTable,
        cutoff: int,
        only: list[int] | None = None,
    ) -> _native.Screen:
        """Validate and locate a batch and evaluate ``lane`` on it: ``(codes, counts,
        spans, held, redacted, hinted, unknown, unplaced)``, see
        ``wardstream.enforce.lane``; ``only``: screen these indices alone."""
        values, stamps = list(values), list(timestamps)
        return self._native.screen(values, stamps, list(partitions), lane, cutoff, only)

    def shape(
        self, lane: _native.LaneTable, probes: list[str], codes: list[int], cuts: list[list[str]]
    ) -> int | None:
        """A shape in ``lane`` for this schema (``_native.LaneTable.shape``), or None when
        the native side cannot evaluate it (the Python path then takes those events)."""
        try:
            return lane.shape(self._native, probes, codes, cuts)
        except ValueError:
            return None

    def _subjects_from_keys(
        self,
        subjects: list[str | None],
        micros: list[int | None],
        errors: dict[int, DecodeError],
        keys: Sequence[bytes | None] | None,
        origins: Sequence[Origin] | None,
    ) -> None:
        if keys is None or len(keys) != len(subjects):
            raise ValueError("this pipeline takes the subject from the key: pass one per value")
        for index, key in enumerate(keys):
            failed = errors.get(index)
            if failed is not None and not isinstance(failed, MissingEventTime):
                continue  # decoding comes first, as in the Python path
            origin = origins[index] if origins is not None else Origin.unknown()
            try:
                subject = _subject_from_key(key, origin)
            except MissingSubject as exc:  # the subject is looked for before the time
                errors[index] = exc
                micros[index] = None
                continue
            if failed is None:
                subjects[index] = subject

    def envelopes(
        self,
        values: Sequence[bytes],
        *,
        keys: Sequence[bytes | None] | None = None,
        timestamps: Sequence[int | None] | None = None,
        origins: Sequence[Origin] | None = None,
    ) -> list[Envelope | DecodeError]:
        """Per value an :class:`Envelope` or its error (objects per record: for
        tests and rare paths, not for the hot path)."""
        found = self.locate(values, keys=keys, timestamps=timestamps, origins=origins)
        out: list[Envelope | DecodeError] = []
        for index, (subject, micros) in enumerate(zip(found.subjects, found.micros, strict=True)):
            error = found.errors.get(index)
            if error is not None:
                out.append(error)
            else:
                assert subject is not None and micros is not None  # noqa: S101
                out.append(Envelope(subject, micros_to_datetime(micros)))
        return out


def _schema_error(schema: AvroSchema, kind: str, message: str, paths: list[str]) -> Exception:
    """The package's error for a schema or path the native side refused."""
    if kind == "unknown_path":
        known = field_paths(schema)
        return UnknownFieldPath(schema.name, [p for p in paths if p not in known] or paths, known)
    if kind == "unsupported":
        fix = "keep this pipeline on the Python decoder (fastavro)"
        return UnsupportedFormat(f"{schema.source}: {message}", fix)
    return SchemaLoadError(schema.source, message, "correct the schema")


def micros_to_datetime(micros: int) -> datetime:
    """Epoch microseconds as an aware UTC datetime."""
    return EPOCH + timedelta(microseconds=micros)
