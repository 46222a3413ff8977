"""Errors raised by the domain layer.

A record that cannot be built (a missing field, a naive datetime, an unknown
enum value) raises :class:`InvalidRecordError`. Messages name the record type
and the field, never the value: values may be a child's personal information.
"""

from wardstream.errors import WardstreamError


class DomainError(WardstreamError):
    """Root of the domain layer's errors."""


class InvalidRecordError(DomainError, ValueError):
    """A record's field is missing or has the wrong shape."""

    def __init__(self, record: str, field: str, problem: str) -> None:
        self.record = record
        self.field = field
        self.problem = problem
        super().__init__(f"{record}.{field}: {problem}")
