"""Durations as written in configuration: ``500ms``, ``10s``, ``15m``, ``12h``, ``30d``, ``2w``.

One whole number and one unit, nothing else: ``1h30m``, ``1.5h`` and bare
numbers are refused so that a typo cannot silently mean something else.
"""

from __future__ import annotations

import re
from datetime import timedelta

from wardstream.domain.errors import DomainError

UNITS: dict[str, timedelta] = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
DURATION_HELP = "a whole number and a unit: 500ms, 10s, 15m, 12h, 30d or 2w"
_PATTERN = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d|w)\s*$")


class DurationError(DomainError, ValueError):
    """A duration string that is not a number followed by a unit."""


def parse_duration(text: str) -> timedelta:
    """Parse ``30d``-style text; raises :class:`DurationError` with the fix."""
    match = _PATTERN.match(text) if isinstance(text, str) else None
    if match is None:
        raise DurationError(f"bad duration {text!r}: use {DURATION_HELP}")
    return int(match.group(1)) * UNITS[match.group(2)]


def format_duration(value: timedelta) -> str:
    """The shortest exact ``30d``-style text for a duration."""
    for unit in ("w", "d", "h", "m", "s", "ms"):
        count, rest = divmod(value, UNITS[unit])
        if not rest:
            return f"{count}{unit}"
    raise DurationError("durations finer than a millisecond cannot be written")
