"""The demo's one exception: what went wrong and what to do about it."""

from __future__ import annotations

from wardstream.errors import WardstreamError


class DemoError(WardstreamError):
    """The demo could not run; the message says what to do."""
