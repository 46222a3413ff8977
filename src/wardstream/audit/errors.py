"""Errors of the audit core. Messages never contain keys, record contents or subject ids."""

from wardstream.errors import WardstreamError


class AuditError(WardstreamError):
    """Root of the audit package's errors."""


class KeyFormatError(AuditError, ValueError):
    """A pseudonymisation key or key id is malformed or too short."""


class ChainError(AuditError):
    """A chain cannot be continued from the record it was given."""
