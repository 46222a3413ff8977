"""Errors raised by the policy core.

Policy outcomes are Decisions, never exceptions: these are for programming
and configuration mistakes (a naive datetime, an impossible pack).
"""

from wardstream.errors import WardstreamError


class PolicyError(WardstreamError):
    """Root of the policy core's errors."""


class PackError(PolicyError, ValueError):
    """A jurisdiction pack whose values cannot work (e.g. child age above majority)."""


class NaiveTimeError(PolicyError, ValueError):
    """A datetime without a timezone reached the policy core."""
